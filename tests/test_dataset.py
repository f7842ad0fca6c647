import pytest
from helpers import ORL, SHARED_REASON, make_faces
from PIL import Image

from faceroc_core.dataset import pair_counts, scan_folder
from faceroc_core.errors import DatasetError


def test_folder_labels(faces):
    ds = scan_folder(faces)
    assert ds.label_mode == "folder"
    assert ds.counts() == {f"id{k:02d}": 4 for k in range(5)}
    assert ds.pair_counts() == (5 * 6, 20 * 19 // 2 - 30)


def test_prefix_labels_auto_detected(tmp_path):
    root = make_faces(tmp_path / "flat", layout="prefix", n_ids=3, per_id=2)
    ds = scan_folder(root)
    assert ds.label_mode == "prefix" and ds.counts() == {"id00": 2, "id01": 2, "id02": 2}


def test_prefix_override_in_subfolders(tmp_path):
    root = tmp_path / "x"
    for who in ("alice", "bob"):
        for j in range(2):
            p = root / "batch1" / f"{who}_{j}.png"
            p.parent.mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (8, 8)).save(p)
    with pytest.raises(DatasetError, match="only one identity"):
        scan_folder(root)  # auto: folder -> one identity "batch1"
    assert scan_folder(root, labels="prefix").counts() == {"alice": 2, "bob": 2}


def test_hidden_and_non_images_are_skipped_and_listed(faces):
    (faces / ".DS_Store").write_bytes(b"x")
    (faces / "id00" / "._001.png").write_bytes(b"x")
    (faces / "id00" / "notes.txt").write_text("hi")
    ds = scan_folder(faces)
    reasons = {s.path: s.reason for s in ds.skipped}
    assert reasons[".DS_Store"] == "hidden file"
    assert reasons["id00/._001.png"] == "hidden file"
    assert "not an image" in reasons["id00/notes.txt"]
    assert len(ds.images) == 20


def test_empty_folder(tmp_path):
    (tmp_path / "e").mkdir()
    with pytest.raises(DatasetError, match="no images found"):
        scan_folder(tmp_path / "e")


def test_missing_folder(tmp_path):
    with pytest.raises(DatasetError, match="folder not found"):
        scan_folder(tmp_path / "nope")


def test_single_identity(tmp_path):
    root = make_faces(tmp_path / "one", n_ids=1)
    with pytest.raises(DatasetError, match="only one identity"):
        scan_folder(root)


def test_no_genuine_pair(tmp_path):
    root = make_faces(tmp_path / "singles", n_ids=3, per_id=1)
    with pytest.raises(DatasetError, match="none has two images"):
        scan_folder(root)


def test_bad_label_mode(faces):
    with pytest.raises(DatasetError, match="labels must be one of"):
        scan_folder(faces, labels="nope")


def test_pair_counts():
    assert pair_counts([2, 3]) == (1 + 3, 10 - 4)


@pytest.mark.skipif(not ORL.is_dir(), reason=SHARED_REASON)
def test_real_orl_folder():
    ds = scan_folder(ORL)
    assert len(ds.identities) == 40 and len(ds.images) == 400
    assert ds.pair_counts() == (40 * 45, 400 * 399 // 2 - 40 * 45)
    assert [s.path for s in ds.skipped] == ["README"]


def test_zip_bomb_members_are_refused_before_anything_is_written(tmp_path):
    import io
    import time
    import zipfile

    from faceroc_core.ingest import ingest_zip

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for k in range(40):  # 40 x 48 MB of zeros: ~2 GB unpacked from a few MB
            z.writestr(f"faces/p{k % 2}/{k:02d}.png", b"\0" * (48 * 2**20))
        real = make_faces(tmp_path / "real", n_ids=2, per_id=2)
        for p in sorted(real.rglob("*.png")):
            z.writestr(f"faces/{p.parent.name}/{p.name}", p.read_bytes())
    assert len(buf.getvalue()) < 5 * 2**20
    t0 = time.perf_counter()
    got = ingest_zip(buf.getvalue(), tmp_path / "out")
    assert time.perf_counter() - t0 < 10
    written = sum(p.stat().st_size for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert written < 2**20 and got.n_images == 4
    reasons = [s.reason for s in got.skipped]
    assert len(reasons) == 40 and all("zip bomb" in r for r in reasons)
