"""The flip test: an image's embedding is the sum of the raw embeddings of the image and of its mirror (as
InsightFace's eval scripts), part of the cache key, and reported in the JSON and the 10-fold accuracy."""
import json

import numpy as np
from helpers import make_faces, make_linear_onnx
from PIL import Image, ImageOps

from faceroc_core.cache import EmbeddingCache
from faceroc_core.cli import main
from faceroc_core.dataset import scan_folder
from faceroc_core.embed import embed
from faceroc_core.models import prepare_model
from faceroc_core.options import ModelSpec, resolve_preprocessing


def embeddings(folder, model, tmp_path, **opts):
    ds = scan_folder(folder, labels="folder")
    pm = prepare_model(model, cache_dir=tmp_path / "c")
    prep = resolve_preprocessing(ModelSpec(model, **opts), pm.info)
    run = embed(ds.images, [(pm, prep)], cache=EmbeddingCache(tmp_path / "c"))
    return {r.relpath: v for r, v in zip(ds.images, run.results[0].embeddings)}, prep


def test_flip_is_the_sum_of_the_image_and_its_mirror(tmp_path):
    faces = make_faces(tmp_path / "f", n_ids=3, per_id=2, size=32)  # at the model's size: no resize
    mirrored = tmp_path / "m"
    for p in faces.rglob("*.png"):
        out = mirrored / p.parent.name / p.name
        out.parent.mkdir(parents=True, exist_ok=True)
        ImageOps.mirror(Image.open(p)).save(out)
    model = make_linear_onnx(tmp_path / "lin.onnx", h=32, w=32)
    plain, prep = embeddings(faces, model, tmp_path)
    mirror, _ = embeddings(mirrored, model, tmp_path)
    flipped, prep_flip = embeddings(faces, model, tmp_path, flip=True)
    assert prep_flip.key != prep.key and "flip test" in prep_flip.describe()
    for k in plain:
        assert np.allclose(flipped[k], plain[k] + mirror[k], atol=1e-5)
        assert not np.allclose(flipped[k], 2 * plain[k], atol=1e-3)  # the faces are not symmetric


def test_flip_on_the_cli_and_in_the_toml(tmp_path):
    faces = make_faces(tmp_path / "f", n_ids=6, per_id=4, size=32)
    model = make_linear_onnx(tmp_path / "lin.onnx", h=32, w=32)
    rel = sorted(f"{p.parent.name}/{p.name}" for p in faces.rglob("*.png"))
    i, j = np.triu_indices(len(rel), 1)
    (tmp_path / "p.csv").write_text("a,b\n" + "".join(f"{rel[a]},{rel[b]}\n" for a, b in zip(i, j)))
    out = tmp_path / "o.json"
    assert main(["evaluate", "--images", str(faces), "--model", str(model), "--flip", "--pairs", str(tmp_path / "p.csv"),
                 "--json", str(out), "--cache-dir", str(tmp_path / "c"), "-q"]) == 0
    m = json.loads(out.read_text())["models"][0]
    assert m["flip"] is True and m["accuracy_10fold"]["flip"] is True and "flip test" in m["preprocessing"]
    (tmp_path / "c.toml").write_text(f'[[model]]\npath = "{model}"\nflip = true\n')
    out2 = tmp_path / "o2.json"
    assert main(["evaluate", "--images", str(faces), "--config", str(tmp_path / "c.toml"), "--json", str(out2),
                 "--cache-dir", str(tmp_path / "c"), "-q"]) == 0
    assert json.loads(out2.read_text())["models"][0]["flip"] is True
