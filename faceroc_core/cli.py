"""Command line: ``faceroc evaluate|scores|embeddings ...`` (also ``python -m faceroc_core ...``).

Exit codes: 0 all models evaluated; 1 some models failed (the others are in
the JSON); 2 bad input (one line on stderr says why).
"""
from __future__ import annotations

import argparse
import csv
import sys
import tempfile
from collections import OrderedDict
from pathlib import Path

import numpy as np

from .cli_runs import cmd_history, cmd_verify, cmd_watch, decision_text, model_options, to_mlflow
from .config import faces_of, load_config
from .decide import DEFAULT_DEV_FRACTION
from .errors import FaceROCError, ScoresError
from .groups import read_groups_csv
from .metrics import DEFAULT_FARS, check_far
from .onnx_io import ONNX_SUFFIXES, TORCH_SUFFIXES
from .options import MODEL_OPTIONS, ModelSpec, RunOptions, spec_from_options
from .pipeline import evaluate, evaluate_scores, unique_name
from .progress import IMAGE_STAGES, Stage
from .report import ROC_FORMS
from .worker import Limits


def expand_model_paths(paths) -> list[Path]:
    """Files as given; folders expand to the model files they hold (sorted)."""
    out = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in ONNX_SUFFIXES + TORCH_SUFFIXES)
            if not found:
                raise FaceROCError("no .onnx/.pth/.pt model files in this folder", path=str(p))
            out += found
        else:
            out.append(p)
    return out


def build_specs(ns) -> list[ModelSpec]:
    common = model_options(ns)
    specs = []
    for path in expand_model_paths(ns.model or []):
        specs.append(spec_from_options(path, **common))
    if ns.config:
        for m in load_config(ns.config):
            opts = {**common, **{k: v for k, v in m.items() if k != "path"}}
            specs.append(spec_from_options(m["path"], **opts))
    if not specs:
        raise FaceROCError("no model given", hint="add --model PATH (several allowed) or --config models.toml")
    return specs


ROC_HELP = ("ROC points in the JSON: 'bounded' (default: at most ~20,000 points, TAR within 1e-4 of the full curve at "
            "any FAR, exact at each decade), 'corners' (lossless: every corner and tied step) or 'full' (every point "
            "the engine holds: each genuine threshold, the corner above it, the 0.001 grid); the metrics are exact "
            "in every form")
DASK_HELP = ("count the pairs on a Dask cluster: a scheduler address (tcp://host:8786) or 'local' "
             "(needs requirements-dask.txt)")


def _parse_fars(text) -> tuple[float, ...]:
    if not text:
        return DEFAULT_FARS
    return tuple(check_far(v) for v in str(text).split(","))


class _Bars:
    """tqdm bars per (stage, model), on stderr."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.bars: dict = {}

    def __call__(self, stage, done, total, model):
        if not self.enabled:
            return
        from tqdm import tqdm

        key = (stage, model)
        bar = self.bars.get(key)
        if bar is None:
            label = {Stage.READ: "read images", Stage.FACES: "find faces", Stage.EMBED: f"embed {model}",
                     Stage.EXPORT: f"export {model}", Stage.SCORE: f"score {model}"}.get(stage, stage)
            bar = self.bars[key] = tqdm(total=total, desc=label, unit="img" if stage in IMAGE_STAGES else "step",
                                        leave=False, file=sys.stderr, dynamic_ncols=True)
        bar.total = total
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()

    def close(self):
        for b in self.bars.values():
            b.close()


def cmd_evaluate(ns) -> int:
    from .report import metrics_csv, write_json

    specs = build_specs(ns)
    faces = faces_of(ns.images, ns.labels, ns.config)
    if not faces.images:
        raise FaceROCError("no images given", hint="add --images DIR (or a .zip), or a [dataset] path in --config")
    images, labels = faces.images, faces.labels
    bars = _Bars(not ns.quiet)
    with tempfile.TemporaryDirectory(prefix="faceroc-zip-") as tmp:
        if str(images).lower().endswith(".zip") and Path(images).is_file():
            from .ingest import ingest_zip

            got = ingest_zip(str(images), Path(tmp) / "faces", labels=labels)
            images, labels = got.root, got.label_mode
        pairs = ns.pairs
        if str(images).lower().endswith(".bin") and Path(images).is_file():  # InsightFace's validation set:
            from .binset import read_bin, unpack_bin  # its pairs are the protocol

            if pairs:
                raise FaceROCError("--pairs is given with a .bin", path=str(ns.pairs),
                                   hint="a .bin carries its own pairs: leave out --pairs")
            images, pairs = unpack_bin(read_bin(images), Path(tmp) / "bin", name=Path(images).name)
            labels = "folder"
        try:
            options = RunOptions(
                labels=labels, identities=faces.identities, cache_dir=ns.cache_dir, use_cache=not ns.no_cache,
                batch_size=ns.batch_size, fars=_parse_fars(ns.far),
                thermal_limit_c=None if ns.no_thermal_guard else ns.max_temp, intervals=not ns.no_intervals,
                limits=Limits.of(ns.model_timeout, ns.model_memory),
                groups=read_groups_csv(ns.groups) if ns.groups else None, pairs=pairs, dask=ns.dask,
                gallery=ns.gallery, target_far=ns.target_far, dev_images=ns.dev_images, prior=ns.prior,
                dev_fraction=ns.dev_fraction if ns.dev_fraction is not None else (
                    DEFAULT_DEV_FRACTION if ns.threshold_file and not ns.dev_images else None),
                store=not ns.no_store, dataset_name=faces.name)
            ev = evaluate(images, specs, options, progress=bars)
        finally:
            bars.close()
        if not ns.quiet and not any(sp.align for sp in specs):
            hint = alignment_hint(images, labels)
            if hint:
                print(f"hint: {hint}", file=sys.stderr)
        page = None
        if ns.html or ns.mlflow:  # while the faces are at hand (a .zip is unpacked only for this run): thumbnails
            from .report import html_report

            page = html_report(ev, lang=ns.lang, images_root=images)
            if ns.html:
                Path(ns.html).write_text(page, encoding="utf-8")
        if ns.mlflow and ev.models:
            to_mlflow(ev, ns.mlflow, html=page, dataset_name=faces.name, quiet=ns.quiet)
    write_json(ev, ns.json, indent=None, roc=ns.roc)
    if ns.threshold_file:
        import json

        from .jsonparts import threshold_file

        Path(ns.threshold_file).write_text(json.dumps(threshold_file(ev), indent=2), encoding="utf-8")
    if ns.csv:
        Path(ns.csv).write_text(metrics_csv(ev, threshold=ns.threshold))
    if ns.preview:
        write_previews(ev, ns.preview)
    _print_summary(ev, quiet=ns.quiet)
    if not ev.models:
        print(f"faceroc: no model could be evaluated: {ev.failures[0].error}", file=sys.stderr)
        return 2
    return 1 if ev.failures else 0


def alignment_hint(images, labels) -> str | None:
    """One line when a sample of the faces looks like raw photos that need aligning, else None."""
    from .align import check_sample, detector_available
    from .dataset import scan_folder
    from .preview import sample_indices

    if detector_available():
        return None
    try:
        ds = scan_folder(images, labels=labels)
    except FaceROCError:
        return None
    advice, _ = check_sample([ds.images[i].path for i in sample_indices(ds.images, k=20)], n_examples=0)
    if not advice.suggest:
        return None
    return f"{advice.reason} (checked {advice.n_checked} images). Add --align to detect and align each face."


def write_previews(ev, folder) -> list[Path]:
    """One PNG per model: sample photos on top, what the network receives below."""
    from .preview import png_bytes, strip_image

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for k, r in enumerate(ev.models):
        if r.preview is None:
            continue
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in r.name).strip("._") or f"model{k + 1}"
        p = out / f"{k + 1:02d}_{safe[:60]}.png"
        p.write_bytes(png_bytes(strip_image(r.preview)))
        written.append(p)
    return written


def _ci_cell(iv) -> str:
    return "" if iv is None else f"{iv.low:.3f}–{iv.high:.3f}"


def _print_summary(ev, *, quiet=False):
    for f in ev.failures:
        print(f"faceroc: model {f.name} skipped: {f.error}", file=sys.stderr)
    if quiet:
        return
    if ev.run_id:
        print(f"stored as run {ev.run_id} (faceroc history show {ev.run_id})", file=sys.stderr)
    ds = ev.dataset
    if ds.label_mode != "scores":
        print(f"{ds.n_images} images, {ds.n_identities} identities, {ds.n_genuine:,} genuine / {ds.n_impostor:,} "
              f"impostor pairs; {len(ds.skipped)} file(s) skipped", file=sys.stderr)
        for s in ds.skipped[:20]:
            print(f"  skipped {s.path}: {s.reason}", file=sys.stderr)
    head = f"{'model':<28} {'AUC':>13} {'EER':>13} " + " ".join(f"{'TAR@' + format(f, 'g'):>13}" for f in ev.fars)
    print(head, file=sys.stderr)
    for r in ev.ranked():
        tars = " ".join(f"{'—' if p.tar is None else format(p.tar, '.4f'):>13}" for p in r.operating_points)
        print(f"{r.name[:28]:<28} {r.auc:>13.4f} {r.eer.eer:>13.4f} {tars}", file=sys.stderr)
        mi = ev.intervals.get(r.name)
        if mi is not None:  # the 95% intervals over people, under each number
            n = mi.auc.n_people if mi.auc else ""
            cells = [_ci_cell(mi.auc), _ci_cell(mi.eer)] + [_ci_cell(mi.tar_at(p.far_target)) for p in r.operating_points]
            print(f"{'  95% over ' + str(n) + ' people':<28} " + " ".join(f"{c:>13}" for c in cells), file=sys.stderr)
        if r.accuracy_10fold is not None:
            print(f"{'  10-fold accuracy':<28} {r.accuracy_10fold.text()}", file=sys.stderr)
        if r.identification is not None:
            print(f"{'  identification (1:N)':<28} {r.identification.text()}", file=sys.stderr)
        if r.decision is not None:
            print(f"{'  threshold (dev -> eval)':<28} {decision_text(r.decision)}", file=sys.stderr)
        fta = r.failure_to_acquire
        if fta is not None and fta.images:
            print(f"{'  failure to acquire':<28} {fta.images} image(s) ({100 * fta.share:.1f}%) not used; FRR "
                  f"{100 * fta.frr:.2f}% at {fta.threshold:.4f}, {100 * fta.frr_with_fta:.2f}% counting their pairs as "
                  "rejected", file=sys.stderr)
    from .verdict import comparison

    for sentence in comparison(ev.models, comparisons=ev.comparisons, failures=ev.failures)[1:]:
        print(sentence, file=sys.stderr)
    suspects = getattr(ds, "suspects", ())
    if suspects:
        print(f"check your test set: {len(suspects)} likely labelling problem(s) (dataset.suspects in the JSON):",
              file=sys.stderr)
        for s in suspects[:10]:
            print(f"  {s.kind}: {s.evidence}", file=sys.stderr)


def read_scores_csv(path) -> OrderedDict[str, tuple[np.ndarray, np.ndarray]]:
    p = Path(path)
    if not p.is_file():
        raise ScoresError("file not found", path=str(p))
    groups: OrderedDict[str, tuple[list, list]] = OrderedDict()
    try:
        return _read_scores(p, groups)
    except UnicodeDecodeError as e:
        raise ScoresError(f"is not UTF-8 text (byte {e.start})", path=str(p),
                          hint="save the CSV as UTF-8 (in Excel: CSV UTF-8)") from None


SCORES_CHUNK = 1_000_000  # rows parsed at once (vectorised)


def _read_scores(p: Path, groups) -> OrderedDict[str, tuple[np.ndarray, np.ndarray]]:
    """Read ``label,score[,model]`` a chunk of rows at a time with pandas' C parser (10 M rows in seconds), naming
    the first bad line exactly as a row-by-row reader would."""
    import pandas as pd

    with open(p, newline="", encoding="utf-8-sig") as f:
        header = next(csv.reader(f), [])
    cols = [c.strip().lower() for c in header]
    if "label" not in cols or "score" not in cols:
        raise ScoresError(f"needs columns label and score, got {header}", path=str(p),
                          hint="header: label,score[,model]; label 1 = genuine, 0 = impostor")
    parts: dict[str, tuple[list, list]] = {}
    try:
        reader = pd.read_csv(p, dtype=str, keep_default_na=False, encoding="utf-8-sig", chunksize=SCORES_CHUNK,
                             skipinitialspace=True)
        for k, chunk in enumerate(reader):
            chunk.columns = [str(c).strip().lower() for c in chunk.columns]
            label = pd.to_numeric(chunk["label"].str.strip(), errors="coerce").to_numpy(np.float64)
            score = pd.to_numeric(chunk["score"].str.strip(), errors="coerce").to_numpy(np.float64)
            bad = np.isnan(label) | np.isnan(score)
            first = k * SCORES_CHUNK + 2  # the line of the chunk's first row
            if bad.any():
                r = int(np.argmax(bad))
                raise ScoresError(f"line {first + r}: label and score must be numbers, got "
                                  f"{chunk['label'].iloc[r]!r}, {chunk['score'].iloc[r]!r}", path=str(p))
            wrong = (label != 0) & (label != 1)
            if wrong.any():
                r = int(np.argmax(wrong))
                raise ScoresError(f"line {first + r}: label must be 1 (genuine) or 0 (impostor), got "
                                  f"{chunk['label'].iloc[r].strip()!r}", path=str(p))
            models = (chunk["model"].str.strip().replace("", "scores") if "model" in chunk.columns
                      else pd.Series("scores", index=chunk.index))
            for name, idx in models.groupby(models, sort=False).indices.items():
                g = parts.setdefault(str(name), ([], []))
                g[0].append(score[idx])
                g[1].append(label[idx])
    except pd.errors.ParserError as e:
        raise ScoresError(f"is not a well-formed CSV ({str(e).strip().splitlines()[-1]})", path=str(p)) from None
    if not parts:
        raise ScoresError("no rows", path=str(p))
    for name, (s, y) in parts.items():
        groups[name] = (np.concatenate(s), np.concatenate(y))
    return groups


def cmd_scores(ns) -> int:
    from .report import metrics_csv, write_json

    groups = read_scores_csv(ns.file)
    try:
        ev = evaluate_scores(groups, RunOptions(fars=_parse_fars(ns.far), store=not ns.no_store,
                                                dataset_name=Path(ns.file).name))
    except ScoresError as e:
        raise ScoresError(e.reason, path=ns.file, hint=e.hint) from None
    write_json(ev, ns.json, roc=ns.roc)
    if ns.csv:
        Path(ns.csv).write_text(metrics_csv(ev, threshold=ns.threshold))
    _print_summary(ev, quiet=ns.quiet)
    return 0


MAX_NPZ_BYTES = 8 * 2**30


def read_embeddings_npz(path) -> tuple[np.ndarray, np.ndarray]:
    """``embeddings`` (N x d, float) and ``identities`` (N strings) from an ``.npz`` (never unpickled)."""
    p = Path(path)
    if not p.is_file():
        raise FaceROCError("file not found", path=str(p))
    if p.stat().st_size > MAX_NPZ_BYTES:
        raise FaceROCError(f"{p.stat().st_size / 2**30:.1f} GB is more than {MAX_NPZ_BYTES // 2**30} GB", path=str(p))
    try:
        with np.load(p, allow_pickle=False) as z:
            missing = {"embeddings", "identities"} - set(z.files)
            if missing:
                raise FaceROCError(f"has no {' and no '.join(sorted(missing))} array (it holds {sorted(z.files)})",
                                   path=str(p), hint="np.savez(path, embeddings=E, identities=np.array(ids, dtype=str))")
            emb, ids = z["embeddings"], z["identities"]
    except ValueError as e:  # object arrays need pickle, which is never used on input
        raise FaceROCError(f"cannot be read without pickle ({str(e).splitlines()[0]})", path=str(p),
                           hint="save identities as a string array: np.array(ids, dtype=str)") from None
    except (OSError, EOFError) as e:
        raise FaceROCError(f"is not a readable .npz ({e})", path=str(p), hint="write it with numpy.savez") from None
    if emb.ndim != 2 or not np.issubdtype(emb.dtype, np.number) or ids.ndim != 1 or ids.size != emb.shape[0]:
        raise FaceROCError(f"embeddings {emb.shape} ({emb.dtype}) and identities {ids.shape} do not match",
                           path=str(p), hint="one row of embeddings per identity label")
    if not np.all(np.isfinite(emb)):
        raise FaceROCError("embeddings have NaN or infinite values", path=str(p))
    return emb, ids.astype(str)


def cmd_embeddings(ns) -> int:
    from .pipeline import evaluate_embeddings
    from .report import metrics_csv, write_json

    named: dict = {}
    for f in ns.files:
        name = unique_name(Path(f).stem, named)
        named[name] = read_embeddings_npz(f)
    groups = read_groups_csv(ns.groups) if ns.groups else None
    bars = _Bars(not ns.quiet)
    ev = evaluate_embeddings(named, RunOptions(fars=_parse_fars(ns.far), intervals=not ns.no_intervals,
                                               groups=groups, dask=ns.dask, gallery=ns.gallery,
                                               store=not ns.no_store), progress=bars)
    bars.close()
    write_json(ev, ns.json, roc=ns.roc)
    if ns.csv:
        Path(ns.csv).write_text(metrics_csv(ev, threshold=ns.threshold))
    if ns.html:
        from .report import html_report

        Path(ns.html).write_text(html_report(ev, lang=ns.lang), encoding="utf-8")
    _print_summary(ev, quiet=ns.quiet)
    return 0


def _add_model_options(p: argparse.ArgumentParser) -> None:
    """Every per-model option as a flag (declared once: :data:`~faceroc_core.options.MODEL_OPTIONS`)."""
    groups: dict[str, argparse._MutuallyExclusiveGroup] = {}
    for o in MODEL_OPTIONS:
        if not o.cli:
            continue
        if o.group and o.group not in groups:  # made once: an empty group breaks --help
            groups[o.group] = p.add_mutually_exclusive_group()
        target = groups[o.group] if o.group else p
        if o.switch:
            target.add_argument(o.flag, action="store_true", help=o.help)
        else:
            target.add_argument(o.flag, metavar=o.metavar, choices=o.choices, help=o.help)


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="faceroc",
                                 description="Compare face-embedding models by ROC on labelled face images.")
    sub = ap.add_subparsers(dest="command", required=True)

    ev = sub.add_parser("evaluate", help="embed a labelled folder with each model and measure ROC/AUC/EER/TAR@FAR")
    ev.add_argument("--images", help="folder (or .zip) of faces: one sub-folder per person, or alice_001.png names; "
                                     "or an InsightFace .bin validation set (lfw.bin...: its pairs are the protocol)")
    ev.add_argument("--model", nargs="+", action="extend", metavar="PATH",
                    help=".onnx, .pth/.pt state_dict, or a folder of them (repeatable)")
    ev.add_argument("--config", metavar="TOML",
                    help="per-model settings: [[model]] tables with path and options; optional [dataset] path/labels/identities")
    _add_model_options(ev)
    ev.add_argument("--labels", choices=["auto", "folder", "prefix"], default="auto",
                    help="identity from sub-folder name or filename prefix before the first _ (default auto)")
    ev.add_argument("--json", required=True, metavar="OUT.json")
    ev.add_argument("--csv", metavar="OUT.csv", help="metrics table")
    ev.add_argument("--roc", choices=ROC_FORMS, default="bounded", help=ROC_HELP)
    ev.add_argument("--html", metavar="OUT.html", help="self-contained HTML report")
    ev.add_argument("--preview", metavar="DIR",
                    help="write one PNG per model: sample photos and what the network receives")
    ev.add_argument("--lang", choices=["en", "ja"], default="en", help="language of the HTML report")
    ev.add_argument("--groups", metavar="CSV",
                    help="people's attributes (identity,<attribute>,...): each model's AUC, FMR and FNMR per group "
                         "at one global threshold (FMR 1e-3 overall)")
    ev.add_argument("--pairs", metavar="FILE",
                    help="score only these pairs (a protocol): CSV a,b[,label] of image paths relative to --images, "
                         "or LFW's pairs.txt; default: every pair of images")
    ev.add_argument("--dask", metavar="ADDRESS",
                    help=DASK_HELP)
    ev.add_argument("--threshold", type=float, help="also report the confusion matrix at this threshold (CSV)")
    ev.add_argument("--far", metavar="F,F,...", help="FAR targets (default 0.1,0.01,0.001,0.0001)")
    ev.add_argument("--batch-size", type=int, default=32)
    ev.add_argument("--gallery", metavar="CSV|auto",
                    help="identification (1:N): CSV image,role (gallery or probe; paths relative to --images), or "
                         "auto (every 10th person by name kept out as non-mated probes; the others enrol their first "
                         "image and search with the rest): CMC rank-1..20 and FNIR at FPIR 0.001/0.01/0.1")
    ev.add_argument("--dev-fraction", type=float, metavar="F",
                    help="choose each model's threshold on this share of the people (seeded, people-disjoint) and "
                         f"measure it on the others (default {DEFAULT_DEV_FRACTION} with --threshold-file)")
    ev.add_argument("--mlflow", metavar="URI", help="also log each model's metrics and the HTML report to this MLflow "
                    "tracking server or folder (pip install \"faceroc[mlflow]\")")
    ev.add_argument("--no-store", action="store_true",
                    help="do not keep this run in the store ($FACEROC_HOME, default ~/.local/share/faceroc)")
    ev.add_argument("--dev-images", metavar="DIR",
                    help="choose the thresholds on this separate labelled folder (other people) instead of a split")
    ev.add_argument("--prior", type=float, metavar="P",
                    help="the share of same-person pairs the calibrated probability assumes (default: the dev set's)")
    ev.add_argument("--target-far", default="1e-3", metavar="FAR|eer|min-hter",
                    help="what the dev threshold is chosen for (default 1e-3)")
    ev.add_argument("--threshold-file", metavar="OUT.json",
                    help="write each model's dev-chosen threshold, eval rates with intervals and calibration "
                         "(read by faceroc verify)")
    ev.add_argument("--no-intervals", action="store_true",
                    help="skip the AUC intervals over people and the paired comparisons of the models")
    ev.add_argument("--model-timeout", type=float, default=0, metavar="SECONDS",
                    help="stop a model that takes longer than this in all (it fails alone; default: no limit)")
    ev.add_argument("--model-memory", type=float, default=0, metavar="GB",
                    help="stop a model that needs more memory than this (it fails alone; default: no limit)")
    ev.add_argument("--cache-dir", help="embedding/export cache (default ~/.cache/faceroc or $FACEROC_CACHE)")
    ev.add_argument("--no-cache", action="store_true", help="do not read or write the embedding cache")
    ev.add_argument("--max-temp", type=float, default=72.0, help="pause while the CPU is hotter than this (°C)")
    ev.add_argument("--no-thermal-guard", action="store_true")
    ev.add_argument("-q", "--quiet", action="store_true")
    ev.set_defaults(func=cmd_evaluate)

    sc = sub.add_parser("scores", help="measure your own scores: CSV with label (1/0), score[, model]")
    sc.add_argument("file")
    sc.add_argument("--no-store", action="store_true", help="do not keep this run in the store")
    sc.add_argument("--json", required=True, metavar="OUT.json")
    sc.add_argument("--csv", metavar="OUT.csv")
    sc.add_argument("--roc", choices=ROC_FORMS, default="bounded", help=ROC_HELP)
    sc.add_argument("--threshold", type=float)
    sc.add_argument("--far", metavar="F,F,...")
    sc.add_argument("-q", "--quiet", action="store_true")
    sc.set_defaults(func=cmd_scores)

    em = sub.add_parser("embeddings", help="measure your own embeddings: one .npz per model with embeddings (N x d) "
                                           "and identities (N strings)")
    em.add_argument("files", nargs="+", metavar="MODEL.npz")
    em.add_argument("--no-store", action="store_true", help="do not keep this run in the store")
    em.add_argument("--json", required=True, metavar="OUT.json")
    em.add_argument("--csv", metavar="OUT.csv")
    em.add_argument("--html", metavar="OUT.html")
    em.add_argument("--lang", choices=["en", "ja"], default="en")
    em.add_argument("--threshold", type=float)
    em.add_argument("--far", metavar="F,F,...")
    em.add_argument("--no-intervals", action="store_true", help="skip the AUC intervals and paired comparisons")
    em.add_argument("--gallery", metavar="CSV|auto",
                    help="identification (1:N): auto, or CSV image,role with images named by row (#0, #1, ...)")
    em.add_argument("--dask", metavar="ADDRESS",
                    help=DASK_HELP)
    em.add_argument("--groups", metavar="CSV", help="people's attributes (as for evaluate)")
    em.add_argument("--roc", choices=ROC_FORMS, default="bounded", help=ROC_HELP)
    em.add_argument("-q", "--quiet", action="store_true")
    em.set_defaults(func=cmd_embeddings)
    vf = sub.add_parser("verify", help="two photos, one model and a threshold file: same person or not")
    vf.add_argument("--threshold-file", required=True, metavar="T.json", help="written by evaluate --threshold-file")
    vf.add_argument("--model", required=True, help="the model file the entry was made for (matched by sha256)")
    vf.add_argument("--name", help="the entry's model name, when several entries were made from this file")
    vf.add_argument("a", metavar="A.jpg")
    vf.add_argument("b", metavar="B.jpg")
    vf.add_argument("--json", metavar="OUT.json", help='write {"same", "score", "threshold", "probability", "model"}')
    vf.set_defaults(func=cmd_verify)
    hs = sub.add_parser("history", help="the stored runs: list, show ID, rm ID")
    hs.add_argument("action", choices=("list", "show", "rm"))
    hs.add_argument("id", nargs="?", help="a run id (32 hex digits)")
    hs.add_argument("--json", action="store_true", help="print JSON")
    hs.add_argument("--html", metavar="OUT.html", help="show: write the run's report (one offline HTML page)")
    hs.add_argument("--lang", choices=["en", "ja"], default="en", help="the report's language")
    hs.set_defaults(func=cmd_history)
    wt = sub.add_parser("watch", help="evaluate every new checkpoint of a folder as it arrives (beside a training job)")
    wt.add_argument("folder", metavar="CKPT_DIR")
    wt.add_argument("--images", help="the labelled faces (as evaluate; or the [dataset] of --config)")
    wt.add_argument("--config", metavar="TOML",
                    help="[dataset] (the faces, labels, identities) and [[model]] options: an entry whose path is a "
                         "checkpoint applies to it, one whose path is the watched folder to every checkpoint")
    wt.add_argument("--labels", choices=["auto", "folder", "prefix"], default="auto")
    _add_model_options(wt)
    wt.add_argument("--poll", type=float, default=2.0, metavar="S", help="seconds between looks at the folder")
    wt.add_argument("--settle", type=float, default=5.0, metavar="S",
                    help="a file is read once it has not changed for this long (default 5 s)")
    wt.add_argument("--exit-after", type=int, metavar="N", help="stop after N evaluations")
    wt.add_argument("--cache-dir")
    wt.add_argument("--mlflow", metavar="URI", help="also log each checkpoint to this MLflow tracking server or folder")
    wt.set_defaults(func=cmd_watch)
    return ap


def main(argv=None) -> int:
    ns = parser().parse_args(argv)
    try:
        return ns.func(ns)
    except FaceROCError as e:
        print(f"faceroc: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("faceroc: interrupted", file=sys.stderr)
        return 130
    except OSError as e:
        print(f"faceroc: {e.filename or ''}: {e.strerror or e}", file=sys.stderr)
        return 2
