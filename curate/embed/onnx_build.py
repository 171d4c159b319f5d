"""Building ONNX exports and measuring the agreement gate: the child processes' code.

:mod:`curate.embed.onnx_backend` runs this module as ``python -m curate.embed.onnx_build`` so
that torch and sentence-transformers are loaded only in a short-lived child, never in the
embedding process. ``export`` writes a complete export folder (``export.json`` last); ``gate``
writes one agreement-gate record atomically.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from curate.embed.onnx_backend import (
    FP32_FFN_LAYERS,
    RECIPE,
    Export,
    Gate,
    _ort_version,
    _sha256,
    score_gate,
)
from curate.embed.onnx_runtime import OnnxTextModel


def _export(model_path: Path, backend: str, out: Path) -> None:
    """Child process: export, optimise, quantise; write ``out`` with ``export.json`` last."""
    import torch
    from sentence_transformers import SentenceTransformer

    out.mkdir(parents=True)
    # Eager attention exports as plain matrix products that onnxruntime's optimiser fuses.
    try:
        model = SentenceTransformer(
            str(model_path), device="cpu", model_kwargs={"attn_implementation": "eager"}
        )
    except (TypeError, ValueError):
        model = SentenceTransformer(str(model_path), device="cpu")
    model.eval()
    tok = model.tokenizer
    sample = tok(["hello world", "a second, longer example sentence"], padding=True)
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]

    class Wrapped(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *inputs):
            features = dict(zip(names, inputs, strict=True))
            features["modality"] = "text"
            return self.model(features)["sentence_embedding"]

    args = tuple(torch.tensor(sample[n], dtype=torch.long) for n in names)
    axes = {n: {0: "batch", 1: "tokens"} for n in names}
    axes["sentence_embedding"] = {0: "batch"}
    raw = out / "raw.onnx"
    with torch.no_grad():
        torch.onnx.export(
            Wrapped().eval(),
            args,
            str(raw),
            input_names=names,
            output_names=["sentence_embedding"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
    fused = _optimise(raw, model_path, out / "fused.onnx")
    target = out / "model.onnx"
    if backend == "onnx":
        os.replace(fused, target)
    else:
        _quantise(fused, target)
    for leftover in out.glob("*.onnx"):
        if leftover != target:
            leftover.unlink()
    files = {
        p.name: {"bytes": p.stat().st_size, "sha256": _sha256(p)}
        for p in sorted(out.iterdir())
        if p.is_file()
    }
    record = {
        "backend": backend,
        "model": str(model_path),
        "recipe": RECIPE,
        "fp32_ffn_layers": list(FP32_FFN_LAYERS) if backend == "onnx-int8" else [],
        "inputs": names,
        "onnxruntime": _ort_version(),
        "torch": torch.__version__,
        "files": files,
    }
    (out / "export.json").write_text(json.dumps(record, indent=2) + "\n")


def _optimise(raw: Path, model_path: Path, out: Path) -> Path:
    """Fuse attention, layer norms and GELU (onnxruntime's transformer optimiser) for
    BERT-style models; other architectures keep the plain export."""
    try:
        config = json.loads((model_path / "config.json").read_text())
        if config.get("model_type") not in ("bert", "roberta", "xlm-roberta", "mpnet"):
            return raw
        from onnxruntime.transformers import optimizer

        optimised = optimizer.optimize_model(
            str(raw),
            model_type="bert",
            num_heads=int(config["num_attention_heads"]),
            hidden_size=int(config["hidden_size"]),
            opt_level=1,
        )
        optimised.save_model_to_file(str(out))
        return out
    except Exception as exc:  # noqa: BLE001 - the unfused graph is correct, only slower
        print(f"graph optimisation skipped: {type(exc).__name__}: {exc}", file=sys.stderr)
        return raw


def _quantise(src: Path, dst: Path) -> None:
    """Dynamic int8: weights per channel, activations per call; some projections stay fp32."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph = onnx.load(str(src), load_external_data=False).graph
    keep = [
        n.name
        for n in graph.node
        if n.op_type == "MatMul"
        and any(
            f"/layer.{i}/output/dense/" in n.name or f"/layer.{i}/output/dense" == n.name
            for i in FP32_FFN_LAYERS
        )
    ]
    quantize_dynamic(
        str(src),
        str(dst),
        weight_type=QuantType.QInt8,
        per_channel=True,
        reduce_range=False,
        op_types_to_quantize=["MatMul", "Attention"],
        nodes_to_exclude=keep,
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )


def _gate(model_path: Path, export_path: Path, backend: str, texts_file: Path, out: Path) -> None:
    """Child process: the fp32 torch vectors and the backend's vectors of the sample texts."""
    from sentence_transformers import SentenceTransformer

    texts = json.loads(texts_file.read_text())
    start = time.perf_counter()
    model = SentenceTransformer(str(model_path), device="cpu")
    ref = np.asarray(
        model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True),
        np.float32,
    )
    window = int(model.max_seq_length)
    runner = OnnxTextModel(Export(export_path, backend, ""), model_path)
    prefix, suffix, types = runner.framing()
    room = window - len(prefix) - len(suffix)
    seqs = [prefix + ids[:room] + suffix for ids in runner.token_ids(texts)]
    tt = [types[0] + [types[1]] * (len(s) - len(prefix) - len(suffix)) + types[2] for s in seqs]
    got = runner.run(seqs, tt)
    gate = score_gate(backend, texts, ref, got)
    gate = Gate(**{**gate.to_dict(), "seconds": round(time.perf_counter() - start, 3)})
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(gate.to_dict(), indent=2) + "\n")
    os.replace(tmp, out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m curate.embed.onnx_backend")
    sub = parser.add_subparsers(dest="cmd", required=True)
    ex = sub.add_parser("export")
    ex.add_argument("--model", required=True)
    ex.add_argument("--backend", required=True, choices=["onnx", "onnx-int8"])
    ex.add_argument("--out", required=True)
    ga = sub.add_parser("gate")
    ga.add_argument("--model", required=True)
    ga.add_argument("--dir", required=True)
    ga.add_argument("--backend", required=True)
    ga.add_argument("--texts", required=True)
    ga.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    import warnings

    warnings.filterwarnings("ignore")
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    if args.cmd == "export":
        _export(Path(args.model), args.backend, Path(args.out))
    else:
        _gate(Path(args.model), Path(args.dir), args.backend, Path(args.texts), Path(args.out))


if __name__ == "__main__":
    main()
