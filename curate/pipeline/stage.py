"""What a stage is: its name, what it reads and writes, and its ``run``; a check adds hooks.

A stage is a class with class attributes (the spec) and a ``run(root) -> dict`` method. Its
stage in ``dvc.yaml`` (deps, params, outs, metrics, plots), its CLI verb and its config section
all come from the spec. A :class:`Check` is a stage whose findings go to the review queue, the
report and ``curate diff``::

    class Toxicity(Check):
        name = "toxicity"
        help = "Stage: flag toxic texts."
        config = ToxicityConfig      # a dataclass: section `toxicity`, configs/toxicity.yaml
        deps = (layout.MANIFEST,)
        params = ("seed",)                   # besides its own section
        outs = ("issues/toxicity.parquet",)
        metrics = ("issues/toxicity_summary.json",)
        review_kinds = {"toxic": 0.5}        # review-queue kind -> default priority weight
        counts = {"toxic texts": ("issues/toxicity_summary.json", ("flagged",))}

        def run(self, root): ...
        def findings(self, ctx): return [Findings("toxic", ids, scores, reasons)]
        def report_section(self, ctx): return "<h2>Toxicity</h2>..."

Installed with an entry point in the ``curate.stages`` group it appears in ``curate init``'s
``dvc.yaml``, as a ``curate`` verb, in the review queue, the report and ``curate diff``.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from curate.config import Config
    from curate.review.queue import Findings

#: Where a config section lives: configs/<section>.yaml (``seed`` is in params.yaml).
PARAMS_FILE = "params.yaml"


def params_file(key: str) -> str:
    """The file holding a dotted config key: params.yaml for top-level values such as
    ``seed``, configs/<section>.yaml for a section or a key inside one."""
    section = key.split(".")[0]
    return PARAMS_FILE if section == "seed" else f"configs/{section}.yaml"


class Stage:
    """One stage of the pipeline. Subclasses set the class attributes and ``run``."""

    #: Stage name, its CLI verb (``curate <name>``) and its dvc.yaml key.
    name: ClassVar[str]
    #: One line for ``curate <name> --help``.
    help: ClassVar[str] = ""
    #: Position in dvc.yaml (DVC orders by the dependencies; this keeps the file readable).
    order: ClassVar[int] = 65
    #: Its config dataclass (defaults, comments, validation) and section name (default: name).
    config: ClassVar[type | None] = None
    section: ClassVar[str | None] = None
    #: Artifacts (workspace-relative files or folders) the stage reads.
    deps: ClassVar[tuple[str, ...]] = ()
    #: Config it reads besides its own section: ``seed``, a section (``index``) or a key
    #: (``data.modality``).
    params: ClassVar[tuple[str, ...]] = ()
    #: What it writes: DVC-cached outputs, metrics (JSON, not cached) and plots.
    outs: ClassVar[tuple[str, ...]] = ()
    metrics: ClassVar[tuple[str, ...]] = ()
    plots: ClassVar[tuple[dict[str, Any], ...]] = ()
    #: Review-queue kinds it reports through :meth:`findings`, with default priority weights.
    review_kinds: ClassVar[dict[str, float]] = {}
    #: Artifacts :meth:`findings` reads (the queue stage depends on them). Default: outs.
    findings_reads: ClassVar[tuple[str, ...] | None] = None
    #: Artifacts :meth:`report_section` reads (the report stage depends on them).
    report_reads: ClassVar[tuple[str, ...]] = ()
    #: Where its report section goes (default: ``order``).
    report_order: ClassVar[int | None] = None
    #: Counts shown in the report and compared by ``curate diff``: label -> (metrics file,
    #: keys into it).
    counts: ClassVar[dict[str, tuple[str, tuple[str, ...]]]] = {}

    @classmethod
    def section_name(cls) -> str | None:
        if cls.config is None:
            return None
        return cls.section or cls.name

    def deps_for(self, modality: str) -> list[str]:
        """Dependencies for data of ``modality`` (a stage may read more for some)."""
        return list(self.deps)

    def outs_for(self, modality: str) -> list[str]:
        return list(self.outs)

    def params_read(self) -> list[str]:
        """Every config key the stage reads: ``seed`` first, then its own section, then the
        rest in the order declared."""
        own = [self.section_name()] if self.section_name() else []
        keys = [k for k in self.params if k == "seed"] + own
        keys += [k for k in self.params if k != "seed" and k not in own]
        return keys

    def run(self, root: str | Path = ".") -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- hooks of a check (no-ops for a plain stage) --------------------------------------
    def findings(self, ctx: Context) -> list[Findings]:
        """Findings for the review queue (one :class:`curate.review.queue.Findings` per kind)."""
        return []

    def headlines(self, ctx: Context) -> list[Headline]:
        """The report's first screen: one sentence per finding that matters, with its number
        and what to do, ranked across all stages by ``impact``."""
        return []

    def report_section(self, ctx: Context) -> str | None:
        """An HTML fragment for the report (``<h2>`` title first); every value escaped with
        :func:`curate.report.page.esc`."""
        return None

    def findings_deps(self) -> list[str]:
        return list(self.outs if self.findings_reads is None else self.findings_reads)


@dataclass(frozen=True)
class Headline:
    """One finding for the top of the report. ``impact`` ranks findings across stages: about
    the share of the data (or of the evaluation split) it affects, above 1 for what
    invalidates the evaluation itself (leaked test rows). ``html`` is one escaped sentence."""

    impact: float
    html: str


class Check(Stage):
    """A stage that flags samples: its findings reach the review queue, its section the
    report and its counts ``curate diff``. Checks sit between predict and the analyses."""

    order: ClassVar[int] = 60


@dataclass
class Context:
    """What a hook may read: the workspace's artifacts by relative path (and its config,
    where the workspace has one)."""

    root: Path
    modality: str = "text"
    cfg: Config | None = None
    #: A sample's input as escaped HTML (an inline thumbnail for images); set by the report.
    show: Callable[[str], str] = str
    #: sample_id -> its manifest row (input, label, split); set by the report.
    samples: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: A sample id as escaped HTML, a link to its Label Studio task once the queue has been
    #: pushed; set by the report.
    link: Callable[[str], str] = field(default=lambda sid: html.escape(str(sid), quote=True))

    def path(self, relative: str) -> Path:
        return self.root / relative

    def exists(self, relative: str) -> bool:
        return self.path(relative).exists()

    def table(
        self, relative: str, produced_by: str, columns: Sequence[str] | None = None
    ) -> pa.Table:
        """A Parquet artifact; a clear error naming its stage when it is missing."""
        from curate.data.manifest import read_artifact

        return read_artifact(self.path(relative), produced_by, list(columns) if columns else None)

    def rows(self, relative: str, columns: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """A Parquet artifact's rows, or none when it has not been written (yet)."""
        import pyarrow.parquet as pq

        path = self.path(relative)
        if not path.is_file():
            return []
        return pq.read_table(path, columns=list(columns) if columns else None).to_pylist()

    def json(self, relative: str) -> dict[str, Any]:
        """A JSON metrics file, or {} when it has not been written (yet)."""
        path = self.path(relative)
        return json.loads(path.read_text()) if path.is_file() else {}
