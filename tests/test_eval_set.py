"""The shipped evaluation set: well-formed, covering every help-article section, split stably."""

from __future__ import annotations

import json
import re
from collections import Counter
from importlib import resources
from pathlib import Path
from typing import get_args

import pytest

from frontdesk.evaluation.dataset import EvalItem, EvalSetError, Kind, load_items, split
from frontdesk.training.data import read_examples

# What a right decision is, per kind: (needs, acceptable tiers).
CONVENTIONS: dict[str, tuple[str, list[str]]] = {
    "information": ("answer", ["auto", "human"]),
    "action": ("action", ["auto", "human"]),
    "out_of_scope": ("decline", ["auto", "human"]),
    "complex": ("person", ["human", "specialist"]),
    "person_request": ("person", ["human"]),
    "injection": ("person", ["human", "specialist"]),
    "non_english": ("person", ["human"]),
    "small_talk": ("answer", ["auto", "human"]),
}


def _normal(text: str) -> str:
    text = re.sub(r"[\u2010-\u2015]", "-", text.casefold())
    return " ".join(text.split())


def _articles() -> dict[str, dict[str, str]]:
    """article stem → section heading → section text, from the demo help articles."""
    folder = resources.files("frontdesk.knowledge").joinpath("demo_kb")
    articles: dict[str, dict[str, str]] = {}
    for entry in folder.iterdir():
        if not entry.name.endswith(".md"):
            continue
        sections: dict[str, str] = {}
        heading = None
        for line in entry.read_text(encoding="utf-8").splitlines():
            if line.startswith("## "):
                heading = line[3:].strip()
                sections[heading] = ""
            elif heading is not None:
                sections[heading] += line + "\n"
        articles[entry.name.removesuffix(".md")] = sections
    return articles


@pytest.fixture(scope="module")
def items() -> list[EvalItem]:
    return load_items()


@pytest.fixture(scope="module")
def articles() -> dict[str, dict[str, str]]:
    return _articles()


def test_the_set_is_large_with_unique_ids_and_texts(items: list[EvalItem]) -> None:
    assert len(items) >= 1000
    assert len({item.id for item in items}) == len(items)
    first_turns = Counter(_normal(item.text) for item in items)
    assert [text for text, count in first_turns.items() if count > 1] == []
    conversations = Counter(tuple(_normal(turn) for turn in item.turns) for item in items)
    assert max(conversations.values()) == 1


def test_no_text_is_a_seed_utterance(items: list[EvalItem]) -> None:
    seed = {_normal(example.text) for example in read_examples()}
    assert [turn for item in items for turn in item.turns if _normal(turn) in seed] == []


def test_every_intent_is_a_seed_intent(items: list[EvalItem]) -> None:
    seed = {example.intent for example in read_examples()}
    assert {item.intent for item in items} <= seed


def test_every_kind_is_present_and_follows_its_convention(items: list[EvalItem]) -> None:
    assert {item.kind for item in items} == set(get_args(Kind))
    wrong = [
        item.id for item in items if (item.needs, item.acceptable_tiers) != CONVENTIONS[item.kind]
    ]
    assert wrong == []
    assert sum(len(item.turns) > 1 for item in items) >= 50


def test_sections_name_existing_articles_and_headings(
    items: list[EvalItem], articles: dict[str, dict[str, str]]
) -> None:
    unknown = []
    for item in items:
        for reference in item.sections:
            stem, _, heading = reference.partition("#")
            if heading not in articles.get(stem, {}):
                unknown.append(f"{item.id}: {reference}")
    assert unknown == []
    assert all(item.sections for item in items if item.kind == "information")


def test_every_article_section_is_covered(
    items: list[EvalItem], articles: dict[str, dict[str, str]]
) -> None:
    covered = Counter(reference for item in items for reference in item.sections)
    every = [f"{stem}#{heading}" for stem, sections in articles.items() for heading in sections]
    assert len(articles) == 36
    assert [reference for reference in every if covered[reference] == 0] == []


def test_information_facts_come_from_their_sections(
    items: list[EvalItem], articles: dict[str, dict[str, str]]
) -> None:
    missing = []
    for item in items:
        if item.kind != "information":
            continue
        texts = [
            _normal(articles[stem][heading])
            for stem, _, heading in (reference.partition("#") for reference in item.sections)
        ]
        missing += [
            f"{item.id}: {fact}"
            for fact in item.must_contain
            if not any(_normal(fact) in text for text in texts)
        ]
    assert missing == []


def test_the_split_is_deterministic_and_balanced(items: list[EvalItem]) -> None:
    dev, test = split(items)
    assert (dev, test) == split(list(items))
    assert {item.id for item in dev}.isdisjoint(item.id for item in test)
    assert len(dev) + len(test) == len(items)
    assert 0.4 <= len(dev) / len(items) <= 0.6
    # By id, not by position: reversing the items changes no item's side.
    reversed_dev, _ = split(list(reversed(items)))
    assert {item.id for item in reversed_dev} == {item.id for item in dev}
    other_dev, _ = split(items, seed=1)
    assert {item.id for item in other_dev} != {item.id for item in dev}


def test_a_bad_row_is_reported_with_its_line(tmp_path: Path) -> None:
    good = {
        "id": "info-1",
        "kind": "information",
        "turns": ["can I return my boots?"],
        "intent": "return_item",
        "sections": ["returns-policy#What can I return?"],
        "needs": "answer",
        "acceptable_tiers": ["auto", "human"],
        "must_contain": ["30 days"],
        "must_not_contain": [],
        "variety": [],
    }
    bad = {**good, "id": "info-2", "kind": "question", "colour": "red"}
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(good) + "\n\n" + json.dumps(bad) + "\n", encoding="utf-8")
    with pytest.raises(EvalSetError, match=r"bad\.jsonl:3: .*kind.*colour"):
        load_items(path)
    path.write_text(json.dumps(good) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(EvalSetError, match=r"bad\.jsonl:2: not JSON"):
        load_items(path)
    path.write_text(json.dumps(good) + "\n" + json.dumps(good) + "\n", encoding="utf-8")
    with pytest.raises(EvalSetError, match=r"bad\.jsonl:2: id 'info-1' repeats line 1"):
        load_items(path)
