from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from frontdesk.cli.main import app
from frontdesk.config import get_settings
from server import ServerProcess

runner = CliRunner()


@pytest.fixture(autouse=True)
def _fresh_settings() -> None:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_bad_arguments_exit_2_with_a_message() -> None:
    result = runner.invoke(app, ["serve", "--port", "99999"])
    assert result.exit_code == 2
    assert "--port" in result.output
    assert runner.invoke(app, ["no-such-command"]).exit_code == 2
    assert runner.invoke(app, ["send"]).exit_code == 2


def test_bad_config_exits_2_naming_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDESK_QUEUE__BACKEND", "carrier-pigeon")
    result = runner.invoke(app, ["migrate"])
    assert result.exit_code == 2
    assert "queue.backend" in result.output


def test_migrate_train_and_ingest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDESK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FRONTDESK_KNOWLEDGE__DENSE", "off")  # vectors: test_knowledge.py
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    data = tmp_path / "intents.csv"
    data.write_text(
        "text,intent\n"
        + "".join(f"where is parcel {i},track\ncancel order {i},cancel\n" for i in range(5))
    )
    trained = runner.invoke(app, ["train", "--data", str(data), "--no-calibrate"])
    assert trained.exit_code == 0, trained.output
    assert "2 intents" in trained.output
    articles = tmp_path / "kb"
    articles.mkdir()
    (articles / "gifts.md").write_text("# Gift wrap\n\n## Can you wrap gifts?\nYes, for $3.\n")
    first = runner.invoke(app, ["ingest", str(articles)])
    assert first.exit_code == 0 and "1 added" in first.output
    second = runner.invoke(app, ["ingest", str(articles)])
    assert "0 added, 0 updated, 1 unchanged" in second.output


def test_train_and_ingest_refuse_bad_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDESK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FRONTDESK_KNOWLEDGE__DENSE", "off")
    bad = tmp_path / "bad.csv"
    bad.write_text("utterance,label\nhi,greet\n")
    result = runner.invoke(app, ["train", "--data", str(bad)])
    assert result.exit_code == 2
    assert "text and intent" in result.output
    assert runner.invoke(app, ["ingest", str(tmp_path / "nothing")]).exit_code == 2
    (tmp_path / "doc.pdf").write_bytes(b"%PDF")
    broken = runner.invoke(app, ["ingest", str(tmp_path / "doc.pdf")])
    assert broken.exit_code == 1
    assert "doc.pdf: broken PDF" in broken.output
    assert "0 added, 0 updated, 0 unchanged, 1 skipped" in broken.output


def test_send_without_a_service_says_how_to_start_one() -> None:
    result = runner.invoke(app, ["send", "hello", "--url", "http://127.0.0.1:9"])
    assert result.exit_code == 1
    assert "frontdesk serve" in result.output


def test_send_prints_the_reply_or_that_a_person_will_answer(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through a real `frontdesk serve` with its worker: the customer's view has no decisions, so
    a message is done when its reply or handoff is there."""
    monkeypatch.setenv("FRONTDESK_DATA_DIR", str(data_dir))
    server = ServerProcess({"FRONTDESK_DATA_DIR": str(data_dir)}, tmp_path / "server.log")
    server.start()
    try:
        answered = runner.invoke(app, ["send", "where is my order?", "--url", server.url])
        handed = runner.invoke(app, ["send", "let me speak to a human agent", "--url", server.url])
    finally:
        server.stop()
    assert answered.exit_code == 0, answered.output
    assert "conversation " in answered.output and "token " in answered.output
    assert "email" in answered.output.lower()  # the real-time agent asks who the customer is
    assert handed.exit_code == 0, handed.output
    assert "a person will answer shortly" in handed.output


def test_shop_import_and_demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDESK_DATA_DIR", str(tmp_path / "data"))
    shop = {
        "products": {
            "p1": {
                "name": "Lamp",
                "product_id": "p1",
                "variants": {
                    "i1": {
                        "item_id": "i1",
                        "options": {"c": "red"},
                        "available": True,
                        "price": 9.5,
                    }
                },
            }
        },
        "users": {
            "ann_lee_1": {
                "name": {"first_name": "Ann", "last_name": "Lee"},
                "address": {
                    "address1": "1 A St",
                    "address2": "",
                    "city": "X",
                    "country": "USA",
                    "state": "CA",
                    "zip": "90001",
                },
                "email": "ann@example.com",
                "payment_methods": {"paypal_1": {"source": "paypal", "id": "paypal_1"}},
                "orders": ["#W1000000"],
            }
        },
        "orders": {
            "#W1000000": {
                "order_id": "#W1000000",
                "user_id": "ann_lee_1",
                "address": {
                    "address1": "1 A St",
                    "address2": "",
                    "city": "X",
                    "country": "USA",
                    "state": "CA",
                    "zip": "90001",
                },
                "items": [
                    {
                        "name": "Lamp",
                        "product_id": "p1",
                        "item_id": "i1",
                        "price": 9.5,
                        "options": {"c": "red"},
                    }
                ],
                "status": "pending",
                "fulfillments": [],
                "payment_history": [
                    {"transaction_type": "payment", "amount": 9.5, "payment_method_id": "paypal_1"}
                ],
            }
        },
    }
    path = tmp_path / "db.json"
    path.write_text(json.dumps(shop))
    result = runner.invoke(app, ["shop", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "1 customers, 1 orders and 1 products" in result.output
    from frontdesk.commerce.embedded import EmbeddedShop
    from frontdesk.config import load_settings
    from frontdesk.runtime.services import open_store

    store = open_store(load_settings())
    assert EmbeddedShop(store).find_customer_by_email("ANN@example.com") == "ann_lee_1"
    bad = tmp_path / "bad.json"
    bad.write_text("[]")
    refused = runner.invoke(app, ["shop", "import", str(bad)])
    assert refused.exit_code == 2 and "products, users and orders" in refused.output
    assert "300 customers" in runner.invoke(app, ["shop", "demo"]).output
