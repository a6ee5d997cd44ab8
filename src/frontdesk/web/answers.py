"""A person answering with a section the bot found ("Use this answer" on the conversation page).

The inbox offers each section of a knowledge draft (the one it answered from and the next-best
ones) worded as the response agent ends a knowledge answer: the passage's text as stored, a blank
line and `Source: <heading path>`. Answering from another section than the draft's is a verdict
against the draft, recorded as `rewritten` whatever the person chose of sent as drafted / edited:
those verdicts train the reply confidence (docs/routing.md).
"""

from __future__ import annotations

from frontdesk.contracts import DraftReply, Outcome
from frontdesk.knowledge.index import passage_texts
from frontdesk.store.repository import Store


def section_answers(store: Store, draft: DraftReply | None) -> dict[str, str]:
    """By chunk id, the answer from each of the draft's sources and candidates still stored."""
    if draft is None or draft.kind != "knowledge":
        return {}
    sections = [*draft.sources, *draft.candidates]
    texts = passage_texts(store, {source.chunk_id for source in sections})
    return {
        source.chunk_id: f"{texts[source.chunk_id].strip()}\n\nSource: {source.heading}"
        for source in sections
        if texts.get(source.chunk_id, "").strip()
    }


def answered_from(draft: DraftReply | None, chunk_id: str | None) -> bool:
    """Whether the draft's own answer rests on this section (a draft that found nothing good
    enough to answer from rests on none of those it lists)."""
    return draft is not None and draft.grounded and chunk_id in {s.chunk_id for s in draft.sources}


def outcome_for_section(
    draft: DraftReply | None, outcome: Outcome | None, section: str
) -> Outcome | None:
    """The outcome of an answer the person started from `section` (a chunk id, "" for none): from
    another section than the draft's it is `rewritten`; a misread intent stays one."""
    if not section or outcome == "wrong_intent" or answered_from(draft, section):
        return outcome
    return "rewritten"
