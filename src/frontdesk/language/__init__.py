"""Language detection: a customer message in a language the models do not cover goes to a person."""

from frontdesk.language.detect import LanguageDetector, LanguageGuess

__all__ = ["LanguageDetector", "LanguageGuess"]
