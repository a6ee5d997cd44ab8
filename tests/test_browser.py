"""The web chat page in Debian's Chromium, driven by Playwright (no downloaded browser)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from conftest import IN_CI, REDIS_URL
from conftest import STAFF_PASSWORD as PASSWORD
from frontdesk.channels.live import RedisLiveFeed
from frontdesk.config import load_settings
from frontdesk.runtime.services import open_store
from frontdesk.store.staff import add_user
from server import ServerProcess

pytestmark = pytest.mark.browser

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = shutil.which("chromium")
    if executable is None:
        message = "Debian's chromium is not installed (apt-get install chromium)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def server(data_dir: Path, tmp_path: Path) -> Iterator[ServerProcess]:
    store = open_store(load_settings(data_dir=data_dir))
    add_user(store, "alice", PASSWORD, "agent")
    add_user(store, "bob", PASSWORD, "agent")
    store.engine.dispose()
    process = ServerProcess({"FRONTDESK_DATA_DIR": str(data_dir)}, tmp_path / "server.log")
    process.start()
    yield process
    process.stop()


def refusals_of(context: BrowserContext, refused: list[str] | None = None) -> list[str]:
    """What the browser refuses to run, load or frame by a Content-Security-Policy, as it logs
    it (into `refused` when given), from now on."""
    refused = [] if refused is None else refused
    context.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return refused


@pytest.fixture
def page(browser: Browser, server: ServerProcess) -> Iterator[Page]:
    context = browser.new_context()
    refused = refusals_of(context)
    opened = context.new_page()
    opened.goto(server.url + "/")
    yield opened
    context.close()
    assert refused == []  # the chat page runs whole under its policy


def say(page: Page, text: str) -> None:
    page.get_by_label("Your message").fill(text)
    page.get_by_label("Your message").press("Enter")


def test_customer_types_and_sees_the_bot_reply(page: Page) -> None:
    say(page, "how do I use a discount code?")
    expect(page.locator(".msg.customer")).to_have_text("how do I use a discount code?")
    reply = page.locator(".msg.bot")
    expect(reply).to_contain_text("code", timeout=10_000)
    expect(reply.locator(".sources")).to_contain_text("From our help centre")
    page.reload()
    expect(page.locator(".msg.bot")).to_contain_text("code")


def test_customer_rates_the_answered_chat_in_one_click(page: Page, data_dir: Path) -> None:
    say(page, "how do I use a discount code?")
    expect(page.locator(".msg.bot")).to_contain_text("code", timeout=10_000)
    page.locator(".rate").get_by_role("button", name="4").click()
    expect(page.locator(".rate")).to_have_text("Thanks for your rating (4 out of 5).")
    conversation_id = page.evaluate("localStorage.getItem('frontdesk.conversation')")
    store = open_store(load_settings(data_dir=data_dir))
    assert store.rating(conversation_id) == 4
    store.engine.dispose()
    page.reload()
    expect(page.locator(".rate")).to_have_text("Thanks for your rating (4 out of 5).")


def test_handed_off_message_shows_the_person_reply_without_reload(
    page: Page, server: ServerProcess
) -> None:
    say(page, "I want to talk to a real person")
    expect(page.locator(".note")).to_have_text("A person will answer shortly.", timeout=10_000)
    with httpx.Client(base_url=server.url) as staff:
        signed = staff.post("/v1/auth/login", json={"username": "alice", "password": PASSWORD})
        assert signed.status_code == 200
        [handoff] = staff.get("/v1/handoffs").json()
        answered = staff.post(
            f"/v1/handoffs/{handoff['id']}/reply",
            json={"text": "Hi, this is Alice. How can I help?"},
        )
    assert answered.status_code == 201
    expect(page.locator(".msg.agent")).to_contain_text("this is Alice", timeout=10_000)


def test_refused_message_shows_the_reason(page: Page) -> None:
    page.evaluate("document.getElementById('text').removeAttribute('maxlength')")
    say(page, "x" * 4001)
    expect(page.locator("#error")).to_contain_text("the limit is 4000")


@pytest.mark.redis
def test_answer_shows_while_the_bot_is_still_writing_it(
    browser: Browser, data_dir: Path, tmp_path: Path, redis_queue_name: str
) -> None:
    # No worker: the message stays unanswered, and partial text arrives as a worker sends it.
    process = ServerProcess(
        {
            "FRONTDESK_DATA_DIR": str(data_dir),
            "FRONTDESK_QUEUE__BACKEND": "redis",
            "FRONTDESK_QUEUE__REDIS_URL": REDIS_URL,
            "FRONTDESK_QUEUE__NAME": redis_queue_name,
        },
        tmp_path / "server.log",
        command=("serve", "--no-worker"),
    )
    process.start()
    feed = RedisLiveFeed(REDIS_URL, redis_queue_name)
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(process.url + "/")
        say(page, "do you ship to Norway?")
        expect(page.locator(".msg.customer")).to_have_text("do you ship to Norway?")
        conversation = page.evaluate("localStorage.getItem('frontdesk.conversation')")
        token = page.evaluate("localStorage.getItem('frontdesk.conversation_token')")
        view = httpx.get(
            f"{process.url}/v1/conversations/{conversation}",
            headers={"X-Conversation-Token": token},
        ).json()
        message_id = view["messages"][0]["id"]
        feed.publish(conversation, {"message_id": message_id, "text": "Yes, we ship"})
        expect(page.locator(".msg.bot.writing")).to_contain_text("Yes, we ship")
        feed.publish(conversation, {"message_id": message_id, "text": "Yes, we ship to Norway."})
        expect(page.locator(".msg.bot.writing")).to_contain_text("to Norway.")
        feed.publish(conversation, {"message_id": message_id, "retracted": True, "text": ""})
        expect(page.locator(".msg.bot")).to_have_count(0)
    finally:
        context.close()
        feed.close()
        process.stop()
