"""Review loop, pure parts: queue, Label Studio formats, corrections log, resolution, apply."""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest

from curate.config import ReviewConfig
from curate.review import tasks
from curate.review.apply import apply_decisions
from curate.review.corrections import CorrectionsLog, resolve
from curate.review.queue import Findings, build_queue

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def manifest(n=6, pool=(5,)):
    ids = [f"s{i}" for i in range(n)]
    return pa.table(
        {
            "sample_id": ids,
            "content_hash": ids,
            "input": [f"text {i}" for i in range(n)],
            "label": [None if i in pool else ("a" if i % 2 else "b") for i in range(n)],
            "split": ["unlabeled" if i in pool else "train" for i in range(n)],
        }
    )


# -- queue -------------------------------------------------------------------------------------
def test_queue_priority_is_the_documented_weighted_sum_and_merges_kinds() -> None:
    m = manifest()
    findings = [
        Findings("label_issue", ["s1", "s2"], [0.1, 0.5], ["model says b", "model says a"]),
        Findings("outlier", ["s1", "s3"], [0.2, 0.0], ["odd", "very odd"]),
    ]
    cfg = ReviewConfig(weights={"label_issue": 1.0, "outlier": 0.5})
    table, summary = build_queue(m, {"s1": ("b", 0.9)}, findings, cfg)
    rows = {r["sample_id"]: r for r in table.to_pylist()}
    assert rows["s1"]["priority"] == pytest.approx(1.0 * 0.9 + 0.5 * 0.8)
    assert rows["s1"]["kinds"] == ["label_issue", "outlier"] and rows["s1"]["kind"] == "label_issue"
    assert rows["s1"]["reasons"] == "model says b; odd"
    assert rows["s1"]["suggested_label"] == "b" and rows["s1"]["given_label"] == "a"
    assert rows["s3"]["priority"] == pytest.approx(0.5) and rows["s3"]["kind"] == "outlier"
    assert table.column("sample_id").to_pylist() == ["s1", "s2", "s3"]  # 1.3, 0.5, 0.5 (by id)
    assert table.column("rank").to_pylist() == [1, 2, 3]
    assert summary["flagged"]["label_issue"] == 2


def test_queue_budget_quotas_and_decided_samples() -> None:
    m = manifest(10, pool=())
    ids = [f"s{i}" for i in range(10)]
    findings = [
        Findings("outlier", ids[:6], [0.0] * 6, ["o"] * 6),
        Findings("label_issue", ids[6:], [0.5] * 4, ["l"] * 4),
    ]
    cfg = ReviewConfig(max_items=5, quotas={"outlier": 2}, weights={"outlier": 1.0})
    table, summary = build_queue(m, {}, findings, cfg, decided=["s0"])
    kinds = table.column("kind").to_pylist()
    assert table.num_rows == 5 and kinds.count("outlier") == 2
    assert "s0" not in table.column("sample_id").to_pylist()
    assert summary["already_decided"] == 1 and summary["left_out_by_budget"] == 9 - 5


# -- Label Studio formats ----------------------------------------------------------------------
@pytest.mark.parametrize("modality", ["text", "image"])
def test_labeling_config_escapes_class_names(modality) -> None:
    classes = ["R&D <internal>", 'say "hi"', "it's", "plain"]
    root = ET.fromstring(tasks.labeling_config(modality, classes))
    label = root.find(".//Choices[@name='label']")
    assert [c.get("value") for c in label.findall("Choice")] == classes
    assert (
        root.find(f".//{'Image' if modality == 'image' else 'Text'}[@name='{modality}']")
        is not None
    )
    assert root.find(".//Choices[@name='action']/Choice").get("alias") == "remove"


def test_task_carries_data_fields_and_prediction() -> None:
    item = {"sample_id": "s1", "kind": "label_issue", "kinds": ["label_issue"], "reasons": "r",
            "priority": 0.7, "given_label": "a", "split": "train", "suggested_label": "R&D <x>",
            "suggested_confidence": 0.9}  # fmt: skip
    task = tasks.task_for(item, "text", "hello", "curate")
    assert task["data"]["text"] == "hello" and task["data"]["priority"] == 0.7
    prediction = task["predictions"][0]
    assert prediction["model_version"] == "curate" and prediction["score"] == 0.9
    assert prediction["result"][0]["value"]["choices"] == ["R&D <x>"]


def choice(control, value):
    return {"from_name": control, "to_name": "text", "type": "choices",
            "value": {"choices": [value]}}  # fmt: skip


@pytest.mark.parametrize(
    ("result", "given", "cancelled", "expected"),
    [
        ([choice("label", "a")], "a", False, ("keep", None)),
        ([choice("label", "b")], "a", False, ("relabel", "b")),
        ([choice("label", "b")], None, False, ("relabel", "b")),
        ([choice("label", "a"), choice("action", "remove")], "a", False, ("remove", None)),
        ([], "a", False, ("keep", None)),
        ([], None, False, ("skip", None)),
        ([choice("label", "b")], "a", True, ("skip", None)),
    ],
)
def test_annotation_to_decision(result, given, cancelled, expected) -> None:
    annotation = {"result": result, "was_cancelled": cancelled}
    assert tasks.decision_of(annotation, given) == expected


# -- corrections log ---------------------------------------------------------------------------
def row(annotation_id, sample_id, decision="keep", label=None, who="a@x", minutes=0,
        ground_truth=False, given="a"):  # fmt: skip
    annotation = {
        "id": annotation_id,
        "completed_by": {"id": sum(map(ord, who)), "email": who},
        "updated_at": (T0 + timedelta(minutes=minutes)).isoformat(),
        "ground_truth": ground_truth,
        "result": (
            [choice("action", "remove")]
            if decision == "remove"
            else [choice("label", label or "a")]
        ),
    }
    task = {"id": 100 + annotation_id, "data": {"sample_id": sample_id, "given_label": given,
                                                 "kind": "label_issue"}}  # fmt: skip
    return tasks.correction_row(annotation, task, 1, "test")


def test_log_appends_once_and_records_supersession(tmp_path) -> None:
    log = CorrectionsLog(tmp_path / "log")
    first = log.append([row(1, "s1", "relabel", "b"), row(2, "s2")])
    again = CorrectionsLog(tmp_path / "log").append([row(1, "s1", "relabel", "b")])  # new process
    updated = log.append([row(1, "s1", "relabel", "c", minutes=5)])
    assert (first.added, again.added, again.already_logged) == (2, 0, 1)
    assert updated.superseding == 1
    table = log.read()
    assert table.num_rows == 3
    newest = table.to_pylist()[-1]
    assert newest["new_label"] == "c" and newest["supersedes"] == row(1, "s1")["entry_id"]
    (decision,) = [d for d in resolve(table) if d.sample_id == "s1"]
    assert (decision.decision, decision.new_label) == ("relabel", "c")


def test_log_concurrent_appends_lose_and_duplicate_nothing(tmp_path) -> None:
    log = CorrectionsLog(tmp_path / "log")
    rows = [row(i, f"s{i}") for i in range(200)]

    def worker(part):
        other = CorrectionsLog(tmp_path / "log")  # separate instances: the file lock matters
        for r in part:
            other.append([r])
            log.append([r])  # the same row again through a second writer

    threads = [threading.Thread(target=worker, args=(rows[i::8],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    table = log.read()
    assert table.num_rows == 200
    assert sorted(table.column("annotation_id").to_pylist()) == list(range(200))
    import pyarrow.parquet as pq

    on_disk = sum(pq.read_table(p).num_rows for p in log.parts())
    assert on_disk == 200  # not just deduplicated on read: never written twice


def test_resolution_rule_majority_ties_and_ground_truth() -> None:
    rows = [
        # s1: two annotators say relabel to b, one says keep -> relabel b
        row(1, "s1", "relabel", "b", who="a@x"), row(2, "s1", "relabel", "b", who="b@x"),
        row(3, "s1", "keep", who="c@x"),
        # s2: one each -> conflict, nothing applied
        row(4, "s2", "remove", who="a@x"), row(5, "s2", "keep", who="b@x"),
        # s3: the same annotator twice: only their latest counts
        row(6, "s3", "remove", who="a@x"), row(7, "s3", "keep", who="a@x", minutes=3),
        # s4: ground truth beats the majority
        row(8, "s4", "keep", who="a@x"), row(9, "s4", "keep", who="b@x"),
        row(10, "s4", "relabel", "b", who="c@x", ground_truth=True),
    ]  # fmt: skip
    log = pa.Table.from_pylist(
        [{**r, "supersedes": None, "logged_at": T0} for r in rows],
        schema=__import__("curate.review.corrections", fromlist=["SCHEMA"]).SCHEMA,
    )
    out = {d.sample_id: d for d in resolve(log)}
    assert (out["s1"].decision, out["s1"].new_label, out["s1"].votes) == (
        "relabel", "b", {"keep": 1, "relabel:b": 2})  # fmt: skip
    assert out["s2"].status == "conflict" and out["s2"].decision is None
    assert out["s3"].decision == "keep" and out["s3"].annotators == ("a@x",)
    assert (out["s4"].decision, out["s4"].new_label) == ("relabel", "b")


def test_apply_writes_the_next_version_and_loses_nothing(tmp_path) -> None:
    log = CorrectionsLog(tmp_path / "log")
    log.append([
        row(1, "s1", "relabel", "b"), row(2, "s2", "remove"), row(3, "s3", "keep"),
        row(4, "s5", "relabel", "a", given=None), row(5, "s4", "relabel", "zzz"),
        row(6, "gone", "keep"),
        row(7, "s0", "remove", who="a@x"), row(8, "s0", "keep", who="b@x", given="b"),
    ])  # fmt: skip
    src = manifest()
    out = apply_decisions(src, resolve(log.read()), ["a", "b"])
    m = {r["sample_id"]: r for r in out.manifest.to_pylist()}
    assert m["s1"]["label"] == "b"
    assert "s2" not in m and out.removed.column("sample_id").to_pylist() == ["s2"]
    assert "removed in review by a@x" in out.removed.column("removal_reason")[0].as_py()
    assert out.removed.column("label").to_pylist() == ["b"]  # the row as it was
    assert (m["s5"]["label"], m["s5"]["split"]) == ("a", "train")  # labelled from the pool
    assert m["s4"]["label"] == "b"  # 'zzz' is not a class: rejected
    assert m["s0"]["label"] == "b"  # annotators tied: unchanged
    log_ = out.changelog
    assert [x["sample_id"] for x in log_["relabelled"]["items"]] == ["s1"]
    assert log_["removed"]["items"] == ["s2"] and log_["kept"]["items"] == ["s3"]
    assert log_["labelled_from_pool"]["items"][0]["sample_id"] == "s5"
    assert log_["rejected"]["count"] == 1 and log_["unknown_samples"]["items"] == ["gone"]
    assert log_["conflicts"]["items"][0]["sample_id"] == "s0"
    assert out.manifest.num_rows + out.removed.num_rows == src.num_rows
    assert out.manifest.schema == src.schema


def test_damaged_log_part_or_push_record_is_a_clear_error(tmp_path) -> None:
    from curate.errors import DataError, ReviewError
    from curate.review.sync import PushState

    log = CorrectionsLog(tmp_path / "log")
    log.append([row(1, "s1")])
    (tmp_path / "log" / "part-99999999999999999999-1-deadbeef.parquet").write_bytes(b"PAR1 junk")
    with pytest.raises(DataError, match="part of the corrections log.*Restore it from git"):
        log.read()
    state = tmp_path / "push_state.json"
    state.write_text('{"url": "http://x", "pushed": []}')
    with pytest.raises(ReviewError, match="not a valid push record.*Delete it"):
        PushState.load(state)
