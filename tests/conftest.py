"""Shared fixtures. Tests that need PostgreSQL or Redis skip when the server is unreachable,
except under CI=true, where an unreachable server fails the run."""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis

from frontdesk.config import Settings, load_settings
from frontdesk.runtime.services import Services, build_services
from frontdesk.training.intent_model import SHIPPED_FEATURES, read_examples
from frontdesk.training.models_dir import model_dir, train_and_activate

POSTGRES_ADMIN_URL = os.environ.get(
    "FRONTDESK_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("FRONTDESK_TEST_REDIS", "redis://127.0.0.1:6379/15")
IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture(autouse=True)
def _no_config_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests configure frontdesk explicitly, never from the developer's own frontdesk.toml."""
    monkeypatch.delenv("FRONTDESK_CONFIG", raising=False)
    for key in list(os.environ):
        if key.startswith("FRONTDESK_") and not key.startswith("FRONTDESK_TEST_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_server(name: str, host: str, port: int) -> None:
    if _reachable(host, port):
        return
    message = f"{name} is not reachable at {host}:{port}"
    if IN_CI:
        pytest.fail(f"{message}, and CI=true requires it")
    pytest.skip(message)


@pytest.fixture(scope="session")
def trained_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The model a fresh install serves (the shipped features, calibrated on the seeded
    validation split), trained once per test session, so the tests exercise the confidences
    users get."""
    data_dir = tmp_path_factory.mktemp("models")
    train_and_activate(data_dir, read_examples(), features=SHIPPED_FEATURES)
    return model_dir(data_dir)


@pytest.fixture
def data_dir(tmp_path: Path, trained_models: Path) -> Path:
    folder = tmp_path / "data"
    shutil.copytree(trained_models, model_dir(folder))
    return folder


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped afterwards."""
    require_server("PostgreSQL", "127.0.0.1", 5432)
    name = f"frontdesk_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    yield f"{base}/{name}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def redis_queue_name() -> Iterator[str]:
    """A queue name of its own in the test Redis database, with its keys removed afterwards."""
    require_server("Redis", "127.0.0.1", 6379)
    name = f"fdtest-{uuid.uuid4().hex[:12]}"
    yield name
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(f"{name}:*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture(params=["sqlite", "postgres+redis"])
def backend_settings(request: pytest.FixtureRequest, data_dir: Path) -> Settings:
    """Settings for the embedded default and for the scale-out engines, as equals."""
    if request.param == "sqlite":
        return load_settings(data_dir=data_dir)
    url = request.getfixturevalue("postgres_url")
    name = request.getfixturevalue("redis_queue_name")
    return load_settings(
        data_dir=data_dir,
        store={"url": url},
        queue={"backend": "redis", "redis_url": REDIS_URL, "name": name},
    )


@pytest.fixture
def services(backend_settings: Settings) -> Iterator[Services]:
    built = build_services(backend_settings)
    yield built
    built.close()


STAFF_PASSWORD = "correct horse battery staple"


def sign_in(client, username: str = "alice", role: str = "specialist") -> None:
    """Create a staff account in the app's store and sign the test client in with it."""
    from frontdesk.store.staff import add_user, find_user

    store = client.app.state.services.store
    if find_user(store, username) is None:
        add_user(store, username, STAFF_PASSWORD, role)
    response = client.post(
        "/v1/auth/login", json={"username": username, "password": STAFF_PASSWORD}
    )
    assert response.status_code == 200, response.text
