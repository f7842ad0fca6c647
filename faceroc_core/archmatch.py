"""Architecture matching: which timm backbone has exactly a state_dict's weight names and shapes.

The architecture is a timm backbone whose classifier head is an
``nn.Linear(in_features, embedding_dim)`` (``timm.create_model(name,
pretrained=False, num_classes=embedding_dim)`` builds exactly that).  Bodies are
matched by a signature (a hash of every weight's name and shape) looked up in
an index of the timm families FaceROC supports, shipped for the pinned timm.
"""
from __future__ import annotations

import hashlib
import json
import logging
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .checkpoints import _is_bookkeeping
from .errors import ModelError

_logger = logging.getLogger(__name__)

HEAD_NAMES = ("classifier", "fc", "head.fc", "head", "last_linear")
FAMILIES = ("efficientnet*", "tf_efficientnet*", "resnet*", "mobilenetv3*", "tf_mobilenetv3*", "convnext*")


@dataclass(frozen=True)
class ArchMatch:
    """Result of matching a state_dict against timm architectures."""

    arch: str
    head: str | None  # key prefix of the head Linear, e.g. "classifier"
    in_features: int | None
    embedding_dim: int
    also: tuple[str, ...] = ()  # other architectures with identical weights layout


def _signature(shapes: dict[str, tuple]) -> str:
    lines = sorted(f"{k}:{','.join(map(str, s))}" for k, s in shapes.items() if not _is_bookkeeping(k))
    return hashlib.sha1("\n".join(lines).encode()).hexdigest()


def _timm_body_shapes(arch: str) -> tuple[dict[str, tuple], str | None, int]:
    """Key -> shape of ``arch`` without its classifier; the classifier's key prefix; its in_features."""
    import timm
    import torch

    with torch.device("meta"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = timm.create_model(arch, pretrained=False, num_classes=1)
    head = (getattr(m, "pretrained_cfg", None) or {}).get("classifier")
    clf = m.get_classifier()  # type: ignore[operator]  # timm models have it
    in_features = int(getattr(clf, "in_features", 0) or m.num_features)  # type: ignore[arg-type]
    shapes = {k: tuple(v.shape) for k, v in m.state_dict().items()
              if not (head and k in (f"{head}.weight", f"{head}.bias"))}
    return shapes, head, in_features


def _index_path() -> Path:
    import timm

    return Path(__file__).with_name("data") / f"timm_index_{timm.__version__}.json"


def build_arch_index(families=FAMILIES) -> dict:
    """Map body signature -> [(arch, head, in_features), ...] over the timm families FaceROC matches."""
    import timm

    names = sorted(set(timm.list_models(list(families))))
    index: dict[str, list] = {}
    for name in names:
        try:
            shapes, head, nf = _timm_body_shapes(name)
        except Exception as e:  # a timm entry that cannot be built on this machine is not offered
            _logger.debug("timm %s left out of the index: %s", name, e)
            continue
        index.setdefault(_signature(shapes), []).append([name, head, nf])
    return {"timm": timm.__version__, "families": list(families), "n_archs": len(names), "index": index}


@lru_cache(maxsize=1)
def arch_index() -> dict:
    """The signature index shipped with FaceROC for the installed timm; built (seconds) when missing."""
    p = _index_path()
    if p.is_file():
        try:
            return json.loads(p.read_text())
        except (OSError, ValueError) as e:
            _logger.warning("the architecture index %s is unreadable (%s); building it again", p.name, e)
    idx = build_arch_index()
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps(idx))
    except OSError as e:  # read-only installation: the index is rebuilt next time
        _logger.info("could not store the architecture index %s: %s", p, e)
    return idx


def _arch_preference(name: str) -> tuple:
    return (name.startswith("tf_"), "." in name, len(name), name)


def _head_candidates(sd: dict) -> list[tuple[str | None, dict]]:
    """(head prefix, body shapes) for every way of taking a Linear head off ``sd``."""
    shapes = {k: tuple(v.shape) for k, v in sd.items()}
    out: list[tuple[str | None, dict]] = []
    for head in HEAD_NAMES:
        w = shapes.get(f"{head}.weight")
        if w is not None and len(w) == 2:
            body = {k: s for k, s in shapes.items() if k not in (f"{head}.weight", f"{head}.bias")}
            out.append((head, body))
    out.append((None, shapes))
    return out


def infer_architecture(sd: dict, *, source: str = "") -> ArchMatch:
    """Find the timm architecture whose weights have exactly ``sd``'s names and shapes."""
    idx = arch_index()["index"]
    for head, body in _head_candidates(sd):
        hits = idx.get(_signature(body))
        if not hits:
            continue
        hits = [h for h in hits if h[1] == head or (head is None)]
        if not hits:
            continue
        hits.sort(key=lambda h: _arch_preference(h[0]))
        arch, h_name, nf = hits[0]
        if head is not None:
            emb, in_f = tuple(sd[f"{head}.weight"].shape)
            if in_f != nf:
                continue
        else:
            emb = nf
        return ArchMatch(arch=arch, head=head, in_features=nf, embedding_dim=int(emb),
                         also=tuple(h[0] for h in hits[1:]))
    n = len([k for k in sd if not _is_bookkeeping(k)])
    sample = ", ".join(list(sd)[:3])
    raise ModelError(
        f"its {n} weights (e.g. {sample}) match no timm architecture FaceROC knows "
        f"(EfficientNet, EfficientNetV2, ResNet, MobileNetV3, ConvNeXt families); it looks like a network defined outside timm",
        path=source or None,
        hint="export it to ONNX with the code that defines it (torch.onnx.export) and upload the .onnx, "
             "or give the timm name if it is a timm model",
    )


def build_timm_model(sd: dict, *, arch: str, embedding_dim: int | None = None, source: str = ""):
    """Build ``arch`` with a Linear head of the state_dict's size, load ``sd`` strictly, eval mode."""
    import timm

    if arch not in timm.list_models():
        close = timm.list_models(f"*{arch.split('_')[0]}*")[:5]
        raise ModelError(f"unknown timm architecture {arch!r}", path=source or None,
                         hint=f"similar names: {', '.join(close)}" if close else "see timm.list_models()")
    _, head, nf = _timm_body_shapes(arch)
    w = sd.get(f"{head}.weight") if head else None
    emb_from_sd = int(w.shape[0]) if w is not None and w.ndim == 2 else None
    if w is not None and embedding_dim is not None and emb_from_sd is not None and embedding_dim != emb_from_sd:
        raise ModelError(f"embedding size {embedding_dim} was given but the head {head}.weight is {tuple(w.shape)}",
                         path=source or None, hint=f"use embedding size {emb_from_sd} or leave it empty")
    num_classes = emb_from_sd if emb_from_sd is not None else (embedding_dim or 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = timm.create_model(arch, pretrained=False, num_classes=num_classes)
    expected = model.state_dict()
    missing = [k for k in expected if k not in sd and not _is_bookkeeping(k)]
    unexpected = [k for k in sd if k not in expected]
    wrong = [f"{k} {tuple(sd[k].shape)} vs {tuple(v.shape)}" for k, v in expected.items()
             if k in sd and tuple(sd[k].shape) != tuple(v.shape)]
    if missing or unexpected or wrong:
        parts = []
        for label, items in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong)):
            if items:
                more = f" (+{len(items) - 4} more)" if len(items) > 4 else ""
                parts.append(f"{label}: {', '.join(items[:4])}{more}")
        raise ModelError(f"state_dict does not fit {arch}: " + "; ".join(parts), path=source or None,
                         hint="choose the architecture the model was trained with")
    model.load_state_dict({k: v for k, v in sd.items()}, strict=False)
    model.eval()
    return model
