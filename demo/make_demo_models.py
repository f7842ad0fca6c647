"""Make FaceROC's three demo models (reproducible: fixed seed, a few minutes on 2 CPU cores).

One small timm backbone (mobilenetv3_small_050) whose classifier is replaced by
``nn.Linear(in_features, 128)`` — the usual metric-learning ``trunk`` — is
trained with an ArcFace (additive angular margin) loss on ORL people s1–s20,
and saved at three points of training:

* ``A_epoch06.onnx`` — early in training (it has not yet learnt to generalise);
* ``B_epoch18.pth``  — a plain state_dict (``trunk.*`` keys), mid-training;
* ``C_epoch60.onnx`` — the end of the schedule.

The demo evaluates them on the other 20 people (s21–s40), which they never saw:
AUC ≈ 0.69, 0.90 and 0.95.  (An untrained network already reaches ≈ 0.86 on
ORL — random convolutional features separate its uniform-background faces —
so "untrained" would not make a low curve.)
Run: ``python demo/make_demo_models.py`` (writes into demo/models/).
"""
from __future__ import annotations

import random
import sys
import time
from pathlib import Path

import numpy as np
import timm
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from faceroc_core.export import export_to_onnx, verify_export  # noqa: E402

ARCH = "mobilenetv3_small_050"
EMB = 128
DROP = 0.0
H, W = 112, 96
SEED = 0
TRAIN_IDS = [f"s{k}" for k in range(1, 21)]
SAVE_ONNX = {6: "A_epoch06.onnx", 60: "C_epoch60.onnx"}
SAVE_PTH = {18: "B_epoch18.pth"}
TOTAL_EPOCHS = 60
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


class Trunk(nn.Module):
    def __init__(self):
        super().__init__()
        self.trunk = timm.create_model(ARCH, pretrained=False, drop_rate=DROP)
        self.trunk.classifier = nn.Linear(self.trunk.classifier.in_features, EMB)

    def forward(self, x):
        return self.trunk(x)


class ArcFaceLoss(nn.Module):
    def __init__(self, n_classes, dim, s=30.0, m=0.3):
        super().__init__()
        self.w = nn.Parameter(torch.randn(n_classes, dim) * 0.01)
        self.s, self.m = s, m

    def forward(self, emb, y):
        cos = F.linear(F.normalize(emb), F.normalize(self.w)).clamp(-1 + 1e-7, 1 - 1e-7)
        theta = torch.acos(cos)
        target = torch.cos(theta + self.m)
        onehot = F.one_hot(y, cos.shape[1]).bool()
        logits = torch.where(onehot, target, cos) * self.s
        return F.cross_entropy(logits, y)


def load(path: Path, rng: random.Random | None) -> np.ndarray:
    img = Image.open(path).convert("RGB")
    if rng is not None:  # light augmentation: flip, small shift/scale, brightness
        if rng.random() < 0.5:
            img = img.transpose(Image.FLIP_LEFT_RIGHT)
        w, h = img.size
        s = rng.uniform(0.88, 1.0)
        cw, ch = int(w * s), int(h * s)
        x0, y0 = rng.randint(0, w - cw), rng.randint(0, h - ch)
        img = img.crop((x0, y0, x0 + cw, y0 + ch))
    img = img.resize((W, H), Image.BILINEAR)
    x = np.asarray(img, np.float32) / 255.0
    if rng is not None:
        x = np.clip(x * rng.uniform(0.8, 1.2), 0, 1)
    return ((x - MEAN) / STD).transpose(2, 0, 1)


def main(out_dir: Path = HERE / "models", faces: Path = HERE / "orl_faces") -> None:
    torch.manual_seed(SEED)
    random.seed(SEED)
    np.random.seed(SEED)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    out_dir.mkdir(parents=True, exist_ok=True)
    items = [(p, i) for i, ident in enumerate(TRAIN_IDS) for p in sorted((faces / ident).glob("*.pgm"))]
    model = Trunk()
    loss_fn = ArcFaceLoss(len(TRAIN_IDS), EMB)

    def save_onnx(name):
        model.eval()
        p = export_to_onnx(model.trunk, out_dir / name, height=H, width=W)
        chk = verify_export(model.trunk, p, height=H, width=W)
        print(f"{name}: {p.stat().st_size / 1e6:.1f} MB, PyTorch vs ONNX max diff {chk.max_abs_diff:.1e}")
        model.train()

    opt = torch.optim.AdamW(list(model.parameters()) + list(loss_fn.parameters()), lr=3e-3, weight_decay=5e-4)
    steps_per_epoch = (len(items) + 39) // 40
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=TOTAL_EPOCHS * steps_per_epoch)
    rng = random.Random(SEED)
    t0 = time.time()
    for epoch in range(TOTAL_EPOCHS):
        order = list(items)
        rng.shuffle(order)
        total = 0.0
        for b in range(0, len(order), 40):
            batch = order[b:b + 40]
            x = torch.from_numpy(np.stack([load(p, rng) for p, _ in batch]))
            y = torch.tensor([i for _, i in batch])
            loss = loss_fn(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(batch)
        print(f"epoch {epoch + 1}/{TOTAL_EPOCHS} loss {total / len(order):.3f} ({time.time() - t0:.0f}s)", flush=True)
        if epoch + 1 in SAVE_ONNX:
            save_onnx(SAVE_ONNX[epoch + 1])
        if epoch + 1 in SAVE_PTH:
            model.eval()
            torch.save(model.state_dict(), out_dir / SAVE_PTH[epoch + 1])
            print(f"{SAVE_PTH[epoch + 1]} saved")
            model.train()


if __name__ == "__main__":
    main()
