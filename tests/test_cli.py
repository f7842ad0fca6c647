"""The CLI end to end, checked against scikit-learn computed independently."""
import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from helpers import (
    LFW,
    MFN_ONNX,
    ORL,
    ROOT,
    SHARED_REASON,
    make_dynamic_size_onnx,
    make_faces,
    make_linear_onnx,
    make_raw_photos,
)
from sklearn.metrics import auc as sk_auc
from sklearn.metrics import roc_curve as sk_roc
from sklearn.metrics.pairwise import cosine_similarity

from faceroc_core.cli import main


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "faceroc_core", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, timeout=600)


def independent_auc(folder, onnx_path, h, w, mean, std, *, crop=None, glob="*/*"):
    """ROC/AUC computed without faceroc_core: torchvision preprocessing, onnxruntime, sklearn."""
    import onnxruntime as ort
    from PIL import Image
    from torchvision import transforms as T

    paths = sorted(p for p in folder.glob(glob) if p.suffix.lower() in (".png", ".pgm", ".jpg"))
    ops = ([T.Lambda(lambda im: im.crop(crop))] if crop else []) + [T.Resize((h, w)), T.ToTensor(), T.Normalize(mean, std)]
    tf = T.Compose(ops)
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    emb = np.concatenate([sess.run(None, {name: tf(Image.open(p).convert("RGB"))[None].numpy()})[0] for p in paths])
    ids = np.array([p.parent.name for p in paths])
    sim = cosine_similarity(emb.astype(np.float64))
    iu = np.triu_indices(len(paths), 1)
    y = (ids[:, None] == ids[None, :])[iu]
    fpr, tpr, _ = sk_roc(y, sim[iu], drop_intermediate=False)
    return sk_auc(fpr, tpr), y.sum(), (~y).sum()


def test_evaluate_json_schema_and_sklearn(tmp_path):
    faces = make_faces(tmp_path / "faces", n_ids=6, per_id=5)
    (faces / "id01" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n trunc")
    m1 = make_linear_onnx(tmp_path / "m1.onnx")
    m2 = make_linear_onnx(tmp_path / "m2.onnx", seed=3, batch=1)
    out = tmp_path / "out.json"
    r = run_cli("evaluate", "--images", faces, "--model", m1, m2, "--json", out, "--csv", tmp_path / "o.csv",
                "--cache-dir", tmp_path / "c", "-q")
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    assert "Infinity" not in text and "NaN" not in text
    d = json.loads(text)
    assert d["dataset"]["n_images"] == 30 and d["dataset"]["n_identities"] == 6
    assert d["dataset"]["n_genuine"] == 6 * 10 and d["dataset"]["n_impostor"] == 435 - 60
    assert {"path": "id01/broken.png", "reason": "truncated image (the file is cut short)"} in d["dataset"]["skipped"] \
        or any(s["path"] == "id01/broken.png" for s in d["dataset"]["skipped"])
    for m, path in zip(d["models"], (m1, m2)):
        assert set(m) >= {"name", "source", "auc", "eer", "eer_threshold", "tar_at_far", "roc"}
        assert set(m["tar_at_far"]) == {"0.1", "0.01", "0.001", "0.0001"}
        assert m["tar_at_far"]["0.001"] is None  # 375 impostor pairs < 1000
        ref_auc, n_gen, n_imp = independent_auc(faces, path, 32, 32, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225),
                                                glob="*/[0-9]*.png")
        assert m["auc"] == pytest.approx(ref_auc, abs=1e-9)
        assert m["roc"]["thresholds"][0] is None and len(m["roc"]["fpr"]) == len(m["roc"]["tpr"])
    assert "auc" in (tmp_path / "o.csv").read_text().splitlines()[0]


@pytest.mark.skipif(not (ORL.is_dir() and MFN_ONNX.is_file()), reason=SHARED_REASON)
def test_real_faces_with_pth_and_onnx_match_sklearn(tmp_path):
    """Done-when: real faces, a .pth and an .onnx; JSON equals scikit-learn computed independently."""
    import timm

    sub = tmp_path / "orl"
    for k in range(1, 11):  # 10 people x 10 images
        (sub / f"s{k}").mkdir(parents=True)
        for p in sorted((ORL / f"s{k}").glob("*.pgm")):
            (sub / f"s{k}" / p.name).write_bytes(p.read_bytes())
    torch.manual_seed(0)
    net = timm.create_model("resnet18", pretrained=False, num_classes=64).eval()
    torch.save({f"trunk.{k}": v for k, v in net.state_dict().items()}, tmp_path / "r18.pth")
    out = tmp_path / "real.json"
    r = run_cli("evaluate", "--images", sub, "--model", MFN_ONNX, tmp_path / "r18.pth", "--size", "112x112",
                "--json", out, "--cache-dir", tmp_path / "c", "-q")
    # --size applies to every model; MobileFaceNet's own 112x112 agrees with it
    assert r.returncode == 0, r.stderr
    d = json.loads(out.read_text())
    by_name = {m["name"]: m for m in d["models"]}
    mfn = by_name["MobileFaceNet"]
    ref_auc, n_gen, n_imp = independent_auc(sub, MFN_ONNX, 112, 112, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
    assert (mfn["n_genuine"], mfn["n_impostor"]) == (n_gen, n_imp) == (450, 4500)
    assert mfn["auc"] == pytest.approx(ref_auc, abs=1e-9) and mfn["auc"] > 0.9
    pth = by_name["r18"]
    assert pth["arch"] == "resnet18" and pth["export_max_abs_diff"] < 1e-3
    exported = next((tmp_path / "c" / "exports").glob("*.onnx"))
    ref_auc, _, _ = independent_auc(sub, exported, 112, 112, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
    assert pth["auc"] == pytest.approx(ref_auc, abs=1e-9)


def test_one_bad_model_does_not_stop_the_others(tmp_path, faces, linear_onnx):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"nope")
    out = tmp_path / "o.json"
    r = run_cli("evaluate", "--images", faces, "--model", linear_onnx, bad, "--json", out, "--cache-dir", tmp_path / "c")
    assert r.returncode == 1
    d = json.loads(out.read_text())
    assert [m["name"] for m in d["models"]] == ["linear"]
    assert "bad.onnx" in d["failures"][0]["error"] and "bad.onnx" in r.stderr


@pytest.mark.parametrize("setup, msg", [
    ("empty", "no images found"),
    ("one", "only one identity"),
    ("missing", "folder not found"),
])
def test_bad_image_folders_exit_2_with_one_line(tmp_path, linear_onnx, setup, msg):
    folder = tmp_path / "f"
    if setup == "empty":
        folder.mkdir()
    elif setup == "one":
        make_faces(folder, n_ids=1)
    r = run_cli("evaluate", "--images", folder, "--model", linear_onnx, "--json", tmp_path / "o.json", "-q")
    assert r.returncode == 2
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and msg in lines[0] and str(folder) in lines[0]


def test_per_model_config(tmp_path, faces):
    make_linear_onnx(tmp_path / "m" / "big.onnx", h=48, w=40)
    make_dynamic_size_onnx(tmp_path / "m" / "dyn.onnx")
    cfg = tmp_path / "m" / "models.toml"
    cfg.write_text('[[model]]\npath = "big.onnx"\nname = "Big"\npreset = "arcface"\nbgr = true\n\n'
                   '[[model]]\npath = "dyn.onnx"\nsize = "24x20"\ncenter_crop = "28"\n')
    out = tmp_path / "o.json"
    r = run_cli("evaluate", "--images", faces, "--config", cfg, "--json", out, "--cache-dir", tmp_path / "c", "-q")
    assert r.returncode == 0, r.stderr
    d = json.loads(out.read_text())
    pre = {m["name"]: m["preprocessing"] for m in d["models"]}
    assert pre["Big"].startswith("48x40 · arcface · BGR") and pre["dyn"].startswith("24x20 · imagenet · RGB")
    assert "center-crop=28x28" in pre["dyn"]


def test_dynamic_size_without_size_is_a_clear_model_error(tmp_path, faces):
    p = make_dynamic_size_onnx(tmp_path / "dyn.onnx")
    r = run_cli("evaluate", "--images", faces, "--model", p, "--json", tmp_path / "o.json", "-q")
    assert r.returncode == 2
    assert "dyn.onnx: the model's input size is dynamic — give the size it was trained at" in r.stderr


def test_scores_mode(tmp_path):
    rng = np.random.default_rng(0)
    rows = ["model,label,score"]
    truth = {}
    for name in ("A", "B"):
        y = rng.integers(0, 2, 300)
        s = rng.normal(y * (1 if name == "A" else 2), 1)
        truth[name] = (y, s)
        rows += [f"{name},{a},{float(b)!r}" for a, b in zip(y, s)]
    f = tmp_path / "s.csv"
    f.write_text("\n".join(rows) + "\n")
    out = tmp_path / "s.json"
    assert main(["scores", str(f), "--json", str(out), "-q", "--roc", "full"]) == 0
    d = json.loads(out.read_text())
    assert set(d["dataset"]) == {"n_images", "n_identities", "n_genuine", "n_impostor"}
    for m in d["models"]:
        y, s = truth[m["name"]]
        fpr, tpr, _ = sk_roc(y, s, drop_intermediate=False)
        assert m["auc"] == pytest.approx(sk_auc(fpr, tpr), abs=2e-16)  # the exact Mann-Whitney ratio
        # every point the engine holds (genuine thresholds, the corner above each, the 0.001 grid) is on the curve
        on_curve = set(zip(fpr.tolist(), tpr.tolist()))
        assert m["roc"]["form"] == "full" and set(zip(m["roc"]["fpr"], m["roc"]["tpr"])) <= on_curve
    # the default export is the compact curve: fewer points, the same area
    assert main(["scores", str(f), "--json", str(out), "-q"]) == 0
    for m in json.loads(out.read_text())["models"]:
        y, s = truth[m["name"]]
        fpr, tpr, _ = sk_roc(y, s, drop_intermediate=False)
        assert m["roc"]["form"] == "bounded" and len(m["roc"]["fpr"]) < fpr.size  # lossless on small sets
        assert sk_auc(m["roc"]["fpr"], m["roc"]["tpr"]) == pytest.approx(sk_auc(fpr, tpr), abs=1e-12)


def test_scores_mode_bad_csv(tmp_path, capsys):
    f = tmp_path / "s.csv"
    f.write_text("label,score\n1,0.5\n2,0.3\n")
    assert main(["scores", str(f), "--json", str(tmp_path / "o.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "line 3: label must be 1 (genuine) or 0 (impostor), got '2'" in err


@pytest.mark.skipif(not (LFW.is_dir() and MFN_ONNX.is_file()), reason=SHARED_REASON)
def test_real_lfw_alignment_reaches_the_known_good_crop(tmp_path):
    """LFW's 250x250 photos: the whole image gives a real model ~0.82 AUC, the box crop 53,44,197,188 ~0.99;
    detection + alignment, with no box given, must do at least as well as the box."""
    got = {}
    for label, extra in (("crop", ["--crop", "53,44,197,188", "-q"]), ("whole", []),
                         ("align", ["--align", "--preview", tmp_path / "seen", "-q"])):
        out = tmp_path / f"{label}.json"
        r = run_cli("evaluate", "--images", LFW, "--model", MFN_ONNX, *extra, "--json", out,
                    "--cache-dir", tmp_path / "c", "--no-intervals")
        assert r.returncode == 0, r.stderr
        d = json.loads(out.read_text())
        assert d["dataset"]["n_identities"] == 50 and d["dataset"]["n_images"] == 300
        got[label] = (d, r.stderr)
    auc = {k: d["models"][0]["auc"] for k, (d, _) in got.items()}
    assert auc["whole"] < 0.9 and auc["crop"] > 0.98 and auc["align"] >= auc["crop"]
    tar = {k: d["models"][0]["tar_at_far"]["0.001"] for k, (d, _) in got.items()}
    assert tar["align"] >= tar["crop"]
    assert "hint:" in got["whole"][1] and "--align" in got["whole"][1]  # the raw photos were noticed
    d = got["align"][0]
    assert d["models"][0]["align"] is True and "aligned" in d["models"][0]["preprocessing"]
    assert d["dataset"]["faces"]["checked"] == 300 and d["dataset"]["faces"]["no_face"] == []
    assert [p.name for p in (tmp_path / "seen").iterdir()] == ["01_MobileFaceNet.png"]


def test_align_and_preview_on_bundled_faces(tmp_path):
    photos = make_raw_photos(tmp_path / "photos", blank="s2/blank.png")
    net = make_linear_onnx(tmp_path / "net.onnx", h=112, w=96)
    out = tmp_path / "out.json"
    r = run_cli("evaluate", "--images", photos, "--model", net, "--json", out, "--cache-dir", tmp_path / "c",
                "--no-intervals")
    assert r.returncode == 0 and "hint:" in r.stderr and "--align" in r.stderr
    r = run_cli("evaluate", "--images", photos, "--model", net, "--align", "--preview", tmp_path / "seen",
                "--json", out, "--cache-dir", tmp_path / "c", "--no-intervals", "-q")
    assert r.returncode == 0, r.stderr
    d = json.loads(out.read_text())
    m = d["models"][0]
    assert m["align"] and {"path": "s2/blank.png", "reason": "no face found"} in m["skipped"]
    assert d["dataset"]["faces"]["no_face"] == ["s2/blank.png"] and m["n_images"] == 16
    png = tmp_path / "seen" / "01_net.png"
    from PIL import Image

    strip = np.asarray(Image.open(png).convert("RGB"))
    assert strip.shape[0] > 200 and strip.shape[1] > 6 * 100  # photos above, the model's 112x96 view below
    # framed faces (the bundled ORL set) get no hint
    r = run_cli("evaluate", "--images", ROOT / "demo" / "orl_faces", "--model", net, "--json", out,
                "--cache-dir", tmp_path / "c", "--no-intervals")
    assert r.returncode == 0 and "hint:" not in r.stderr


def test_align_in_the_config_file(tmp_path):
    photos = make_raw_photos(tmp_path / "photos")
    net = make_linear_onnx(tmp_path / "net.onnx", h=112, w=112)
    cfg = tmp_path / "models.toml"
    cfg.write_text(f'[[model]]\npath = "{net}"\nname = "aligned"\nalign = true\n\n'
                   f'[[model]]\npath = "{net}"\nname = "raw"\npreset = "raw"\n')
    out = tmp_path / "out.json"
    assert main(["evaluate", "--images", str(photos), "--config", str(cfg), "--json", str(out), "-q",
                 "--cache-dir", str(tmp_path / "c"), "--no-intervals"]) == 0
    by = {m["name"]: m for m in json.loads(out.read_text())["models"]}
    assert by["aligned"]["align"] and not by["raw"]["align"] and "raw" in by["raw"]["preprocessing"]


def test_scores_file_that_is_not_utf8_is_a_clear_error(tmp_path, capsys):
    p = tmp_path / "scores.csv"
    p.write_bytes("label,score,model\n1,0.9,café\n0,0.1,café\n".encode("latin-1"))
    assert main(["scores", str(p), "--json", str(tmp_path / "o.json")]) == 2
    err = capsys.readouterr().err
    assert "is not UTF-8 text" in err and "scores.csv" in err and "Traceback" not in err


def test_embeddings_command_equals_evaluate_on_the_same_faces(tmp_path):
    """Embeddings saved from a real run give the same pairs and metrics through `embeddings` as `evaluate`."""
    from faceroc_core.cache import EmbeddingCache
    from faceroc_core.dataset import scan_folder
    from faceroc_core.embed import embed
    from faceroc_core.models import prepare_model
    from faceroc_core.pipeline import ModelSpec, evaluate, resolve_preprocessing

    model = ROOT / "demo" / "models" / "C_epoch60.onnx"
    ids = [f"s{k}" for k in range(21, 41)]
    ds = scan_folder(ROOT / "demo" / "orl_faces", labels="folder", identities=ids)
    pm = prepare_model(model, cache_dir=tmp_path / "c")
    run = embed(ds.images, [(pm, resolve_preprocessing(ModelSpec(model), pm.info))],
                cache=EmbeddingCache(tmp_path / "c"))
    npz = tmp_path / "C.npz"
    np.savez(npz, embeddings=run.results[0].embeddings, identities=np.array([r.identity for r in ds.images]))
    out = tmp_path / "e.json"
    assert main(["embeddings", str(npz), "--json", str(out), "--no-intervals", "-q"]) == 0
    got = json.loads(out.read_text())["models"][0]
    ev = evaluate(ds, [ModelSpec(model)], cache_dir=tmp_path / "c", intervals=False)
    assert got["name"] == "C" and got["auc"] == ev.models[0].auc and got["eer"] == ev.models[0].eer.eer
    assert got["tar_at_far"]["0.001"] == ev.models[0].tar(1e-3).tar
    assert got["hardest_impostors"][0]["score"] == ev.models[0].hardest_impostors[0].score


def test_embeddings_command_refuses_pickles_and_mismatches(tmp_path, capsys):
    bad = tmp_path / "obj.npz"
    np.savez(bad, embeddings=np.ones((4, 3)), identities=np.array(["a", "b", None, "c"], dtype=object))
    assert main(["embeddings", str(bad), "--json", str(tmp_path / "o.json")]) == 2
    err = capsys.readouterr().err
    assert "obj.npz" in err and "without pickle" in err and "dtype=str" in err
    short = tmp_path / "short.npz"
    np.savez(short, embeddings=np.ones((4, 3)), identities=np.array(["a", "b"]))
    assert main(["embeddings", str(short), "--json", str(tmp_path / "o.json")]) == 2
    assert "do not match" in capsys.readouterr().err


def test_scores_csv_large_is_read_vectorised(tmp_path):
    """200,000 rows in two models through the chunked reader: the same arrays as the numbers written."""
    rng = np.random.default_rng(7)
    n = 100_000
    y = rng.integers(0, 2, 2 * n)
    s = rng.normal(size=2 * n)
    names = np.repeat(["A", "B"], n)
    f = tmp_path / "big.csv"
    with open(f, "w") as fh:
        fh.write("model,label,score\n")
        fh.writelines(f"{m},{a},{float(b)!r}\n" for m, a, b in zip(names, y, s))
    from faceroc_core import cli

    got = cli.read_scores_csv(f)
    assert list(got) == ["A", "B"]
    assert np.array_equal(got["A"][0], s[:n]) and np.array_equal(got["B"][1], y[n:].astype(float))


def test_help_of_every_command_and_the_interval_table(tmp_path, capsys):
    for cmd in ("evaluate", "embeddings", "scores"):
        with pytest.raises(SystemExit) as ex:
            main([cmd, "--help"])
        assert ex.value.code == 0
    rng = np.random.default_rng(0)
    codes = np.repeat(np.arange(25), 6)
    npz = tmp_path / "e.npz"
    np.savez(npz, embeddings=rng.normal(size=(25, 8))[codes] + 0.7 * rng.normal(size=(150, 8)),
             identities=codes.astype(str))
    capsys.readouterr()
    assert main(["embeddings", str(npz), "--json", str(tmp_path / "e.json")]) == 0
    err = capsys.readouterr().err
    assert "  95% over 25 people" in err
    d = json.loads((tmp_path / "e.json").read_text())["models"][0]
    lo, hi = d["tar_at_far_interval"]["0.1"]["low"], d["tar_at_far_interval"]["0.1"]["high"]
    assert f"{lo:.3f}–{hi:.3f}" in err
