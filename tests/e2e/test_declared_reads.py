"""Every stage reads only what its dvc.yaml entry declares: artifacts in ``deps`` and config in
``params``. An undeclared read means DVC serves a stale artifact when that input changes."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from curate.pipeline import registry
from curate.pipeline.render import stage_entry
from curate.scaffold.infer import data_dependencies, infer_data_spec
from curate.scaffold.workspace import init_workspace
from tests.reads import covered, recording

pytestmark = pytest.mark.e2e

WORDS = {
    "food": "pasta bread cheese soup salad cook taste dinner".split(),
    "sport": "goal match team score player coach league win".split(),
    "tech": "laptop phone code server cloud chip screen app".split(),
}


def _text_rows() -> str:
    import random

    rng = random.Random(0)
    lines = ["id,text,label,split"]
    for i in range(120):
        label = sorted(WORDS)[i % 3]
        words = [*rng.sample(WORDS[label], 4), f"w{i}"]
        split = "test" if i % 6 == 0 else "train"
        shown = "" if i % 10 == 5 else label  # a small unlabelled pool
        lines.append(f"t{i:04d},{' '.join(words)},{shown},{split}")
    lines.append(f"t9000,{lines[1].split(',')[1]},food,train")  # an exact copy
    return "\n".join(lines) + "\n"


def _tabular_rows() -> str:
    import random

    rng = random.Random(0)
    lines = ["id,a,b,c,label,split"]
    for i in range(120):
        label = i % 3
        split = "test" if i % 5 == 0 else "train"
        shown = "" if i % 10 == 7 else str(label)
        lines.append(f"r{i:04d},{label + rng.random():.4f},{rng.random():.4f},"
                     f"{rng.random():.3f},{shown},{split}")  # fmt: skip
    return "\n".join(lines) + "\n"


def declared(stage, modality: str, ingest_deps: list[str]) -> tuple[list[str], list[str]]:
    """The artifacts and config keys a stage's dvc.yaml entry declares (its outs included:
    a stage may read back what it wrote)."""
    entry = stage_entry(stage, modality, ingest_deps)
    files = list(entry.get("deps", []))
    for kind in ("outs", "metrics", "plots"):
        for item in entry.get(kind, []):
            files += list(item) if isinstance(item, dict) else [item]
    keys: list[str] = []
    for item in entry.get("params", []):
        if isinstance(item, dict):
            for names in item.values():
                keys += names
        else:
            keys.append(item)
    return files, keys


def run_recorded(root: Path, stage) -> tuple[set[str], set[str]]:
    module = importlib.import_module(type(stage).__module__)
    extra = registry.config_sections()
    with recording(root, [module], extra) as reads:
        stage.run(root)
    return reads.files, reads.keys


def undeclared(root: Path, stage, modality: str, ingest_deps: list[str]) -> list[str]:
    files, keys = run_recorded(root, stage)
    ok_files, ok_keys = declared(stage, modality, ingest_deps)
    bad = [f"file {f}" for f in sorted(files) if not covered(f, ok_files)]
    # `compute` says where a stage runs, not what it computes (both backends write the same
    # artifacts, tests/ray/): switching it must not re-run the pipeline, so it is no param.
    keys = {k for k in keys if not k.startswith("compute.")}
    bad += [f"config {k}" for k in sorted(keys) if not covered(k, ok_keys)]
    return bad


@pytest.fixture(scope="module", params=["text", "tabular"])
def workspace(request, tmp_path_factory):
    """A small workspace of each kind with every stage run once (in pipeline order), and what
    each stage read that it did not declare."""
    modality = request.param
    root = tmp_path_factory.mktemp(f"reads-{modality}")
    (root / "data.csv").write_text(_text_rows() if modality == "text" else _tabular_rows())
    feature = ["a", "b", "c"] if modality == "tabular" else []
    spec = infer_data_spec(root, [str(root / "data.csv")], feature_columns=feature)
    init_workspace(root, spec)
    embed = root / "configs" / "embed.yaml"
    embed.write_text(embed.read_text().replace("backend: auto", "backend: torch"))
    ingest_deps = data_dependencies(spec, root)
    found = {
        stage.name: undeclared(root, stage, modality, ingest_deps) for stage in registry.stages()
    }
    return root, modality, ingest_deps, found


def test_every_stage_reads_only_what_it_declares(workspace) -> None:
    root, modality, _, found = workspace
    assert set(found) >= {"ingest", "duplicates", "label", "queue", "report"}
    assert (root / "report" / "index.html").is_file()  # every stage ran
    assert {name: bad for name, bad in found.items() if bad} == {}


@pytest.mark.parametrize("workspace", ["text"], indirect=True)
def test_the_recorder_sees_an_undeclared_config_read(workspace, monkeypatch) -> None:
    """The duplicates stage as it was declared before (without the index settings it reads
    for text, where it builds a lexical graph): the recorder reports the index keys."""
    root, modality, ingest_deps, _ = workspace
    stage = registry.get("duplicates")
    monkeypatch.setattr(type(stage), "params", ("seed", "data.modality"))
    bad = undeclared(root, stage, modality, ingest_deps)
    assert bad and all(b.startswith("config index.") for b in bad), bad


def test_the_recorder_sees_an_undeclared_artifact_read(workspace, monkeypatch) -> None:
    """A stage that opens an artifact it does not declare (planted: the outliers stage also
    reads the label issues, through pyarrow and through open) is reported."""
    root, modality, ingest_deps, _ = workspace
    stage = registry.get("outliers")
    module = importlib.import_module(type(stage).__module__)
    original = module.run

    def planted(root_arg="."):
        import pyarrow.parquet as pq

        pq.read_table(Path(root_arg) / "issues" / "label.parquet")
        (Path(root_arg) / "issues" / "label_summary.json").read_text()
        return original(root_arg)

    monkeypatch.setattr(type(stage), "run", staticmethod(planted))
    bad = undeclared(root, stage, modality, ingest_deps)
    assert bad == ["file issues/label.parquet", "file issues/label_summary.json"], bad


def test_every_check_with_findings_shows_them_in_the_report(workspace) -> None:
    """Each stage whose findings reach the queue has a section on the page, and each stage's
    section is on it (drawn from the same artifacts the queue reads)."""
    from curate.config import load_config
    from curate.pipeline.stage import Context

    root, modality, _, _ = workspace
    page = (root / "report" / "index.html").read_text()
    ctx = Context(root=root, modality=modality, cfg=load_config(root))
    with_findings = [s for s in registry.stages() if any(f.sample_ids for f in s.findings(ctx))]
    assert {s.name for s in with_findings} >= {"duplicates", "outliers"}
    for stage in with_findings:
        section = stage.report_section(ctx)
        assert section, stage.name
        title = section.split("</h2>")[0].split("<h2>")[1].split(" (")[0]
        assert f"<h2>{title}" in page, stage.name
