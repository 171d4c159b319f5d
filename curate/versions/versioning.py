"""Dataset versions like code: tag a version, load one by git revision, diff two.

A version is the workspace's current manifest (``manifest/manifest.parquet``, the apply
stage's DVC output) at a git revision. :func:`tag_version` records one: it refuses when the
pipeline is not reproduced or files other than the pipeline's own outputs are uncommitted,
commits ``dvc.lock`` and the metrics, pushes the data to the DVC remote and creates the git
tag. :func:`load` reads a version through ``dvc.api`` (from this repository, another clone or a
repository URL) and checks the bytes against the md5 recorded in that revision's ``dvc.lock``.
:func:`diff_versions` compares two.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from curate import layout
from curate.errors import DataError, WorkspaceError


# -- reading a version ---------------------------------------------------------------------
def read_at_revision(path: str, repo: str | None, rev: str | None, mode: str = "rb"):
    """The bytes (or text, mode="r") of ``path`` at ``rev`` of ``repo``, through dvc.api."""
    import dvc.api

    try:
        with dvc.api.open(path, repo=repo, rev=rev, mode=mode) as handle:
            return handle.read()
    except Exception as exc:  # dvc raises many types: unknown rev, missing remote, no file
        name = type(exc).__name__
        where = f"{repo or '.'}@{rev or 'workspace'}"
        if "Rev" in name or "revision" in str(exc).lower() or "unknown" in str(exc).lower():
            raise DataError(
                f"revision {rev!r} not found in {repo or 'this repository'} ({name}). List the "
                "versions with `git tag` and pass one of them (or a commit) as rev."
            ) from None
        raise DataError(
            f"cannot read {path} at {where}: {name}: {' '.join(str(exc).split())[:300]}. If the "
            "data is not in the DVC remote, run `curate version tag` (which pushes it) or "
            "`dvc push` in the workspace that produced it."
        ) from None


def parquet_from_bytes(data: bytes, columns: Sequence[str] | None = None) -> pa.Table:
    """Read Parquet ``data`` from a copy that Arrow owns, never from a Python object.

    pyarrow's reader threads can drop the last reference to their input after the read has
    returned. When that input is a Python object (``bytes``, ``io.BytesIO``) and the
    interpreter is exiting meanwhile, the thread cannot take the GIL to free it and the whole
    process aborts (SIGABRT, "terminate called without an active exception"; apache/arrow
    issues 34314 and 49942), in about half of short scripts that load a version. A buffer
    allocated by Arrow is freed without Python, so reading from it cannot race the exit.
    """
    stream = pa.BufferOutputStream()
    stream.write(data)
    return pq.read_table(
        pa.BufferReader(stream.getvalue()), columns=list(columns) if columns else None
    )


def recorded_md5(path: str, repo: str | None, rev: str | None) -> str | None:
    """The md5 ``dvc.lock`` records for the output ``path`` at ``rev``."""
    lock = yaml.safe_load(read_at_revision("dvc.lock", repo, rev, mode="r")) or {}
    for stage in (lock.get("stages") or {}).values():
        for out in stage.get("outs") or []:
            if out.get("path") == path:
                return out.get("md5")
    return None


def load(
    repo: str | Path | None = None,
    rev: str | None = None,
    split: str | Sequence[str] | None = None,
    columns: Sequence[str] | None = None,
) -> pa.Table:
    """The dataset version at ``rev`` of ``repo`` (a path, a clone or a URL) as a pyarrow
    Table (``.to_pandas()`` for pandas), optionally one split (or several).

    The bytes are checked against the md5 recorded in that revision's ``dvc.lock``; a mismatch
    or a missing revision or remote is a :class:`~curate.errors.DataError`.
    """
    repo = None if repo is None else str(repo)
    data = read_at_revision(layout.MANIFEST, repo, rev)
    expected = recorded_md5(layout.MANIFEST, repo, rev)
    actual = hashlib.md5(data).hexdigest()
    if expected is None:
        raise DataError(
            f"{layout.MANIFEST} is not recorded in dvc.lock at {rev or 'the workspace'}; run "
            "`dvc repro` and commit dvc.lock (or `curate version tag`) first."
        )
    if actual != expected:
        raise DataError(
            f"{layout.MANIFEST} at {rev or 'the workspace'} has md5 {actual}, but dvc.lock "
            f"records {expected}: the data does not match its version. Run `dvc checkout` / "
            "`dvc pull` in the workspace, or re-tag the version."
        )
    table = parquet_from_bytes(data, columns)
    if split is not None:
        wanted = [split] if isinstance(split, str) else list(split)
        if "split" not in table.column_names:
            raise DataError("the manifest has no split column; read it without split=.")
        mask = pa.array([s in wanted for s in table.column("split").to_pylist()])
        table = table.filter(mask)
    return table


def _metrics(path: str, repo: str | None, rev: str | None) -> dict:
    try:
        return json.loads(read_at_revision(path, repo, rev, mode="r"))
    except DataError:
        return {}


# -- diff ----------------------------------------------------------------------------------
#: Evaluation metrics ``curate diff`` compares besides accuracy and macro-F1: the score without
#: the evaluation split's leaked rows (with its interval) and the share of the split leaked.
LEAK_ADJUSTED_KEYS = (
    "accuracy_without_leaks",
    "accuracy_without_leaks_ci_low",
    "accuracy_without_leaks_ci_high",
    "macro_f1_without_leaks",
    "accuracy_leaked",
    "leaked_rows",
    "leak_share",
)


def diff_versions(rev_a: str, rev_b: str, repo: str | Path | None = None) -> dict[str, Any]:
    """What changed from ``rev_a`` to ``rev_b``: samples added and removed, relabelled (from,
    to), moved between splits, the class distribution, issue counts, and the evaluation (raw
    accuracy and accuracy without the leaked evaluation rows, with the leak share)."""
    repo = None if repo is None else str(repo)
    a = {r["sample_id"]: r for r in load(repo, rev_a, columns=["sample_id", "label", "split"])
         .to_pylist()}  # fmt: skip
    b = {r["sample_id"]: r for r in load(repo, rev_b, columns=["sample_id", "label", "split"])
         .to_pylist()}  # fmt: skip
    common = sorted(a.keys() & b.keys())
    relabelled = [
        {"sample_id": s, "from": a[s]["label"], "to": b[s]["label"]}
        for s in common
        if a[s]["label"] != b[s]["label"]
    ]
    moved = [
        {"sample_id": s, "from": a[s]["split"], "to": b[s]["split"]}
        for s in common
        if a[s]["split"] != b[s]["split"]
    ]
    counts_a = Counter(r["label"] for r in a.values() if r["label"] is not None)
    counts_b = Counter(r["label"] for r in b.values() if r["label"] is not None)
    classes = sorted(counts_a.keys() | counts_b.keys())
    issues = {}
    from curate.pipeline import registry

    for name, (path, keys) in registry.counts().items():  # every stage's declared counts
        va, vb = _metrics(path, repo, rev_a), _metrics(path, repo, rev_b)
        for k in keys:
            va = va.get(k) if isinstance(va, dict) else None
            vb = vb.get(k) if isinstance(vb, dict) else None
        issues[name] = {"before": va, "after": vb}
    noise = _label_noise(_metrics(layout.LABEL_SUMMARY, repo, rev_a),
                         _metrics(layout.LABEL_SUMMARY, repo, rev_b))  # fmt: skip
    issues["label noise"] = {k: v["text"] if v else None for k, v in noise.items()}
    evaluation = None
    ea, eb = _metrics(layout.EVALUATION, repo, rev_a), _metrics(layout.EVALUATION, repo, rev_b)
    if ea.get("accuracy") is not None and eb.get("accuracy") is not None:
        change = eb["accuracy"] - ea["accuracy"]
        noise = max(ea["within_noise_below"], eb["within_noise_below"])
        evaluation = {
            "split": eb.get("split"),
            "accuracy": {"before": ea["accuracy"], "after": eb["accuracy"]},
            "macro_f1": {"before": ea["macro_f1"], "after": eb["macro_f1"]},
            "accuracy_change": change,
            "within_noise_below": noise,
            "verdict": "within noise"
            if abs(change) < noise
            else ("better" if change > 0 else "worse"),
            # The same model scored without the split's rows that duplicate train rows (None
            # for a version evaluated before the leak-adjusted score existed).
            **{key: {"before": ea.get(key), "after": eb.get(key)} for key in LEAK_ADJUSTED_KEYS},
        }
    return {
        "from": rev_a,
        "to": rev_b,
        "evaluation": evaluation,
        "rows": {"before": len(a), "after": len(b)},
        "added": sorted(b.keys() - a.keys()),
        "removed": sorted(a.keys() - b.keys()),
        "relabelled": relabelled,
        "moved": moved,
        "classes": {
            c: {"before": counts_a.get(c, 0), "after": counts_b.get(c, 0)}
            for c in classes
            if counts_a.get(c, 0) != counts_b.get(c, 0)
        },
        "issues": issues,
        "label_noise": noise,
    }


def _label_noise(before: dict, after: dict) -> dict[str, dict | None]:
    """The label-noise bracket (overall) of two label summaries: lower, upper and "between X%
    and Y%"; None for a summary without one."""
    from curate.checks.label import bracket_text

    out = {}
    for when, summary in (("before", before), ("after", after)):
        overall = (summary.get("noise_bracket") or {}).get("overall")
        text = bracket_text(overall)
        out[when] = None if text is None else {
            "lower": overall["lower"], "upper": overall["upper"], "text": text
        }  # fmt: skip
    return out


# -- tagging -------------------------------------------------------------------------------
def _git(root: Path, *args: str, what: str) -> str:
    from curate.scaffold.tools import run_tool

    return run_tool(["git", *args], root, what).stdout


def _pipeline_outputs(root: Path) -> set[str]:
    """Files the pipeline writes that git tracks: dvc.lock, the metrics (cache: false) and the
    .gitignore files DVC maintains next to its outputs."""
    spec = yaml.safe_load((root / "dvc.yaml").read_text()) or {}
    paths = {"dvc.lock"}
    for stage in (spec.get("stages") or {}).values():
        for entry in [*(stage.get("metrics") or []), *(stage.get("outs") or []),
                      *(stage.get("plots") or [])]:  # fmt: skip
            path = next(iter(entry)) if isinstance(entry, dict) else entry
            paths.add(str(path))
            paths.add(str(Path(path).parent / ".gitignore"))
    return paths


def _refuse_pending_decisions(root: Path) -> None:
    """Review decisions stored while a ``dvc repro`` held the corrections log wait outside it;
    publish them now (then ``dvc status`` shows ``apply`` as changed), or refuse while a run
    still holds the log. A version never claims to include a decision it lacks."""
    from curate.review.corrections import CorrectionsLog

    log = CorrectionsLog(root / layout.CORRECTIONS)
    if log.publish_pending():
        raise WorkspaceError(
            f"review decisions wait in {log.pending_dir} while a `dvc repro` runs apply; let it "
            "finish, run `dvc repro` again, then tag."
        )


def tag_version(root: str | Path, name: str, message: str | None = None) -> dict[str, Any]:
    """Record the workspace's current version as git tag ``name`` (see the module docstring)."""
    from curate.scaffold.tools import dvc_command, run_tool

    root = Path(root).resolve()
    if _git(root, "tag", "--list", name, what="list tags").strip():
        raise WorkspaceError(f"tag {name!r} already exists; choose another version name.")
    _refuse_pending_decisions(root)
    status = run_tool(dvc_command("status", "--json"), root, "check the pipeline").stdout
    stale = json.loads(status or "{}")
    if stale:
        raise WorkspaceError(
            f"the pipeline is not reproduced: {', '.join(sorted(stale))} changed. Run "
            "`dvc repro`, then tag again."
        )
    porcelain = _git(root, "status", "--porcelain", "--untracked-files=all", what="check git")
    changed = [line[3:].strip().strip('"') for line in porcelain.splitlines() if line.strip()]
    ours = _pipeline_outputs(root)
    foreign = [p for p in changed if p not in ours]
    if foreign:
        shown = ", ".join(foreign[:8]) + (" ..." if len(foreign) > 8 else "")
        raise WorkspaceError(
            f"uncommitted changes outside the pipeline's outputs: {shown}. Commit (or discard) "
            "them first, so the version records exactly what produced it."
        )
    if changed:
        run_tool(["git", "add", "--", *changed], root, "stage dvc.lock and the metrics")
        run_tool(
            ["git", "commit", "-q", "-m", message or f"curate version {name}"],
            root,
            "commit the version",
        )
    pushed = run_tool(dvc_command("push"), root, "push the data to the DVC remote").stdout
    run_tool(["git", "tag", "-a", name, "-m", message or f"curate version {name}"], root,
             "create the tag")  # fmt: skip
    commit = _git(root, "rev-parse", "HEAD", what="read the commit").strip()
    return {"tag": name, "commit": commit, "committed": changed,
            "dvc_push": " ".join(pushed.split())[-200:]}  # fmt: skip
