"""Which runtime runs the text model: the ``embed.text.backend`` choice and its gate records.

:class:`BackendChoice`, a base of :class:`curate.embed.text.TextEmbedder`, resolves the setting
once: ``torch`` as is; ``onnx`` or ``onnx-int8`` exported (or reused) and gated, used even when
the gate fails, with a :class:`BackendGateWarning`; ``auto`` takes the first ONNX backend of
:data:`curate.embed.onnx_backend.AUTO_ORDER` whose export passes the agreement gate, else
``torch`` with a one-line :class:`BackendFallbackWarning`. It also summarises the choice for
``embeddings/summary.json``.
"""

from __future__ import annotations

import warnings

from curate.embed import onnx_backend
from curate.errors import EmbeddingError


class BackendFallbackWarning(UserWarning):
    """``embed.text.backend: auto`` could not use an ONNX backend and took a slower one."""


class BackendGateWarning(UserWarning):
    """An ONNX backend chosen explicitly failed the agreement gate; it is used anyway."""


class BackendChoice:
    """Backend resolution for :class:`curate.embed.text.TextEmbedder`, which provides ``cfg``,
    ``model_path``, ``export_root`` and the ``backend``, ``export``, ``gates``, ``notes`` and
    ``export_seconds`` records."""

    def resolve(self, texts: list[str] | None = None) -> str:
        """Choose the backend (once): ``auto`` takes the first ONNX backend whose export passes
        the agreement gate on a sample of ``texts``, else ``torch``."""
        if self.backend is not None:
            return self.backend
        setting = self.cfg.backend
        missing = onnx_backend.runtime_available()
        if missing:
            if setting != "auto":
                raise EmbeddingError(
                    f"embed.text.backend is {setting!r} but {missing}. Install curate with its "
                    "dependencies (make install), or set embed.text.backend to 'torch'."
                )
            return self._fall_back([f"ONNX backends unavailable: {missing}"])
        digest = onnx_backend.model_hash(self.model_path)
        notes = []
        for backend in onnx_backend.AUTO_ORDER if setting == "auto" else (setting,):
            try:
                export = onnx_backend.ensure_export(
                    self.model_path, backend, self.export_root, digest
                )
                self.export_seconds += export.seconds
                gate = onnx_backend.ensure_gate(export, self.model_path, texts)
            except EmbeddingError as exc:
                if setting != "auto":
                    raise
                notes.append(f"{backend}: {str(exc).splitlines()[0]}")
                continue
            if gate is None:
                raise EmbeddingError(
                    f"the {backend} text model has no agreement-gate record yet and no texts "
                    "were given to measure it on. Call fit(manifest) or embed(rows) first."
                )
            self.gates[backend] = gate
            if gate.passed or setting != "auto":
                if not gate.passed:
                    warnings.warn(
                        f"embed.text.backend {backend} failed the agreement gate against the fp32 "
                        f"torch model ({gate.reason()}); it is used because it was chosen "
                        "explicitly. Set embed.text.backend to 'auto' or 'torch' to avoid it.",
                        BackendGateWarning,
                        stacklevel=2,
                    )
                self.backend, self.export = backend, export
                if notes:
                    self.notes = notes
                    warnings.warn(
                        f"embed.text.backend auto: {'; '.join(notes)}; using {backend}.",
                        BackendFallbackWarning,
                        stacklevel=2,
                    )
                return backend
            notes.append(f"{backend} failed the agreement gate ({gate.reason()})")
        return self._fall_back(notes)

    def _fall_back(self, notes: list[str]) -> str:
        self.backend, self.notes = "torch", notes
        warnings.warn(
            f"embed.text.backend auto: {'; '.join(notes)}; using torch.",
            BackendFallbackWarning,
            stacklevel=3,
        )
        return "torch"

    def backend_summary(self) -> dict:
        """The backend, its export and gate figures, for ``embeddings/summary.json``."""
        out: dict = {"setting": self.cfg.backend, "backend": self.backend}
        if self.export is not None:
            out["export"] = str(self.export.dir)
            out["export_seconds"] = round(self.export_seconds, 3)
        if self.gates:
            out["gates"] = {b: g.to_dict() for b, g in self.gates.items()}
        if self.notes:
            out["notes"] = self.notes
        return out
