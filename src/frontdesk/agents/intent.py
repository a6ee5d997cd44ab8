"""Intent agent: label, calibrated confidence and out-of-scope flag for a customer message, with
whether it asks us to act or asks how something works, and whether it is written in a language
the models do not cover."""

from __future__ import annotations

from typing import Protocol

from frontdesk.contracts import InboundMessage, IntentPrediction


class IntentClassifier(Protocol):
    version: str

    @property
    def labels(self) -> list[str]: ...

    def predict(self, texts: list[str]) -> list[IntentPrediction]: ...


class RequestKind(Protocol):
    def action_probability(self, texts: list[str]) -> list[float]:
        """Per text, the probability that it asks us to act on the customer's order or account
        now rather than asking how something works."""
        ...


class LanguageCheck(Protocol):
    def unsupported_language(self, text: str) -> str | None:
        """The language code when the text is reliably in a language the models do not cover."""
        ...

    def short_unsupported_language(self, text: str) -> str | None:
        """For a text too short to be reliable, the uncovered language it most likely is."""
        ...


class IntentAgent:
    def __init__(
        self,
        classifier: IntentClassifier,
        request_kind: RequestKind | None = None,
        languages: LanguageCheck | None = None,
    ) -> None:
        self.classifier = classifier
        self.request_kind = request_kind
        self.languages = languages

    @property
    def labels(self) -> list[str]:
        """The intents the classifier can tell apart."""
        return self.classifier.labels

    def classify(self, messages: list[InboundMessage]) -> list[IntentPrediction]:
        """One batch: vectorising many texts at once costs far less per message than one by one."""
        if not messages:
            return []
        texts = [message.text for message in messages]
        predictions = self.classifier.predict(texts)
        acting = self.request_kind.action_probability(texts) if self.request_kind else None
        found = []
        for i, (text, prediction) in enumerate(zip(texts, predictions, strict=True)):
            update: dict[str, object] = {}
            if acting is not None:
                update["action_probability"] = round(min(max(acting[i], 0.0), 1.0), 4)
            if self.languages is not None:
                language = self.languages.unsupported_language(text)
                if language is None and prediction.out_of_scope:
                    # A few words the models cannot place that read as another language are a
                    # customer writing in it, not a question to decline ("Esqueci-me da
                    # palavra-passe.").
                    language = self.languages.short_unsupported_language(text)
                update["language"] = language
            found.append(prediction.model_copy(update=update) if update else prediction)
        return found
