"""A pinned dataset version as a torch ``Dataset``: ``CurateDataset(repo, rev="v2")``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch.utils.data

from curate.versions.versioning import load


class CurateDataset(torch.utils.data.Dataset):
    """The rows of one split of a dataset version (read through ``dvc.api`` and checked
    against ``dvc.lock``; see :func:`curate.load`).

    Each item is a dict of the manifest's columns (``sample_id``, ``input``, ``label`` ...);
    pass ``transform`` to turn it into tensors (e.g. embed the text or open the image).
    """

    def __init__(
        self,
        repo: str | Path | None = None,
        rev: str | None = None,
        split: str | Sequence[str] | None = "train",
        transform: Callable[[dict[str, Any]], Any] | None = None,
    ) -> None:
        self.table = load(repo, rev, split=split)
        self.rows = self.table.to_pylist()
        self.transform = transform
        self.classes = sorted({r["label"] for r in self.rows if r.get("label") is not None})

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> Any:
        row = self.rows[index]
        return self.transform(row) if self.transform is not None else row
