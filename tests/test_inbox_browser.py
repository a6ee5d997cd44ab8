"""The people's side in Debian's Chromium: a customer in the chat, agents in the inbox."""

from __future__ import annotations

import http.server
import os
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from conftest import STAFF_PASSWORD
from frontdesk.config import load_settings
from frontdesk.knowledge.index import passage_texts
from frontdesk.runtime.services import open_store
from frontdesk.store.staff import add_user
from server import ServerProcess, free_port
from test_browser import browser, refusals_of, say  # noqa: F401  (the module's Chromium fixture)

pytestmark = pytest.mark.browser
# Every message goes to a person, and these words pick the tier whatever the model's confidence.
ROUTING = """
[routing]
auto_threshold = 0.9999
human_threshold = 0.0001

[[routing.rules]]
name = "broken goods"
when = "text_matches"
pattern = 'blender'
tier = "human"

[[routing.rules]]
name = "legal threat"
when = "text_matches"
pattern = 'lawyer'
tier = "specialist"
"""
SCREENSHOTS = os.environ.get("FRONTDESK_TEST_SCREENSHOTS")
BROKEN_BLENDER = "My blender arrived with a cracked jar, what can you do?"


@pytest.fixture
def server(data_dir: Path, tmp_path: Path) -> Iterator[ServerProcess]:
    config = tmp_path / "frontdesk.toml"
    config.write_text(ROUTING)
    store = open_store(load_settings(data_dir=data_dir))
    for name in ("alice", "bob"):
        add_user(store, name, STAFF_PASSWORD, "agent")
    store.engine.dispose()
    process = ServerProcess(
        {"FRONTDESK_DATA_DIR": str(data_dir), "FRONTDESK_CONFIG": str(config)},
        tmp_path / "server.log",
    )
    process.start()
    yield process
    process.stop()


@pytest.fixture
def contexts(browser: Browser) -> Iterator[list[BrowserContext]]:  # noqa: F811
    """Separate browser profiles: a customer and agents never share cookies."""
    opened: list[BrowserContext] = []
    refused: list[str] = []

    def open_context() -> BrowserContext:
        context = browser.new_context(viewport={"width": 1280, "height": 860})
        opened.append(context)
        refusals_of(context, refused)
        return context

    yield open_context  # type: ignore[misc]
    for context in opened:
        context.close()
    assert refused == []  # the inbox, the chat and the widget run whole under their policies


def shoot(page: Page, name: str) -> None:
    """`make screenshots` keeps what the tests see as the pictures in docs/."""
    if SCREENSHOTS:
        page.screenshot(path=Path(SCREENSHOTS).resolve() / f"{name}.png")


def sign_in(page: Page, server: ServerProcess, name: str) -> None:
    page.goto(server.url + "/inbox")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".who")).to_contain_text(name)


def customer_writes(page: Page, server: ServerProcess, text: str) -> None:
    page.goto(server.url + "/")
    say(page, text)
    expect(page.locator(".note")).to_have_text("A person will answer shortly.", timeout=15_000)


def test_agent_answers_a_handoff_and_the_customer_sees_it_live(
    contexts, server: ServerProcess, tmp_path: Path
) -> None:
    agent = contexts().new_page()
    sign_in(agent, server, "alice")
    expect(agent.locator("#queue-rows")).to_contain_text("Nothing waiting")

    customer = contexts().new_page()
    customer_writes(customer, server, BROKEN_BLENDER)

    # The queue refreshes itself from the event stream: no reload.
    row = agent.locator("tr.handoff", has_text="cracked jar")
    expect(row).to_be_visible(timeout=15_000)
    expect(row).to_contain_text("broken goods")
    expect(row.locator(".sla")).to_contain_text("left")
    shoot(agent, "inbox-queue")
    row.get_by_role("button", name="Claim").click()

    expect(agent.locator("#holder")).to_have_text("held by alice")
    expect(agent.locator(".thread")).to_contain_text("cracked jar")
    context = agent.get_by_role("complementary", name="Handoff context")
    expect(context).to_contain_text("broken goods")
    expect(context.locator("#intent")).to_contain_text("%")
    shoot(agent, "inbox-conversation")
    answer = agent.get_by_role("textbox", name="Answer")
    draft = answer.input_value()
    assert draft.strip(), "the bot's draft is offered for editing"
    answer.fill("Sorry about the jar! A replacement blender ships today, no need to return it.")
    agent.get_by_role("button", name="Send and resolve").click()
    expect(agent.locator("#queue-rows")).to_contain_text("Nothing waiting")

    expect(customer.locator(".msg.agent")).to_contain_text("replacement blender", timeout=15_000)
    shoot(customer, "chat")

    agent.goto(server.url + "/inbox?status=resolved")
    resolved = agent.locator("tr.handoff", has_text="cracked jar")
    expect(resolved).to_contain_text("alice")
    expect(resolved).to_contain_text("rewritten")
    store = open_store(load_settings(data_dir=Path(server.env["FRONTDESK_DATA_DIR"])))
    [handoff] = store.list_handoffs(status="resolved")
    assert (handoff.outcome, handoff.resolved_by) == ("rewritten", "alice")
    assert handoff.handle_seconds is not None
    store.engine.dispose()
    agent.goto(server.url + "/inbox/overview")
    expect(agent.locator("#today")).to_contain_text("1 messages")
    shoot(agent, "inbox-overview")


def test_agent_answers_with_another_section_the_bot_found(contexts, server: ServerProcess) -> None:
    customer = contexts().new_page()
    customer_writes(customer, server, "How long do refunds take?")
    store = open_store(load_settings(data_dir=Path(server.env["FRONTDESK_DATA_DIR"])))
    [handoff] = store.list_handoffs()
    assert handoff.packet.draft is not None
    [drafted] = handoff.packet.draft.sources
    candidate = handoff.packet.draft.candidates[0]
    texts = passage_texts(store, [drafted.chunk_id, candidate.chunk_id])
    store.engine.dispose()

    agent = contexts().new_page()
    sign_in(agent, server, "alice")
    agent.locator("tr.handoff", has_text="refunds take").get_by_role("link").click()
    answer = agent.get_by_role("textbox", name="Answer")
    expect(answer).not_to_have_value("")  # a draft of the bot's (or of the escalation agent's)
    context = agent.get_by_role("complementary", name="Handoff context")
    context.get_by_role("button", name=f"Use this answer: {candidate.heading}").click()
    wanted = f"{texts[candidate.chunk_id]}\n\nSource: {candidate.heading}"
    expect(answer).to_have_value(wanted)
    expect(answer).to_be_focused()
    expect(agent.get_by_label("Outcome")).to_have_value("rewritten")
    expect(agent.locator("#answer-from")).to_contain_text(candidate.heading)
    shoot(agent, "inbox-candidates")
    # Back to the drafted section, then to the candidate again: the last one clicked counts.
    context.get_by_role("button", name=f"Use this answer: {drafted.heading}").click()
    expect(answer).to_have_value(f"{texts[drafted.chunk_id]}\n\nSource: {drafted.heading}")
    expect(agent.get_by_label("Outcome")).to_have_value("")
    context.get_by_role("button", name=f"Use this answer: {candidate.heading}").click()
    expect(answer).to_have_value(wanted)
    agent.get_by_role("button", name="Send and resolve").click()
    expect(agent.locator("#queue-rows")).to_contain_text("Nothing waiting")

    reply = customer.locator(".msg.agent")
    expect(reply).to_contain_text(texts[candidate.chunk_id][:60], timeout=15_000)
    expect(reply).to_contain_text(f"Source: {candidate.heading}")
    store = open_store(load_settings(data_dir=Path(server.env["FRONTDESK_DATA_DIR"])))
    resolved = store.get_handoff(handoff.id)
    assert (resolved.outcome, resolved.resolved_by) == ("rewritten", "alice")
    [sent] = [r for r in store.conversation(handoff.conversation_id).replies if r.author != "bot"]
    assert sent.text == wanted
    store.engine.dispose()


def test_two_agents_never_work_one_conversation(contexts, server: ServerProcess) -> None:
    customer = contexts().new_page()
    customer_writes(customer, server, BROKEN_BLENDER)
    alice, bob = contexts().new_page(), contexts().new_page()
    sign_in(alice, server, "alice")
    sign_in(bob, server, "bob")
    for agent in (alice, bob):
        agent.locator("tr.handoff", has_text="cracked jar").get_by_role("link").click()
        expect(agent.get_by_role("textbox", name="Answer")).to_be_visible()

    alice.get_by_role("button", name="Claim").click()
    expect(alice.locator("#holder")).to_have_text("held by alice")

    # Bob's page still shows the form he opened before Alice claimed it.
    bob.get_by_role("textbox", name="Answer").fill("Bob here, sending a new one.")
    bob.get_by_role("button", name="Send and resolve").click()
    expect(bob.get_by_role("alert")).to_have_text("alice is working on this one.")
    expect(bob.get_by_role("textbox", name="Answer")).to_have_count(0)
    expect(bob.locator(".notice")).to_contain_text("alice is working on this conversation")

    alice.get_by_role("textbox", name="Answer").fill("Alice here: a replacement is on its way.")
    alice.get_by_role("button", name="Send and resolve").click()
    expect(customer.locator(".msg.agent")).to_have_count(1, timeout=15_000)
    expect(customer.locator(".msg.agent")).to_contain_text("Alice here")


def test_agent_does_not_see_specialist_conversations(contexts, server: ServerProcess) -> None:
    customer = contexts().new_page()
    customer_writes(customer, server, "My lawyer will hear about this blender order")
    agent = contexts().new_page()
    sign_in(agent, server, "alice")
    expect(agent.locator("#queue-rows")).to_contain_text("Nothing waiting")
    expect(agent.locator(".counts")).not_to_contain_text("specialist")


def test_widget_embeds_the_chat_in_another_site(
    contexts, server: ServerProcess, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text(
        "<!doctype html><title>Harbor Goods</title><h1>Harbor Goods</h1>"
        f'<script src="{server.url}/widget.js" async></script>'
    )
    port = free_port()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    shop = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=shop.serve_forever, daemon=True).start()
    try:
        page = contexts().new_page()
        page.goto(f"http://127.0.0.1:{port}/")
        page.get_by_role("button", name="Chat with us").click()
        chat = page.frame_locator("#frontdesk-chat")
        chat.get_by_label("Your message").fill(BROKEN_BLENDER)
        chat.get_by_label("Your message").press("Enter")
        expect(chat.locator(".note")).to_have_text("A person will answer shortly.", timeout=15_000)
        shoot(page, "widget")
        page.reload()
        expect(page.locator("#frontdesk-chat")).to_be_visible()
        expect(chat.locator(".msg.customer")).to_contain_text("cracked jar")
    finally:
        shop.shutdown()
