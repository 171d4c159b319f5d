"""Running an ONNX export of the text model with onnxruntime and the model's fast tokenizer.

Nothing here imports torch or sentence-transformers: the embedding process stays small.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from curate.embed import onnx_backend
from curate.embed.onnx_backend import Export, threads
from curate.errors import EmbeddingError


def _special_token_id(model_path: Path, tok, name: str) -> int | None:
    for file in ("tokenizer_config.json", "special_tokens_map.json"):
        try:
            value = json.loads((model_path / file).read_text()).get(name)
        except (OSError, ValueError):
            continue
        if isinstance(value, dict):
            value = value.get("content")
        if isinstance(value, str) and tok.token_to_id(value) is not None:
            return tok.token_to_id(value)
    return None


class OnnxTextModel:
    """An export run by onnxruntime, with the model folder's fast tokenizer (no torch)."""

    def __init__(self, export: Export, model_path: Path) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        file = Path(model_path) / "tokenizer.json"
        if not file.is_file():
            raise EmbeddingError(
                f"text model folder {model_path} has no tokenizer.json (a fast tokenizer), which "
                "the ONNX backends need. Set embed.text.backend to 'torch' in configs/embed.yaml."
            )
        tok = Tokenizer.from_file(str(file))
        tok.no_truncation()
        tok.no_padding()
        self.tokenizer = tok
        self.pad_id = _special_token_id(model_path, tok, "pad_token") or 0
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads()
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.session = ort.InferenceSession(
            str(export.onnx_path), options, providers=["CPUExecutionProvider"]
        )
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.dim = int(self.session.get_outputs()[0].shape[-1])

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Word-piece ids of each text, special tokens excluded, nothing truncated."""
        encoded = self.tokenizer.encode_batch(list(texts), add_special_tokens=False)
        return [e.ids for e in encoded]

    def framing(self) -> tuple[list[int], list[int], tuple | None]:
        """(prefix ids, suffix ids, token types) the tokenizer frames a text with."""
        framed = self.tokenizer.encode("hello world", add_special_tokens=True)
        bare = self.tokenizer.encode("hello world", add_special_tokens=False).ids
        ids = framed.ids
        at = next(
            (i for i in range(len(ids) - len(bare) + 1) if ids[i : i + len(bare)] == bare), None
        )
        if at is None or not bare:
            raise EmbeddingError(
                "cannot tell how the model's tokenizer.json adds its special tokens, so the ONNX "
                "backends cannot frame text windows. Set embed.text.backend to 'torch'."
            )
        types = framed.type_ids
        return ids[:at], ids[at + len(bare) :], (types[:at], types[at], types[at + len(bare) :])

    def run(self, seqs: list[list[int]], types: list[list[int]] | None) -> np.ndarray:
        """L2-normalised vectors of framed id sequences, batched longest first by word pieces."""
        out = np.zeros((len(seqs), self.dim), np.float32)
        order = np.argsort([-len(s) for s in seqs], kind="stable")
        start = 0
        while start < len(order):
            longest = max(1, len(seqs[order[start]]))
            size = max(1, onnx_backend.TOKENS_PER_BATCH // longest)
            idx = order[start : start + size]
            width = len(seqs[idx[0]])
            ids = np.full((len(idx), width), self.pad_id, np.int64)
            mask = np.zeros((len(idx), width), np.int64)
            tt = np.zeros((len(idx), width), np.int64)
            for row, i in enumerate(idx):
                n = len(seqs[i])
                ids[row, :n] = seqs[i]
                mask[row, :n] = 1
                if types is not None:
                    tt[row, :n] = types[i]
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": tt}
            emb = self.session.run(None, {k: feed[k] for k in self.inputs})[0]
            norms = np.linalg.norm(emb, axis=1, keepdims=True)
            out[idx] = emb / np.where(norms > 0, norms, 1.0)
            start += len(idx)
        return out
