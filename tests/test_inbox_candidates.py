"""Answering a handed-off knowledge question with one of the sections the bot found."""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from conftest import STAFF_PASSWORD
from frontdesk.config import load_settings
from frontdesk.contracts import Handoff
from frontdesk.knowledge.index import passage_texts
from frontdesk.server import create_app
from frontdesk.store.staff import add_user
from test_inbox_access import HTML, handoff_for, sign_in

# Every message goes to a person: the draft is a good answer, and it still waits for one.
ROUTING = {"auto_threshold": 0.9999, "human_threshold": 0.0001}
QUESTION = "How long do refunds take?"


class Buttons(HTMLParser):
    """The attributes of every "Use this answer" button, as the browser reads them."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "button" and any(name == "data-use-answer" for name, _ in attrs):
            self.found.append(dict(attrs))


def use_answer_buttons(page: str) -> list[dict[str, str | None]]:
    parser = Buttons()
    parser.feed(page)
    return parser.found


@pytest.fixture
def client(data_dir: Path) -> Iterator[TestClient]:
    settings = load_settings(data_dir=data_dir, routing=ROUTING)
    with TestClient(create_app(settings)) as test_client:
        add_user(test_client.app.state.services.store, "alice", STAFF_PASSWORD, "agent")
        yield test_client


def answers_of(client: TestClient, handoff: Handoff) -> dict[str, str]:
    """What each section's button should put in the reply box, by chunk id."""
    draft = handoff.packet.draft
    assert draft is not None and draft.kind == "knowledge" and draft.grounded
    sections = [*draft.sources, *draft.candidates]
    texts = passage_texts(client.app.state.services.store, [s.chunk_id for s in sections])
    return {s.chunk_id: f"{texts[s.chunk_id]}\n\nSource: {s.heading}" for s in sections}


def test_the_conversation_offers_each_section_s_answer(client: TestClient) -> None:
    handoff, _ = handoff_for(client, QUESTION)
    draft = handoff.packet.draft
    assert draft is not None and len(draft.candidates) == 2
    expected = answers_of(client, handoff)
    sign_in(client, "alice")
    page = client.get(f"/inbox/handoffs/{handoff.id}", headers=HTML)
    assert page.status_code == 200
    buttons = use_answer_buttons(page.text)
    assert [b["data-section"] for b in buttons] == list(expected)
    for button, source in zip(buttons, [*draft.sources, *draft.candidates], strict=True):
        assert button["type"] == "button"  # never submits the form
        assert button["data-use-answer"] == expected[source.chunk_id]
        assert button["aria-label"] == f"Use this answer: {source.heading}"
    # Only the drafted section is the bot's own answer.
    assert ["data-drafted" in b for b in buttons] == [True, False, False]
    # The drafted section's answer is the draft itself when the bot used the section whole.
    assert expected[draft.sources[0].chunk_id] == draft.text
    assert 'name="section"' in page.text


def test_answering_from_another_section_counts_as_rewritten(client: TestClient) -> None:
    other, _ = handoff_for(client, QUESTION)
    drafted, _ = handoff_for(client, QUESTION)
    csrf = sign_in(client, "alice")
    store = client.app.state.services.store
    assert other.packet.draft is not None and drafted.packet.draft is not None
    candidate = other.packet.draft.candidates[0]
    # Sent unchanged from another section, even marked "sent as drafted", it is no verdict for
    # the bot's draft.
    response = client.post(
        f"/inbox/handoffs/{other.id}/reply",
        data={
            "csrf_token": csrf,
            "text": answers_of(client, other)[candidate.chunk_id],
            "outcome": "sent_as_drafted",
            "section": candidate.chunk_id,
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert store.get_handoff(other.id).outcome == "rewritten"
    # The drafted section's answer, unchanged, is the draft sent as drafted (with the line
    # breaks a browser's form sends).
    source = drafted.packet.draft.sources[0]
    client.post(
        f"/inbox/handoffs/{drafted.id}/reply",
        data={
            "csrf_token": csrf,
            "text": answers_of(client, drafted)[source.chunk_id].replace("\n", "\r\n"),
            "section": source.chunk_id,
        },
    )
    assert store.get_handoff(drafted.id).outcome == "sent_as_drafted"
    verdicts = {v.message_id: v.right for v in store.reply_verdicts()}
    assert verdicts == {other.message_id: False, drafted.message_id: True}
    # A resolved conversation has no reply box, so nothing to put an answer in.
    resolved = client.get(f"/inbox/handoffs/{other.id}", headers=HTML)
    assert use_answer_buttons(resolved.text) == []
