"""Benchmark: exact metrics of every pair at scale, against the raw floor.

Embeddings: N synthetic 128-d "faces" (random person centres + noise, 10 images
per person), as bring-your-own embeddings (``python -m faceroc_core embeddings``).

Measured, each size in a fresh process:

* engine: ``evaluate_embeddings`` — every pair scored and counted exactly
  (AUC, EER, TAR@FAR, ROC, histograms), the hardest pairs, the people, the
  test-set check and the intervals over people; wall time and peak RSS of the
  whole process (embeddings included);
* floor: the float64 matrix products of every pair alone, in the same tiles and
  threads, nothing counted;
* the memory estimate the run is checked against before it starts
  (``stream.estimate_bytes``), against the peak it really took.

Targets on a 2-core machine: 100,000 images in under 15 minutes and 2 GiB,
within 3x the floor.

``--check-n N``: the scan against the straightforward computation on N images (every pair held and sorted,
``metrics.roc_curve`` = scikit-learn's curve): AUC, EER, TAR@FAR, histograms, threshold counts compared.

``--evaluate-n N``: the ``evaluate`` command itself on N small generated photos (10 per person) with a small
ONNX model, to check that a set that size is neither refused nor killed; prints its time and peak memory.

``--ident G,P`` (default 10000,100000): 1:N search of P probes against G enrolled people (:mod:`faceroc_core.identify`),
time and peak memory against the GEMM floor.

Run: python benchmarks/bench_scale.py [--sizes 10000,30000,100000] [--dim 128] [--evaluate-n 30000] [--ident G,P]
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def embeddings(n: int, dim: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    people = max(2, n // 10)
    ids = np.repeat(np.arange(people), 10)[:n]
    centres = rng.normal(size=(people, dim)).astype(np.float32)
    e = centres[ids] + rng.normal(size=(n, dim)).astype(np.float32) * 1.1
    return e, ids.astype(str)


def child(n: int, dim: int) -> dict:
    from faceroc_core import stream
    from faceroc_core.pipeline import evaluate_embeddings
    from faceroc_core.vectors import normalise

    e, ids = embeddings(n, dim)
    stream.scan(e[:2000], ids[:2000])  # compiled kernels loaded (numba cache) before timing
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    n_gen = int(sum(c * (c - 1) // 2 for c in np.unique(ids, return_counts=True)[1]))
    from faceroc_core.resample import MAX_PAIRS

    estimate = stream.estimate_bytes(n, dim, n_gen, held_pairs=min(n * (n - 1) // 2, MAX_PAIRS))
    t = time.perf_counter()
    ev = evaluate_embeddings({"model": (e, ids)})
    engine = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    r = ev.models[0]
    es = normalise(e)
    es = np.ascontiguousarray(es, dtype=np.float64)
    t = time.perf_counter()
    stream._tiles._run_tiles(n, stream._tiles._parts(n), lambda p, i0, i1, j0, j1: es[i0:i1] @ es[j0:j1].T, None, 0)
    floor = time.perf_counter() - t
    iv = ev.auc_intervals["model"]
    from faceroc_core.resample import people_intervals, sample_of_images

    t = time.perf_counter()  # the intervals' own cost (inside evaluate_embeddings above): redone alone
    _, codes = np.unique(ids, return_inverse=True)
    mi = people_intervals(sample_of_images(e, ids), auc=None, tar={1e-3: r.tar(1e-3).tar}, eer=r.eer.eer,
                          n_people=int(codes.max()) + 1)
    t_iv = time.perf_counter() - t
    tar_iv = mi.tar_at(1e-3)
    from faceroc_core.report import to_json

    json_mb = {form: len(to_json(ev, roc=form).encode()) / 1e6 for form in ("bounded", "corners")}
    return {"n": n, "pairs": n * (n - 1) // 2, "engine_s": engine, "floor_s": floor, "peak_bytes": peak,
            "base_bytes": base, "estimate_bytes": estimate, "auc": r.auc, "eer": r.eer.eer,
            "interval": [iv.low, iv.high], "roc_points": len(r.roc), "json_mb": json_mb, "intervals_s": t_iv,
            "tar": r.tar(1e-3).tar, "tar_interval": [tar_iv.low, tar_iv.high] if tar_iv else None,
            "eer_interval": [mi.eer.low, mi.eer.high]}


def check(n: int) -> None:
    from faceroc_core import metrics as M
    from faceroc_core import stream

    e, ids = embeddings(n, 128)
    t = time.perf_counter()
    st = stream.scan(e, ids)
    t_scan = time.perf_counter() - t
    t = time.perf_counter()
    scores, genuine = stream.all_pair_scores(e, ids)
    full = M.roc_curve(scores, genuine)
    auc, eer = M.auc(full), M.eer(full)
    t_full = time.perf_counter() - t
    same = {
        "EER (rate and threshold)": st.eer == eer,
        "TAR@FAR 1e-1..1e-6": all(M.tar_at_far(st.roc, f) == M.tar_at_far(full, f) for f in (1e-1, 1e-2, 1e-3, 1e-4,
                                                                                          1e-5, 1e-6)),
        "counts at every 0.001 threshold": all(M.threshold_metrics(st.roc, x) == M.threshold_metrics(full, x)
                                               for x in np.round(np.arange(-1000, 1001) / 1000, 3)),
        "impostor histogram": bool(np.array_equal(
            st.impostor_hist, np.histogram(np.clip(scores[~genuine], -1, 1), stream.HIST_EDGES)[0])),
    }
    print(f"check at {n:,} images ({scores.size:,} pairs): scan {t_scan:.1f} s, all pairs held and sorted "
          f"{t_full:.1f} s; AUC {st.auc!r} vs trapezoids {auc!r} (|diff| {abs(st.auc - auc):.1e}); "
          + ", ".join(f"{k}: {'equal' if v else 'DIFFERENT'}" for k, v in same.items()))


def identification_bench(n_gallery: int, n_probes: int, dim: int = 128) -> None:
    """1:N: ``n_gallery`` people enrolled with one photo each, ``n_probes`` searches (9 in 10 of enrolled people,
    1 in 10 of people never enrolled), 128-d synthetic; time and peak memory of identify.search + identification
    against the floor (the probe x gallery matrix products alone, in the same tiles)."""
    from faceroc_core.identify import TILE_CELLS, Roles, identification, search

    rng = np.random.default_rng(5)
    n_people = n_gallery + n_probes // 10
    centres = rng.normal(size=(n_people, dim)).astype(np.float32)
    mated = rng.random(n_probes) < 0.9
    who = np.where(mated, rng.integers(0, n_gallery, n_probes), rng.integers(n_gallery, n_people, n_probes))
    ids = np.r_[np.arange(n_gallery), who].astype(str)
    e = np.r_[centres[:n_gallery], centres[who]] + rng.normal(size=(n_gallery + n_probes, dim)).astype(np.float32)
    roles = Roles(gallery=np.r_[np.ones(n_gallery, bool), np.zeros(n_probes, bool)],
                  probe=np.r_[np.zeros(n_gallery, bool), np.ones(n_probes, bool)], source="bench")
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    t = time.perf_counter()
    idn = identification(search(e, ids, roles), identities=ids)
    took = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    u = e.astype(np.float64)
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    G = np.ascontiguousarray(u[:n_gallery].T)
    step = max(1, TILE_CELLS // n_gallery)
    t = time.perf_counter()
    for s in range(n_gallery, n_gallery + n_probes, step):
        u[s:s + step] @ G
    floor = time.perf_counter() - t
    print(f"identification: {n_gallery:,} gallery x {n_probes:,} probes ({dim}-d): {took:.1f} s against a GEMM floor "
          f"of {floor:.1f} s ({took / floor:.2f}x); peak RSS {peak / 2**30:.2f} GB ({(peak - base) / 2**30:.2f} GB "
          f"beyond the embeddings); rank-1 {idn.rank1:.4f}, FNIR at FPIR 0.01: {idn.fnir_at_fpir[1].fnir}")


def evaluate_images(n: int) -> None:
    import tempfile

    from PIL import Image

    sys.path.insert(0, str(ROOT / "tests"))
    from helpers import make_linear_onnx

    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "faces"
        t = time.perf_counter()
        for k in range(n // 10):
            base = np.kron(rng.uniform(40, 215, size=(6, 6, 3)), np.ones((4, 4, 1)))
            d = root / f"p{k:05d}"
            d.mkdir(parents=True)
            for j in range(10):
                img = np.clip(base + rng.normal(0, 30, base.shape), 0, 255).astype(np.uint8)
                Image.fromarray(img).save(d / f"{j}.png")
        made = time.perf_counter() - t
        model = make_linear_onnx(Path(tmp) / "m.onnx", h=24, w=24, dim=128)
        out = Path(tmp) / "o.json"
        t = time.perf_counter()
        cli = [sys.executable, "-m", "faceroc_core", "evaluate", "--images", str(root), "--model", str(model),
               "--preset", "unit", "--json", str(out), "--cache-dir", str(Path(tmp) / "c"), "-q"]
        # a wrapper process reports the peak memory of the CLI (and of the model's worker), nothing else's
        wrap = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
                "sys.stderr.write(r.stderr); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
                "sys.exit(r.returncode)")
        r = subprocess.run([sys.executable, "-c", wrap, *cli], cwd=ROOT, capture_output=True, text=True)
        took = time.perf_counter() - t
        peak = int(r.stdout.strip() or 0) * 1024
        d = json.loads(out.read_text()) if out.exists() else {}
        m = (d.get("models") or [{}])[0]
        print(f"evaluate on {n:,} photos ({made:.0f} s to write them): exit {r.returncode} in {took:.0f} s, "
              f"peak RSS {peak / 2**30:.2f} GB, {m.get('n_genuine', 0):,} + "
              f"{m.get('n_impostor', 0):,} pairs, AUC {m.get('auc')}" + (f"\n{r.stderr[-2000:]}" if r.returncode else ""))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,30000,100000")
    ap.add_argument("--ident", default="10000,100000", metavar="G,P",
                    help="also the 1:N search of P probes against G gallery people ('' to skip)")
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--evaluate-n", type=int, metavar="N", help="also run `evaluate` on N generated photos")
    ap.add_argument("--check-n", type=int, metavar="N", help="also compare the scan with every pair held and sorted")
    ns = ap.parse_args()
    if ns.child:
        print(json.dumps(child(ns.child, ns.dim)))
        return
    print(f"{'images':>8} {'pairs':>15} {'engine':>9} {'floor':>8} {'ratio':>6} {'peak RSS':>9} "
          f"{'scan extra':>10} {'estimate':>9} {'est/real':>8}  AUC (95% interval)")
    for n in (int(x) for x in ns.sizes.split(",") if x):
        out = subprocess.run([sys.executable, __file__, "--child", str(n), "--dim", str(ns.dim)], capture_output=True,
                             text=True, check=True)
        d = json.loads(out.stdout.strip().splitlines()[-1])
        extra = d["peak_bytes"] - d["base_bytes"]
        print(f"{d['n']:>8,} {d['pairs']:>15,} {d['engine_s']:>8.1f}s {d['floor_s']:>7.1f}s "
              f"{d['engine_s'] / d['floor_s']:>5.2f}x {d['peak_bytes'] / 2**30:>7.2f}GB {extra / 2**30:>8.2f}GB "
              f"{d['estimate_bytes'] / 2**30:>7.2f}GB {d['estimate_bytes'] / max(extra, 1):>7.2f}  "
              f"{d['auc']:.6f} ({d['interval'][0]:.6f}-{d['interval'][1]:.6f}), EER {d['eer']:.5f}, "
              f"{d['roc_points']:,} ROC points; JSON {d['json_mb']['bounded']:.1f} MB "
              f"({d['json_mb']['corners']:.1f} MB with --roc corners)")
        ti = d["tar_interval"] or [float("nan")] * 2
        print(f"{'':>8} TAR@1e-3 {d['tar']:.4f} ({ti[0]:.4f}-{ti[1]:.4f}), EER interval "
              f"{d['eer_interval'][0]:.5f}-{d['eer_interval'][1]:.5f}: TAR/EER intervals over people "
              f"{d['intervals_s']:.2f} s (a sample of people when the pairs exceed resample.MAX_PAIRS)")
        sys.stdout.flush()
    if ns.ident:
        g, p = (int(x) for x in ns.ident.split(","))
        identification_bench(g, p, ns.dim)
    if ns.check_n:
        check(ns.check_n)
    if ns.evaluate_n:
        evaluate_images(ns.evaluate_n)


if __name__ == "__main__":
    main()
