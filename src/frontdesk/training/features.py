"""Text features by name: `tfidf`, `minilm`, or both joined (`tfidf+minilm`)."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion

from frontdesk.embedding.minilm import packaged_encoder

FEATURE_SETS = ("tfidf", "minilm", "tfidf+minilm")
MAX_CHARS = 2000  # longer messages are cut: the n-gram cost grows with length, the meaning doesn't


def clip_texts(texts: list[str]) -> list[str]:
    return [(text or "")[:MAX_CHARS] for text in texts]


class SentenceFeatures(BaseEstimator, TransformerMixin):
    """MiniLM sentence vectors, scaled so they weigh against the TF-IDF block. Pickles without
    the weights: they load from the installed package on first use."""

    def __init__(self, weight: float = 1.0) -> None:
        self.weight = weight

    def fit(self, texts: list[str], labels: object = None) -> SentenceFeatures:
        return self

    def transform(self, texts: list[str]) -> sparse.csr_matrix:
        return sparse.csr_matrix(embed(list(texts)) * np.float32(self.weight))


# Recent texts' vectors: retries, duplicates and repeated training runs skip the encoder.
EMBEDDING_CACHE: OrderedDict[str, np.ndarray] = OrderedDict()
EMBEDDING_CACHE_SIZE = {"entries": 4096}


def embed(texts: list[str]) -> np.ndarray:
    missing = list(dict.fromkeys(text for text in texts if text not in EMBEDDING_CACHE))
    if missing:
        for text, vector in zip(missing, packaged_encoder().encode(missing), strict=True):
            EMBEDDING_CACHE[text] = vector
    vectors = np.stack([EMBEDDING_CACHE[text] for text in texts])
    for text in texts:
        EMBEDDING_CACHE.move_to_end(text)
    while len(EMBEDDING_CACHE) > EMBEDDING_CACHE_SIZE["entries"]:
        EMBEDDING_CACHE.popitem(last=False)
    return vectors


def tfidf_features() -> FeatureUnion:
    return FeatureUnion(
        [
            ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, lowercase=True)),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)),
        ]
    )


def build_features(name: str) -> FeatureUnion:
    if name not in FEATURE_SETS:
        raise ValueError(f"unknown feature set {name!r}; choose one of {', '.join(FEATURE_SETS)}")
    parts = []
    if "tfidf" in name:
        parts.append(("tfidf", tfidf_features()))
    if "minilm" in name:
        parts.append(("minilm", SentenceFeatures(weight=2.0 if "tfidf" in name else 1.0)))
    return FeatureUnion(parts)
