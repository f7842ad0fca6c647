"""The commands around stored runs and deployment: ``history``, ``watch`` and ``verify`` (and the store step of
``evaluate``), beside :mod:`.cli`, which builds the parser and runs them."""
from __future__ import annotations

import sys
from pathlib import Path

from .errors import FaceROCError
from .options import MODEL_OPTIONS, RunOptions, spec_from_options
from .pipeline import evaluate


def model_options(ns) -> dict:
    """The per-model options given on the command line (every flag of :data:`~faceroc_core.options.MODEL_OPTIONS`)."""
    return {o.name: getattr(ns, o.name) for o in MODEL_OPTIONS if o.cli}


def decision_text(dc) -> str:
    """"0.9078 for far=0.001 on 20 dev people; on 20 eval people FAR 0.11% (0.02-0.52%), FRR 46.8% (...)"."""
    ev = dc.eval

    def pct(x, ci):
        return "not measurable" if x is None else f"{100 * x:.2f}%" + (
            f" ({100 * ci[0]:.2f}–{100 * ci[1]:.2f}%)" if ci else "")

    return (f"{dc.threshold:.4f} for {dc.target} on {dc.dev.people} dev people; on {ev.people} eval people "
            f"FAR {pct(ev.far, ev.far_ci)}, FRR {pct(ev.frr, ev.frr_ci)}")


def cmd_verify(ns) -> int:
    """Two photos, one model, a threshold file: the same decision as the evaluation would make."""
    import json

    from .verify import verify

    out = verify(ns.threshold_file, ns.model, ns.a, ns.b, name=ns.name)
    print(f"{'same person' if out['same'] else 'different people'}: score {out['score']:.4f} "
          f"{'>=' if out['same'] else '<'} threshold {out['threshold']:.4f}"
          + (f"; probability {100 * out['probability']:.1f}%" if out["probability"] is not None else "")
          + f" ({out['model']})")
    if ns.json:
        Path(ns.json).write_text(json.dumps(out, indent=2), encoding="utf-8")
    return 0


def to_mlflow(ev, uri: str, *, html: str | None, dataset_name: str, quiet: bool = False) -> str | None:
    """``--mlflow URI``: the evaluation logged there (:mod:`.tracking`); a tracking server that cannot be reached
    costs the run nothing but a message."""
    from .tracking import log_to_mlflow

    try:
        run = log_to_mlflow(ev, uri, html=html, dataset_name=dataset_name)
    except FaceROCError as e:
        print(f"faceroc: {e}", file=sys.stderr)
        return None
    if not quiet:
        print(f"logged to MLflow as run {run}", file=sys.stderr)
    return run


def cmd_history(ns) -> int:
    """``faceroc history list|show|rm``: the stored runs."""
    import json

    from .store import Store

    with Store() as store:
        if ns.action == "list":
            runs = store.list()
            if ns.json:
                print(json.dumps(runs, indent=1))
                return 0
            for r in runs:
                best = max(r["models"], key=lambda m: m["auc"] or 0, default=None)
                lead = f"best {best['name']} AUC {best['auc']:.4f}" if best and best["auc"] is not None else ""
                print(f"{r['id']}  {r['created']}  {r['dataset']['name']} ({r['dataset']['n_images']} images)  "
                      f"{len(r['models'])} model(s)  {lead}")
            return 0
        if not ns.id:
            raise FaceROCError(f"history {ns.action} needs a run id", hint="faceroc history list shows them")
        if ns.action == "rm":
            store.remove(ns.id)
            print(f"removed run {ns.id}", file=sys.stderr)
            return 0
        result = store.get(ns.id)
        if ns.html:
            from .report import html_report
            from .restore import evaluation_from_dict

            ds = result.get("dataset", {})
            title = f"FaceROC — {ds.get('root') or 'run'} ({result.get('created', '')[:10]})"
            Path(ns.html).write_text(html_report(evaluation_from_dict(result), lang=ns.lang, title=title),
                                     encoding="utf-8")
            print(f"wrote {ns.html}", file=sys.stderr)
        if ns.json:
            print(json.dumps(result, indent=1))
        else:
            for m in result.get("models", []):
                print(f"{m['name']}: AUC {m['auc']:.4f}, EER {m['eer']:.4f}, TAR@1e-3 "
                      f"{m['tar_at_far'].get('0.001')}")
        return 0


def cmd_watch(ns) -> int:
    """``faceroc watch``: each settled checkpoint evaluated, stored, and one leaderboard line printed."""
    from .config import faces_of, load_config
    from .watch import arrivals, leaderboard_line

    common = model_options(ns)
    faces = faces_of(ns.images, ns.labels, ns.config)
    if not faces.images:
        raise FaceROCError("no faces given", hint="add --images DIR, or a [dataset] path in --config")
    images, name = faces.images, faces.name
    per_file = {Path(m["path"]).resolve(): {k: v for k, v in m.items() if k != "path"}
                for m in (load_config(ns.config, required=False) if ns.config else [])}
    folder_opts = per_file.get(Path(ns.folder).resolve(), {})
    options = RunOptions(labels=faces.labels, identities=faces.identities, cache_dir=ns.cache_dir,
                         dataset_name=name)
    best: float | None = None
    n = 0
    print(f"watching {ns.folder} for checkpoints (Ctrl-C stops)", file=sys.stderr)
    try:
        for a in arrivals(ns.folder, poll=ns.poll, settle=ns.settle):
            opts = {**common, **folder_opts, **per_file.get(Path(a.path).resolve(), {})}
            ev = evaluate(images, [spec_from_options(a.path, **opts)], options)
            if not ev.models:
                print(f"{a.path.name}: {ev.failures[0].error}", file=sys.stderr)
            else:
                r = ev.models[0]
                if ns.mlflow:
                    to_mlflow(ev, ns.mlflow, html=None, dataset_name=name, quiet=True)
                print(leaderboard_line(r.name, r.epoch, r.auc, r.tar(1e-3).tar, best), flush=True)
                best = r.auc if best is None else max(best, r.auc)
            n += 1
            if ns.exit_after and n >= ns.exit_after:
                break
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    return 0
