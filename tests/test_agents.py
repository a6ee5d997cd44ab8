"""The intent agent on its own (the response agent's tests are in test_knowledge.py)."""

from __future__ import annotations

import pytest

from frontdesk.training.intent_model import Example, read_examples, train


@pytest.mark.slow  # trains on the whole seed set: about 15 s
def test_seed_classifier_learns_the_shop_intents() -> None:
    model = train(read_examples())
    assert len(model.labels) >= 21
    assert "out_of_scope" in model.labels
    predictions = model.predict(
        ["where is my order?", "I'd like to return these boots", "what is the capital of peru"]
    )
    assert [p.label for p in predictions] == ["track_order", "return_item", "out_of_scope"]
    assert predictions[2].out_of_scope
    for prediction in predictions:
        total = prediction.confidence + sum(a.confidence for a in prediction.alternatives)
        assert total <= 1.0 + 1e-9
        assert prediction.model_version == model.version


def test_model_version_follows_the_training_data() -> None:
    examples = [Example(f"track {i}", "track") for i in range(3)]
    examples += [Example(f"cancel {i}", "cancel") for i in range(3)]
    assert train(examples).version == train(examples).version
    assert train(examples).version != train([*examples, Example("stop it", "cancel")]).version
