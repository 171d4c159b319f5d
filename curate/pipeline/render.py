"""``dvc.yaml`` rendered from the registered stages' specs (no stage is written by hand)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from curate import layout
from curate.pipeline import registry
from curate.pipeline.stage import Stage, params_file

HEADER = (
    "# The curation pipeline, written by `curate init` from the stages' specs (each stage\n"
    "# module declares what it reads and writes); settings live in params.yaml and\n"
    "# configs/*.yaml.\n"
)


def _params(keys: Sequence[str]) -> list[Any]:
    out: list[Any] = []
    by_file: dict[str, list[str]] = {}
    for key in keys:
        file = params_file(key)
        if file == "params.yaml":
            out.append(key)
        else:
            if file not in by_file:
                by_file[file] = []
                out.append({file: by_file[file]})
            by_file[file].append(key)
    return out


def _uniq(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(items))


def stage_entry(stage: Stage, modality: str, ingest_deps: Sequence[str]) -> dict[str, Any]:
    """One stage of dvc.yaml. The queue and report stages also depend on what every check's
    findings and report section read."""
    deps = stage.deps_for(modality)
    if stage.name == "ingest":
        deps = list(ingest_deps) + deps
    elif stage.name == "queue":
        deps += [d for s in registry.stages() if s.review_kinds for d in s.findings_deps()]
    elif stage.name == "report":
        deps += [d for s in registry.stages() for d in s.report_reads]
        deps += [path for s in registry.stages() for path, _ in s.counts.values()]
    entry: dict[str, Any] = {"cmd": f"curate {stage.name}"}
    if deps:
        entry["deps"] = _uniq(deps)
    params = stage.params_read()
    if params:
        entry["params"] = _params(params)
    outs = stage.outs_for(modality)
    if outs:
        # The report is rewritten on every run and small: kept out of the DVC cache.
        entry["outs"] = [{o: {"cache": False}} if o == layout.REPORT else o for o in outs]
    if stage.metrics:
        entry["metrics"] = [{m: {"cache": False}} for m in stage.metrics]
    if stage.plots:
        entry["plots"] = [dict(p) for p in stage.plots]
    return entry


def render_dvc_yaml(ingest_deps: Sequence[str], modality: str = "text") -> str:
    """The pipeline for a workspace whose ingest stage reads ``ingest_deps``."""
    stages = {s.name: stage_entry(s, modality, ingest_deps) for s in registry.stages()}
    return HEADER + yaml.safe_dump({"stages": stages}, sort_keys=False)
