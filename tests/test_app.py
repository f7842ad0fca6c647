"""Streamlit AppTest: every page, on the bundled demo and with uploads."""
import io
import json
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
from helpers import ROOT, make_linear_onnx, make_raw_photos
from streamlit.testing.v1 import AppTest

APP = str(ROOT / "app.py")
TIMEOUT = 300


@pytest.fixture(scope="session")
def demo_exports(tmp_path_factory):
    """The demo checkpoint's ONNX export, made once: each test's own fresh cache starts with it (the export is
    tested in test_models; here it would only cost every test its time)."""
    from faceroc_core.models import prepare_model

    cache = tmp_path_factory.mktemp("demo-cache")
    prepare_model(ROOT / "demo" / "models" / "B_epoch18.pth", arch="mobilenetv3_small_050", size=(112, 96),
                  cache_dir=cache)
    return cache / "exports"


@pytest.fixture(autouse=True)
def fresh(tmp_path, monkeypatch, demo_exports):
    import shutil

    shutil.copytree(demo_exports, tmp_path / "cache" / "exports")
    monkeypatch.setenv("FACEROC_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("FACEROC_SESSION_DIR", str(tmp_path / "sessions"))
    st.cache_data.clear()
    st.cache_resource.clear()
    yield


def start(page=None):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    if page:
        at.switch_page(page)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
    return at


def run_compare(at):
    """Open Compare and press Run when it waits for it (new models or faces never start a run by themselves)."""
    at.switch_page("pages/compare.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    if any("Press “Run the comparison”" in i.value for i in at.info):
        assert not at.get("vega_lite_chart")
        at.button(key="run").click().run()
    return at


def chart_specs(at):
    return [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]


def _string_lists(node):
    if isinstance(node, dict):
        for v in node.values():
            yield from _string_lists(v)
    elif isinstance(node, list):
        if node and all(isinstance(x, str) for x in node):
            yield node
        for v in node:
            yield from _string_lists(v)


def roc_labels(at):
    """The models drawn on the ROC chart: its colour scale's domain ("name (AUC 0.9477)")."""
    for spec in chart_specs(at):
        if "ROC curves" in json.dumps(spec.get("title", "")):
            for strings in _string_lists(spec):
                if all("(AUC " in x for x in strings):
                    return set(strings)
    return set()


def test_demo_opens_on_three_curves_and_table():
    at = start()
    labels = roc_labels(at)
    assert len(labels) == 3 and all("AUC" in lab for lab in labels)
    assert any("Evaluated 3 model(s)" in s.value for s in at.success)
    df = at.dataframe[0].value
    aucs = df["AUC"].tolist()
    assert aucs == sorted(aucs, reverse=True) and aucs[0] > 0.93 and aucs[-1] < 0.8
    assert df.iloc[0, 0] == "C · epoch 60"


def test_threshold_change_updates_metrics_without_re_embedding(monkeypatch):
    import ui.runner

    at = start()
    calls = {"n": 0}
    real = ui.runner.embed_dataset

    def counting(*a, **k):
        calls["n"] += 1
        return real(*a, **k)

    monkeypatch.setattr(ui.runner, "embed_dataset", counting)
    before = [tb.value.to_dict() for tb in at.table]
    at.slider(key="threshold").set_value(0.9).run()
    assert not at.exception
    after = [tb.value.to_dict() for tb in at.table]
    assert before != after and len(after) == 3
    at.toggle(key="log_far").set_value(True).run()
    at.button(key="run").click().run()  # same models, same faces: served from the cache
    assert calls["n"] == 0
    assert any("Evaluated 3 model(s)" in s.value for s in at.success)


def test_language_switch_applies_to_the_whole_app():
    at = start()
    at.selectbox(key="lang_select").set_value("ja").run()
    assert at.title[0].value == "比較"
    at.switch_page("pages/report.py")
    at.run()
    text = " ".join(m.value for m in at.markdown)
    assert "最も良いモデル" in text


def test_report_page_verdicts_and_downloads():
    at = start()
    at.switch_page("pages/report.py")
    at.run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "Best model on these faces: C · epoch 60." in text
    assert "scores the same-person pair higher" in text
    keys = {b.key for b in at.get("download_button")}
    assert keys == {"dl_html", "dl_csv", "dl_json", "dl_roc", "dl_png", "dl_svg", "dl_det_png", "dl_det_svg"}


def test_bad_model_beside_good_ones(tmp_path):
    at = start("pages/models.py")
    good = make_linear_onnx(tmp_path / "good.onnx", h=56, w=48).read_bytes()
    at.file_uploader(key="model_upload").set_value([
        ("good.onnx", good, "application/octet-stream"),
        ("broken.onnx", b"this is not onnx", "application/octet-stream"),
        ("notes.txt", b"hello", "text/plain"),
    ]).run()
    assert not at.exception
    errors = " ".join(e.value for e in at.error)
    assert "broken.onnx" in errors and "not a valid ONNX" in errors
    assert "good.onnx" not in errors and "sessions" not in errors  # no server path leaks
    assert any("notes.txt" in w.value for w in at.warning)
    run_compare(at)
    assert not at.exception
    assert len(roc_labels(at)) == 1 and any("Evaluated 1 model(s)" in s.value for s in at.success)
    # the refused model is not forgotten: Compare, the verdict and the JSON name it with its reason
    assert any("broken was not evaluated" in e.value and "not a valid ONNX" in e.value for e in at.error)
    at.switch_page("pages/report.py")
    at.run()
    text = " ".join(m.value for m in at.markdown)
    assert "Not compared, because they could not be evaluated: broken" in text
    ev = at.session_state["result"][1]
    from faceroc_core.report import to_dict

    assert [f["name"] for f in to_dict(ev)["failures"]] == ["broken"]


def test_faces_page_demo_summary_and_zip_with_unsafe_paths(tmp_path):
    at = start("pages/faces.py")
    assert any("200 images of 20 people" in s.value for s in at.success)
    buf = io.BytesIO()
    src = ROOT / "demo" / "orl_faces"
    with zipfile.ZipFile(buf, "w") as z:
        for k in (1, 2, 3):
            for p in sorted((src / f"s{k}").glob("*.pgm"))[:3]:
                z.writestr(f"faces/s{k}/{p.name}", p.read_bytes())
        z.writestr("../evil/s9/1.pgm", b"x")
        z.writestr("faces/s1/readme.txt", b"x")
    at.radio(key="faces_source").set_value("zip").run()
    at.file_uploader(key="faces_zip").set_value([("faces.zip", buf.getvalue(), "application/zip")]).run()
    assert not at.exception
    assert any("9 images of 3 people" in s.value for s in at.success)
    skipped = at.dataframe[-1].value
    reasons = dict(zip(skipped.iloc[:, 0], skipped.iloc[:, 1]))
    assert "unsafe path" in reasons["../evil/s9/1.pgm"]
    assert not (tmp_path / "evil").exists()


def test_each_session_has_its_own_folder(tmp_path):
    at1 = start("pages/models.py")
    at2 = start("pages/models.py")
    data = make_linear_onnx(tmp_path / "m.onnx").read_bytes()
    at1.file_uploader(key="model_upload").set_value([("m.onnx", data, "application/octet-stream")]).run()
    at2.file_uploader(key="model_upload").set_value([("m.onnx", data, "application/octet-stream")]).run()
    p1 = at1.session_state["models"][0].path
    p2 = at2.session_state["models"][0].path
    assert p1 != p2 and "m.onnx" not in p1
    assert at1.session_state["_workdir"] != at2.session_state["_workdir"]


def test_about_page_credits_orl():
    at = start("pages/about.py")
    assert any("Olivetti Research Laboratory" in i.value for i in at.info)
    at = start()
    at.selectbox(key="lang_select").set_value("ja").run()
    at.switch_page("pages/about.py")
    at.run()
    assert any("Olivetti Research Laboratory" in i.value and "厚意" in i.value for i in at.info)


def _zip_of(folder) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                z.writestr(f"photos/{p.relative_to(folder).as_posix()}", p.read_bytes())
    return buf.getvalue()


def test_alignment_is_suggested_for_photos_not_for_framed_faces_and_previewed(tmp_path):
    at = start("pages/faces.py")
    assert not any("look like photos" in w.value for w in at.warning)  # ORL: framed alike
    assert any("already framed" in c.value for c in at.caption)
    photos = make_raw_photos(tmp_path / "photos", n_ids=5)
    at.radio(key="faces_source").set_value("zip").run()
    at.file_uploader(key="faces_zip").set_value([("photos.zip", _zip_of(photos), "application/zip")]).run()
    assert not at.exception
    assert any("look like photos" in w.value for w in at.warning)
    at.toggle(key="align_all_toggle").set_value(True).run()
    assert at.session_state["align_all"] is True
    assert len(at.get("image")) >= 2  # before / after thumbnails
    at.switch_page("pages/models.py")
    at.run()
    assert not at.exception
    assert all(cb.value for cb in at.checkbox if cb.key.startswith("align_"))  # every model follows the switch
    assert sum("aligned (5 landmarks" in c.value for c in at.caption) == 3
    assert len(at.get("image")) == 3  # one "what the model sees" strip per model
    run_compare(at)
    assert not at.exception
    assert any("Evaluated 3 model(s)" in s.value for s in at.success)
    assert any("Faces were detected in 20 images" in c.value for c in at.caption)


def test_one_model_can_opt_out_of_alignment(tmp_path):
    at = start("pages/faces.py")
    at.toggle(key="align_all_toggle").set_value(True).run()
    at.switch_page("pages/models.py")
    at.run()
    first = at.session_state["models"][0]
    at.checkbox(key=f"align_{first.id}").uncheck().run()
    assert not at.exception
    models = at.session_state["models"]
    assert models[0].align is False and all(m.align is None for m in models[1:])
    captions = [c.value for c in at.caption if c.value.startswith("preprocessing:")]
    assert sum("aligned" in c for c in captions) == 2


def test_server_folders_only_under_a_data_root_that_holds_no_uploads(tmp_path, monkeypatch):
    monkeypatch.delenv("FACEROC_DATA_ROOT", raising=False)
    at = start("pages/faces.py")
    assert "path" not in at.radio(key="faces_source").options  # off unless the server says where
    # a root that holds the sessions' uploads would let one session open another's: still off
    monkeypatch.setenv("FACEROC_DATA_ROOT", str(tmp_path))
    at = start("pages/faces.py")
    assert "path" not in at.radio(key="faces_source").options
    data = tmp_path / "data"
    make_raw_photos(data / "photos", n_ids=2, per_id=2)
    monkeypatch.setenv("FACEROC_DATA_ROOT", str(data))
    at = start("pages/faces.py")
    at.radio(key="faces_source").set_value("path").run()
    at.text_input(key="faces_path").set_value(str(tmp_path / "sessions")).run()
    at.button(key="faces_use_path").click().run()
    assert any("limited to" in e.value for e in at.error)
    at.text_input(key="faces_path").set_value("photos").run()
    at.button(key="faces_use_path").click().run()
    assert not at.exception and any("4 images of 2 people" in s.value for s in at.success)


def test_same_names_markdown_names_removal_and_no_server_paths(tmp_path):
    at = start("pages/models.py")
    a = make_linear_onnx(tmp_path / "a.onnx", seed=1).read_bytes()
    b = make_linear_onnx(tmp_path / "b.onnx", seed=2).read_bytes()
    sneaky = "![x](javascript:alert(1)) **big**"
    at.file_uploader(key="model_upload").set_value([
        ("model.onnx", a, "application/octet-stream"), ("model.onnx", b, "application/octet-stream"),
        (f"{sneaky}.onnx", a, "application/octet-stream")]).run()
    assert not at.exception
    models = at.session_state["models"]
    assert [m.name for m in models] == ["model", "model (2)", sneaky]
    labels = [e.label for e in at.expander]
    assert not any("![x](" in lab for lab in labels) and any("\\!\\[x\\]" in lab for lab in labels)
    run_compare(at)
    ev = at.session_state["result"][1]
    by = {r.name: r for r in ev.models}
    assert by["model"].auc != by["model (2)"].auc or not np.array_equal(by["model"].roc.tpr, by["model (2)"].roc.tpr)
    from faceroc_core.report import metrics_csv, to_json

    sessions = str(tmp_path / "sessions")
    assert sessions not in to_json(ev) and sessions not in metrics_csv(ev)
    at.switch_page("pages/models.py")
    at.run()
    folder = Path(models[0].path).parent
    assert folder.is_dir()
    at.button(key=f"rm_{models[0].id}").click().run()
    assert not folder.exists() and len(at.session_state["models"]) == 2


def test_idle_session_folders_are_swept(tmp_path):
    import os
    import time

    at = start("pages/models.py")
    at.file_uploader(key="model_upload").set_value(
        [("m.onnx", make_linear_onnx(tmp_path / "m.onnx").read_bytes(), "application/octet-stream")]).run()
    old = Path(at.session_state["_workdir"])
    long_ago = time.time() - 7 * 3600
    os.utime(old, (long_ago, long_ago))
    fresh = start()  # another visitor arrives: the folder idle for 7 hours goes
    assert not old.exists() and fresh.session_state["_swept"] == 1


def test_uploads_past_the_session_quota_are_refused(tmp_path, monkeypatch):
    import ui.state

    at = start("pages/models.py")
    data = make_linear_onnx(tmp_path / "m.onnx").read_bytes()  # ~49 KB
    files = [(f"m{j}.onnx", data, "application/octet-stream") for j in range(5)]
    monkeypatch.setattr(ui.state, "QUOTA_BYTES", 4 * len(data) + 1000)  # four fit, five do not
    at.file_uploader(key="model_upload").set_value(files).run()
    assert not at.exception
    assert any("over its" in e.value and "limit" in e.value for e in at.error)
    assert at.session_state["demo_models"] and not any(m.filename.startswith("m") for m in at.session_state["models"])
    monkeypatch.setattr(ui.state, "QUOTA_BYTES", 6 * len(data))
    at2 = start("pages/models.py")
    at2.file_uploader(key="model_upload").set_value(files).run()
    assert len(at2.session_state["models"]) == 5 and not at2.error


def test_a_cancelled_comparison_waits_for_run():
    at = start()
    assert any("Evaluated 3 model(s)" in s.value for s in at.success)
    at.session_state["cancelled"] = True  # as the Cancel button's callback leaves it
    at.session_state["result"] = None
    at.run()
    assert any("was cancelled" in i.value for i in at.info) and not at.get("vega_lite_chart")
    at.button(key="run").click().run()
    assert not at.exception and any("Evaluated 3 model(s)" in s.value for s in at.success)
    assert "cancelled" not in at.session_state


def test_dashboard_failures_and_errors_never_show_server_folders(tmp_path):
    at = start("pages/models.py")
    good = make_linear_onnx(tmp_path / "good.onnx").read_bytes()
    at.file_uploader(key="model_upload").set_value([("good.onnx", good, "application/octet-stream"),
                                                   ("other.onnx", good, "application/octet-stream")]).run()
    other = at.session_state["models"][1]
    at.text_input(key=f"crop_{other.id}").set_value("1,2").run()  # a malformed crop box fails that model alone
    run_compare(at)
    assert not at.exception and any("Evaluated 1 model(s)" in s.value for s in at.success)
    shown = " ".join(e.value for e in at.error)
    assert "other" in shown and "crop must be x0,y0,x1,y1" in shown
    assert str(tmp_path / "sessions") not in shown and "faceroc-sessions" not in shown
    # a faces folder that cannot be evaluated: its error names the upload, not the server folder
    at.switch_page("pages/faces.py")
    at.run()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("one/a_1.png", (ROOT / "demo" / "orl_faces" / "s1" / "1.pgm").read_bytes())
    at.radio(key="faces_source").set_value("zip").run()
    at.file_uploader(key="faces_zip").set_value([("one.zip", buf.getvalue(), "application/zip")]).run()
    errors = " ".join(e.value for e in at.error)
    assert errors and str(tmp_path / "sessions") not in errors


def test_demo_first_screen_reads_the_stored_result_without_running(monkeypatch):
    """`make run`'s set-up stores the demo's result; the first screen shows it and runs nothing."""
    import importlib.util

    import ui.runner

    spec = importlib.util.spec_from_file_location("precompute", ROOT / "demo" / "precompute.py")
    pre = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(pre)
    assert pre.main() == 0
    st.cache_data.clear()

    def no_run(*a, **k):
        raise AssertionError("the demo was computed again")

    monkeypatch.setattr(ui.runner, "run_job", no_run)
    at = start()
    assert len(roc_labels(at)) == 3 and any("Evaluated 3 model(s)" in s.value for s in at.success)
    # the set-up step stored the demo's run too: its link on Compare, and History has its training curve at once
    from faceroc_core.store import Store

    run_id = Store().list()[0]["id"]
    assert any(f"?run={run_id}" in c.value for c in at.caption) and at.query_params["run"] in (run_id, [run_id])
    at.switch_page("pages/history.py").run()
    assert not at.exception and "AUC and TAR over the training run" in json.dumps(chart_specs(at))
    # a result stored by other code (or for other files) is never read: the demo is computed instead
    monkeypatch.setattr(ui.runner, "_code_version", lambda: "another-version")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert at.exception and "computed again" in at.exception[0].value or any(
        "computed again" in e.value for e in at.error)


def test_new_data_waits_for_run_then_threshold_starts_at_the_new_best_eer(tmp_path):
    at = start()
    assert at.slider(key="threshold").value == round(at.session_state["result"][1].best().eer.threshold, 3)
    spec = next(s for s in chart_specs(at) if "ROC curves" in json.dumps(s.get("title", "")))
    assert '"type": "log"' in json.dumps(spec)  # the ROC opens on a log-FAR axis
    at.slider(key="threshold").set_value(0.2).run()
    at.switch_page("pages/models.py")
    at.run()
    at.file_uploader(key="model_upload").set_value(
        [("m.onnx", make_linear_onnx(tmp_path / "m.onnx").read_bytes(), "application/octet-stream")]).run()
    at.switch_page("pages/compare.py")
    at.run()
    assert any("Press “Run the comparison”" in i.value for i in at.info) and not at.get("vega_lite_chart")
    at.button(key="run").click().run()
    ev = at.session_state["result"][1]
    assert ev.models[0].name == "m" and not at.get("progress")  # progress bars gone once it is done
    assert at.slider(key="threshold").value == round(ev.best().eer.threshold, 3) != 0.2


def test_japanese_reaches_charts_and_the_distribution_panels_follow_the_table():
    at = start()
    at.selectbox(key="lang_select").set_value("ja").run()
    specs = chart_specs(at)
    assert any("ROC 曲線" in json.dumps(s, ensure_ascii=False) and "他人受入率" in json.dumps(s, ensure_ascii=False)
               for s in specs)
    dist = next(s for s in specs if "vconcat" in s and "コサイン類似度" in json.dumps(s, ensure_ascii=False))
    ranked = [r.name for r in at.session_state["result"][1].ranked()]
    # one panel per model, in the table's order, each with its own y-scale
    assert [p["title"]["text"].split(" (AUC")[0] for p in dist["vconcat"]] == ranked
    assert dist["resolve"]["scale"]["y"] == "independent"


def test_why_models_fail_pairs_people_det_and_a_planted_label_problem():
    at = start()
    assert any(s.value == "Where the models go wrong" for s in at.subheader)
    assert len(at.get("image")) >= 12  # 6 false-accept and 6 false-reject pairs, faces side by side
    people = next(d.value for d in at.dataframe if "person" in d.value.columns)
    assert len(people) == 20
    rejects = people["false rejects at the threshold"].tolist()
    assert rejects == sorted(rejects, reverse=True)  # hardest first
    ev = at.session_state["result"][1]
    assert [(d.first, d.second) for d in ev.disagreements] == [("C · epoch 60", "B · epoch 18 (.pth)"),
                                                               ("C · epoch 60", "A · epoch 6")]
    assert sum("Where C · epoch 60 and" in e.label for e in at.expander) == 2
    d = ev.disagreements[0]
    for p in d.pairs:  # each pair really is decided differently by the two models
        assert (p.score >= d.thresholds[0]) != (dict(p.others)[d.second] >= d.thresholds[1])
    at.segmented_control(key="curve_kind").set_value("DET").run()
    assert any("DET curves" in json.dumps(s.get("title", "")) for s in chart_specs(at))
    # one person filed under two names: the test-set check names them
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for k in range(21, 31):
            for f in sorted((ROOT / "demo" / "orl_faces" / f"s{k}").glob("*.pgm")):
                z.writestr(f"faces/s{k}/{f.name}", f.read_bytes())
                if k == 21:
                    z.writestr(f"faces/s21_again/{f.name}", f.read_bytes())
    at.switch_page("pages/faces.py")
    at.run()
    at.radio(key="faces_source").set_value("zip").run()
    at.file_uploader(key="faces_zip").set_value([("faces.zip", buf.getvalue(), "application/zip")]).run()
    run_compare(at)
    assert any("likely problem(s) in the test set" in w.value for w in at.warning)
    text = " ".join(m.value for m in at.markdown)
    assert "One person under two names" in text and "s21 / s21\\_again" in text
    # one click merges the two names and runs again (from the cache): the problem is gone, the files unchanged
    fix = next(b for b in at.button if b.key.startswith("fix_") and b.label == "Merge these two names")
    fix.click().run()
    assert not at.exception
    assert any("1 pair(s) of names merged" in i.value for i in at.info)
    assert "One person under two names" not in " ".join(m.value for m in at.markdown)
    assert at.session_state["faces"].merge == (("s21_again", "s21"),)
    people = next(d.value for d in at.dataframe if "person" in d.value.columns)
    assert "s21_again" not in set(people["person"]) and int(people.set_index("person").loc["s21", "images"]) == 20
    at.button(key="health_undo").click().run()
    assert at.session_state["faces"].merge == () and "One person under two names" in " ".join(
        m.value for m in at.markdown)


def test_groups_csv_on_faces_gives_results_per_group_on_compare():
    at = start("pages/faces.py")
    csv = "identity,shelf\n" + "".join(f"s{k},{'low' if k < 31 else 'high'}\n" for k in range(21, 41)) + "s99,x\n"
    at.file_uploader(key="groups_upload").set_value([("groups.csv", csv.encode(), "text/csv")]).run()
    assert not at.exception
    assert any("Groups from “groups.csv”: shelf (3)" in s.value for s in at.success)
    assert any("1 identity(ies) in the CSV are not in these faces" in c.value for c in at.caption)
    at.file_uploader(key="groups_upload").set_value([("bad.csv", b"name,x\na,b\n", "text/csv")]).run()
    assert any("bad.csv" in e.value and "header must start with identity" in e.value for e in at.error)
    run_compare(at)
    if any("changed since the last run" in w.value for w in at.warning):
        at.button(key="run").click().run()
    table = next(d.value for d in at.dataframe if "group" in d.value.columns)
    assert set(table["group"]) == {"low", "high"} and len(table) == 6  # 3 models x 2 groups
    assert (table["people"] == 10).all()
    assert any("rate at the global threshold" in json.dumps(s) for s in chart_specs(at))


def test_dashboard_shows_the_cli_numbers_for_the_same_run(tmp_path):
    """The demo on the dashboard and `python -m faceroc_core evaluate --config demo/demo.toml`: one pipeline, the
    same AUC, interval, EER, TAR@FAR and confusion matrix at a threshold."""
    import json

    from faceroc_core.cli import main

    out, csv_out = tmp_path / "demo.json", tmp_path / "demo.csv"
    assert main(["evaluate", "--config", str(ROOT / "demo" / "demo.toml"), "--json", str(out), "--csv", str(csv_out),
                 "--threshold", "0.9", "--cache-dir", str(tmp_path / "c"), "-q"]) == 0
    cli = {m["name"]: m for m in json.loads(out.read_text())["models"]}
    at = start()
    df = at.dataframe[0].value
    for _, row in df.iterrows():
        m = cli[row.iloc[0]]
        assert row["AUC"] == m["auc"] and row["EER"] == m["eer"]
        assert row["TAR@FAR=0.001"] == m["tar_at_far"]["0.001"]
        iv = m["auc_interval"]
        assert row.iloc[2] == f"{iv['low']:.3f} – {iv['high']:.3f}"
    at.slider(key="threshold").set_value(0.9).run()
    import pandas as pd

    rows = pd.read_csv(csv_out)
    shown = [tb.value for tb in at.table]
    for name, tb in zip(df.iloc[:, 0], shown):
        r = rows[rows["model"] == name].iloc[0]
        assert tb.to_numpy().ravel().tolist() == [r["tp"], r["fn"], r["fp"], r["tn"]]  # accepted / rejected


def test_a_gallery_on_faces_gives_cmc_and_fnir_on_compare_and_report():
    at = start("pages/faces.py")
    at.radio(key="ident_mode").set_value("auto").run()
    assert not at.exception
    run_compare(at)
    if any("changed since the last run" in w.value for w in at.warning):
        at.button(key="run").click().run()
    assert any("Identification (1:N)" in s.value for s in at.subheader)
    lines = [m.value for m in at.markdown if "rank-1" in m.value]
    assert len(lines) == 3 and all("18 people enrolled" in x and "20 non-mated" in x for x in lines)
    specs = json.dumps(chart_specs(at))
    assert "CMC curves" in specs and "FPIR" in specs
    at.switch_page("pages/report.py").run()
    assert not at.exception and any("rank-1" in m.value for m in at.markdown)


def test_a_bin_upload_on_faces_gives_the_ten_fold_accuracy_on_compare(tmp_path):
    import pickle

    from helpers import make_faces

    root = make_faces(tmp_path / "f", n_ids=6, per_id=4, size=112)
    files = sorted(root.rglob("*.png"))
    rng = np.random.default_rng(0)
    bins, same = [], []
    for k in range(40):
        a, b = rng.choice(len(files), 2, replace=False)
        if k % 2 == 0:  # a same-person pair: two photos of one folder
            folder = files[a].parent
            a, b = (files.index(p) for p in sorted(folder.iterdir())[:2])
        bins += [files[a].read_bytes(), files[b].read_bytes()]
        same.append(files[a].parent == files[b].parent)
    data = pickle.dumps((bins, same))
    at = start("pages/faces.py")
    at.radio(key="faces_source").set_value("bin").run()
    at.file_uploader(key="faces_bin").set_value([("val.bin", data, "application/octet-stream")]).run()
    assert not at.exception and not at.error
    assert any("80 images" in s.value for s in at.success)
    run_compare(at)
    if any("changed since the last run" in w.value for w in at.warning):
        at.button(key="run").click().run()
    assert any("10-fold accuracy" in s.value for s in at.subheader)
    assert sum("(10 folds)" in m.value for m in at.markdown) == 3
    at.switch_page("pages/faces.py").run()
    at.file_uploader(key="faces_bin").set_value([("evil.bin", pickle.dumps(eval), "application/octet-stream")]).run()
    assert any("evil.bin" in e.value and "refused without running it" in e.value for e in at.error)


def test_each_model_at_its_own_threshold_and_a_threshold_chosen_on_other_people():
    at = start()
    run_compare(at)
    assert any("each model at its own threshold" in s.value for s in at.subheader)
    table = next(d.value for d in at.dataframe if "its threshold" in d.value.columns)
    assert len(table) == 3 and table["its threshold"].notna().all()
    assert "FMR and FNMR against the threshold" in json.dumps(chart_specs(at))
    at.toggle(key="dev_split").set_value(True).run()
    if any("changed since the last run" in w.value for w in at.warning) or any(
            "Press “Run the comparison”" in i.value for i in at.info):
        at.button(key="run").click().run()
    assert not at.exception
    table = next(d.value for d in at.dataframe if "its threshold" in d.value.columns)
    assert "FAR on the rest (95%)" in table.columns and "threshold set on other people" in table.columns
    at.switch_page("pages/report.py").run()
    assert not at.exception
    assert "dl_thresholds" in {b.key for b in at.get("download_button")}
    assert any("Set on 10 other people" in m.value for m in at.markdown)


def test_history_lists_the_run_its_leaderboard_and_training_curve_and_a_link_opens_it(monkeypatch):
    monkeypatch.delenv("FACEROC_HISTORY", raising=False)  # private: a session sees its own runs
    at = start()
    run_compare(at)
    at.switch_page("pages/history.py").run()
    assert not at.exception
    runs = next(d.value for d in at.dataframe if "link" in d.value.columns)
    assert len(runs) >= 1 and all(x.startswith("?run=") for x in runs["link"])
    board = next(d.value for d in at.dataframe if "epoch" in d.value.columns)
    assert list(board["model"]) == ["C · epoch 60", "B · epoch 18 (.pth)", "A · epoch 6"]
    assert list(board["epoch"]) == [60, 18, 6]
    assert any("The training run as a curve" in s.value for s in at.subheader)
    assert "AUC and TAR over the training run" in json.dumps(chart_specs(at))
    assert "AUC 95%" in board.columns and board["AUC 95%"].str.contains("–").all()  # intervals over people
    assert len(at.multiselect(key="board_pick").value) == 3 and "ROC curves" in json.dumps(chart_specs(at))
    at.segmented_control(key="board_curve").set_value("DET").run()
    assert "DET curves" in json.dumps(chart_specs(at))
    run_id = runs["link"][0].removeprefix("?run=")
    other = AppTest.from_file(APP, default_timeout=TIMEOUT)  # someone else, with the link
    other.query_params["run"] = run_id
    other.run()
    assert not other.exception  # the link opens Compare with the stored run, read-only
    assert any("A stored run, read-only" in i.value for i in other.info)
    table = next(d.value for d in other.dataframe if "AUC" in d.value.columns)
    assert list(table.iloc[:, 0].astype(str).str.contains("epoch 60")) [0] and len(table) == 3
    specs = json.dumps(chart_specs(other))
    assert "True accept rate (TAR)" in specs and "cosine similarity" in specs  # the ROC and the score distributions
    other.switch_page("pages/report.py").run()
    assert not other.exception
    assert {"dl_html", "dl_csv", "dl_json"} <= {b.key for b in other.get("download_button")}
    assert len([c for c in other.markdown if c.value.startswith("#### ")]) == 3  # a verdict per model
    other.switch_page("pages/history.py").run()
    assert any(run_id[:8] in json.dumps(d.value.to_dict()) for d in other.dataframe)  # now in its own list
    other.selectbox(key="rm_pick").set_value(run_id).run()
    other.button(key="rm_run").click().run()  # removed: gone from the list, and its link opens nothing
    assert not other.exception and not any(run_id[:8] in json.dumps(d.value.to_dict()) for d in other.dataframe)
    late = AppTest.from_file(APP, default_timeout=TIMEOUT)
    late.query_params["run"] = run_id
    late.run()
    assert any("could not be opened" in e.value and "no run" in e.value for e in late.error)
    bogus = AppTest.from_file(APP, default_timeout=TIMEOUT)
    bogus.query_params["run"] = "0" * 31 + "z"
    bogus.run()
    assert not bogus.exception and any("could not be opened" in e.value for e in bogus.error)
    stranger = AppTest.from_file(APP, default_timeout=TIMEOUT)  # no link: another session sees only its own runs
    stranger.run()
    stranger.switch_page("pages/history.py").run()
    theirs = next(d.value for d in stranger.dataframe if "link" in d.value.columns)
    assert not set(theirs["link"]) & set(runs["link"])


def test_a_comparison_waits_for_a_free_slot_and_then_runs():
    from ui.runner import run_queue

    queue = run_queue()  # the server's one line (the same object the pages use)
    held = [queue.ticket() for _ in range(queue.slots)]  # every slot taken by other people's comparisons
    assert all(t.admitted(timeout=0) for t in held)
    waited = queue.waited
    timer = threading.Timer(3.0, lambda: [t.release() for t in held])
    timer.start()
    try:
        at = run_compare(start())
    finally:
        timer.cancel()
        for t in held:
            t.release()
    assert not at.exception and queue.waited == waited + 1  # it stood in line, then ran
    assert at.get("vega_lite_chart") and queue.running == 0
