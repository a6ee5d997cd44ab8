from __future__ import annotations

from pathlib import Path

import pytest

from frontdesk.config import ConfigError, get_settings, load_settings


def test_defaults_are_the_embedded_engines(tmp_path: Path) -> None:
    settings = load_settings()
    assert settings.store_url == "sqlite:///data/frontdesk.db"
    assert settings.queue.backend == "sqlite"
    assert (settings.routing.auto_threshold, settings.routing.human_threshold) == (0.9, 0.7)
    assert (settings.server.host, settings.server.port) == ("127.0.0.1", 8000)


def test_toml_file_then_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "frontdesk.toml").write_text(
        '[queue]\nbackend = "redis"\n[routing]\nauto_threshold = 0.95\n[server]\nport = 9000\n'
    )
    monkeypatch.setenv("FRONTDESK_SERVER__PORT", "9100")
    settings = load_settings()
    assert settings.queue.backend == "redis"
    assert settings.routing.auto_threshold == 0.95
    assert settings.server.port == 9100


def test_settings_are_built_once_and_not_at_import(monkeypatch: pytest.MonkeyPatch) -> None:
    get_settings.cache_clear()
    monkeypatch.setenv("FRONTDESK_SERVER__PORT", "8123")
    assert get_settings() is get_settings()
    assert get_settings().server.port == 8123
    get_settings.cache_clear()


@pytest.mark.parametrize(
    ("env", "value", "named"),
    [
        ("FRONTDESK_SERVER__PORT", "eighty", ["server.port", "'eighty'", "FRONTDESK_SERVER__PORT"]),
        ("FRONTDESK_SERVER__PORT", "70000", ["server.port", "1 to 65535"]),
        ("FRONTDESK_QUEUE__BACKEND", "kafka", ["queue.backend", "'kafka'", "'redis'"]),
        ("FRONTDESK_STORE__URL", "mysql://x@y/z", ["store.url", "not supported"]),
        ("FRONTDESK_STORE__URL", "nonsense", ["store.url", "not a database URL"]),
        ("FRONTDESK_QUEUE__REDIS_URL", "http://x", ["queue.redis_url", "redis://"]),
        ("FRONTDESK_ROUTING__AUTO_THRESHOLD", "1.5", ["routing.auto_threshold", "0–1"]),
        ("FRONTDESK_ROUTING__HUMAN_THRESHOLD", "0.95", ["routing", "must be below"]),
        ("FRONTDESK_LOG_LEVEL", "loud", ["log_level", "debug, info"]),
    ],
)
def test_bad_values_name_key_value_and_fix(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str, named: list[str]
) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert "Fix:" in message
    for part in named:
        assert part in message


def test_unknown_key_in_the_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "frontdesk.toml").write_text("[queue]\nbakend = 'redis'\n")
    with pytest.raises(ConfigError, match=r"queue\.bakend.*\n.*remove it or check its spelling"):
        load_settings()


def test_malformed_toml_and_missing_named_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "frontdesk.toml").write_text("[queue\n")
    with pytest.raises(ConfigError, match="cannot be read as TOML"):
        load_settings()
    monkeypatch.setenv("FRONTDESK_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match="no such file"):
        load_settings()


def test_scale_out_shop_and_crm_need_their_addresses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDESK_COMMERCE__BACKEND", "shopify")
    with pytest.raises(ConfigError, match="needs shop_url"):
        load_settings()
    monkeypatch.delenv("FRONTDESK_COMMERCE__BACKEND")
    monkeypatch.setenv("FRONTDESK_CRM__BACKEND", "salesforce")
    with pytest.raises(ConfigError, match="needs instance_url and client_id"):
        load_settings()
    monkeypatch.setenv("FRONTDESK_LLM__PROVIDER", "openai")
    with pytest.raises(ConfigError, match="needs base_url"):
        load_settings(crm={"backend": "embedded"})


def test_shopify_and_salesforce_are_chosen_by_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from frontdesk.commerce.salesforce import SalesforceCrm
    from frontdesk.commerce.shopify import ShopifyCommerce
    from frontdesk.runtime.services import open_shop, open_store

    settings = load_settings(
        data_dir=tmp_path / "data",
        commerce={"backend": "shopify", "shop_url": "http://127.0.0.1:9"},
        crm={"backend": "salesforce", "instance_url": "http://127.0.0.1:9", "client_id": "app"},
    )
    store = open_store(settings)
    with pytest.raises(ConfigError, match="SHOPIFY_ACCESS_TOKEN is not set"):
        open_shop(settings, store)
    monkeypatch.setenv("SHOPIFY_ACCESS_TOKEN", "shpat_test")
    monkeypatch.setenv("SALESFORCE_CLIENT_SECRET", "secret")
    commerce, crm = open_shop(settings, store)
    assert isinstance(commerce, ShopifyCommerce) and isinstance(crm, SalesforceCrm)
    commerce.close()
    crm.close()
