"""Every registered check honours the one result shape.

A per-sample table keyed by ``sample_id`` with ``is_<check>_issue`` (bool) and
``<check>_score`` (float in [0, 1], lower = worse), plus a JSON-able summary. A new check
must be added to ``CALLS`` below, or this test fails.
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest

from curate import checks
from curate.config import IndexConfig, LabelConfig
from curate.index import build_graph

N = 120


@pytest.fixture(scope="module")
def sample():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 12))
    y = rng.integers(0, 3, N)
    X = centres[y] + 0.4 * rng.normal(size=(N, 12))
    X[100:105] = X[:5]  # exact copies
    X = (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32)
    given = y.copy()
    given[10:20] = (y[10:20] + 1) % 3  # ten wrong labels
    labels = [f"c{v}" for v in given]
    labels[110:] = [None] * 10
    splits = ["train"] * 80 + ["test"] * 30 + ["unlabeled"] * 10
    hashes = [f"h{i}" for i in range(N)]
    hashes[100:105] = hashes[:5]
    P = np.full((N, 3), 0.1)
    P[np.arange(N), y] = 0.8
    return {
        "ids": [f"s{i:03d}" for i in range(N)],
        "X": X,
        "graph": build_graph(X, IndexConfig()),
        "labels": labels,
        "splits": splits,
        "hashes": hashes,
        "P": P,
    }


CALLS = {
    "label": lambda s: checks.get("label")(
        sample_ids=s["ids"],
        splits=s["splits"],
        labels=s["labels"],
        content_hashes=s["hashes"],
        pred_probs=s["P"],
        classes=("c0", "c1", "c2"),
        cfg=LabelConfig(bootstrap=10),
    ),
    "exact_duplicate": lambda s: checks.get("exact_duplicate")(
        s["ids"], s["hashes"], labels=s["labels"], splits=s["splits"]
    ),
    "near_duplicate": lambda s: checks.get("near_duplicate")(
        s["ids"], s["X"], s["graph"], content_hashes=s["hashes"], labels=s["labels"]
    ),
    "leakage": lambda s: checks.get("leakage")(
        s["ids"],
        s["splits"],
        s["labels"],
        [h if h in s["hashes"][:5] else None for h in s["hashes"]],
        s["X"],
    ),
    "outlier": lambda s: checks.get("outlier")(s["ids"], s["graph"], splits=s["splits"]),
    "redundancy": lambda s: checks.get("redundancy")(
        s["ids"], s["X"], s["graph"], splits=s["splits"], labels=s["labels"]
    ),
}


def test_every_registered_check_is_covered() -> None:
    assert sorted(CALLS) == checks.names()


@pytest.mark.parametrize("name", sorted(CALLS))
def test_result_shape(name: str, sample) -> None:
    result = CALLS[name](sample)
    table = result.table
    assert isinstance(table, pa.Table) and table.num_rows > 0
    ids = table.column("sample_id").to_pylist()
    assert len(set(ids)) == len(ids) and set(ids) <= set(sample["ids"])
    issue = table.column(f"is_{name}_issue")
    score = table.column(f"{name}_score")
    assert issue.type == pa.bool_() and issue.null_count == 0
    values = np.asarray(score.to_pylist(), dtype=float)
    assert pa.types.is_floating(score.type) and ((values >= 0) & (values <= 1)).all()
    # Lower = worse: flagged samples do not score above unflagged ones on average.
    flags = np.asarray(issue.to_pylist())
    if flags.any() and (~flags).any():
        assert values[flags].mean() <= values[~flags].mean() + 1e-9
    json.dumps(result.summary)  # JSON-able
    assert result.summary
