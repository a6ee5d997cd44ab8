"""The NumPy MiniLM encoder and the features built on it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from frontdesk.embedding.minilm import (
    SentenceEncoder,
    drop_packaged_encoder,
    packaged_encoder,
    packaged_model_dir,
)
from frontdesk.training.intent_model import train
from test_intent_training import synthetic

TEXTS = ["where is my parcel?", "I want my money back", "", "😀", "x" * 20_000, "Где мой заказ?"]


def test_sentence_vectors_are_unit_length_and_meaningful() -> None:
    vectors = packaged_encoder().encode(TEXTS)
    assert vectors.shape == (len(TEXTS), 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    near = packaged_encoder().encode(["where is my package", "what is the weather like"])
    assert vectors[0] @ near[0] > vectors[0] @ near[1] + 0.2


@pytest.mark.slow
def test_numpy_forward_pass_matches_sentence_transformers() -> None:
    sentence_transformers = pytest.importorskip("sentence_transformers")
    reference = sentence_transformers.SentenceTransformer(str(packaged_model_dir()), device="cpu")
    reference.max_seq_length = 64
    expected = reference.encode(TEXTS, normalize_embeddings=True)
    ours = SentenceEncoder.from_directory(packaged_model_dir()).encode(TEXTS)
    assert np.abs(expected - ours).max() < 1e-4


def test_the_forward_pass_stays_in_float32() -> None:
    # A float64 scalar once promoted every activation, and each product then converted the
    # float32 weights: a short message cost 16 ms instead of 5.
    encoder = packaged_encoder()
    assert encoder._encode_batch([[101, 7592, 102]]).dtype == np.float32


def test_threads_starting_together_share_one_copy_of_the_weights() -> None:
    drop_packaged_encoder()
    with ThreadPoolExecutor(4) as pool:
        loaded = list(pool.map(lambda _: packaged_encoder(), range(4)))
    assert all(encoder is loaded[0] for encoder in loaded)


@pytest.mark.slow  # trains on the whole seed set
def test_training_on_sentence_features() -> None:
    model = train(synthetic(25, seed=11), features=("tfidf+minilm",), regularization=(20.0,))
    assert model.version.startswith("tfidf-minilm-")
    assert model.predict(["please refund 5"])[0].label == "refund"


def test_a_message_encoded_for_intent_and_for_search_runs_through_the_network_once() -> None:
    encoder = SentenceEncoder.from_directory(packaged_model_dir())
    message = "can my wok go in the dishwasher"
    for_intent = encoder.encode([message], max_tokens=64)
    for_search = encoder.encode([message, message], max_tokens=256)
    assert (encoder.encoded, encoder.reused) == (1, 2)
    assert np.array_equal(for_intent[0], for_search[0])
    assert np.array_equal(for_search[0], for_search[1])
    kept = for_intent.copy()
    for_intent *= 0  # the caller's own array: what the encoder keeps is unchanged
    assert np.array_equal(encoder.encode([message])[0], kept[0])
    # A text longer than the shorter limit is cut differently for each: two vectors.
    long_text = " ".join(["my parcel never arrived and"] * 30)
    cut, whole = encoder.encode([long_text], max_tokens=64), encoder.encode([long_text], 8, 256)
    assert encoder.encoded == 3
    assert not np.allclose(cut, whole)
    fresh = SentenceEncoder.from_directory(packaged_model_dir()).encode([message, long_text])
    assert np.abs(fresh[0] - kept[0]).max() < 1e-6
    assert np.abs(fresh[1] - cut[0]).max() < 1e-6
