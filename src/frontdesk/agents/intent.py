"""Intent agent: label, calibrated confidence and out-of-scope flag for a customer message."""

from __future__ import annotations

from typing import Protocol

from frontdesk.contracts import InboundMessage, IntentPrediction


class IntentClassifier(Protocol):
    version: str

    @property
    def labels(self) -> list[str]: ...

    def predict(self, texts: list[str]) -> list[IntentPrediction]: ...


class IntentAgent:
    def __init__(self, classifier: IntentClassifier) -> None:
        self.classifier = classifier

    @property
    def labels(self) -> list[str]:
        """The intents the classifier can tell apart."""
        return self.classifier.labels

    def classify(self, messages: list[InboundMessage]) -> list[IntentPrediction]:
        """One batch: vectorising many texts at once costs far less per message than one by one."""
        if not messages:
            return []
        return self.classifier.predict([message.text for message in messages])
