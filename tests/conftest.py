"""Shared fixtures. Tests that need PostgreSQL or Redis skip when the server is unreachable,
except under CI=true, where an unreachable server fails the run.

What a first start builds is built once per session and copied per test: the trained intent
model, and the store migrated to head with the demo articles and the demo shop loaded (a SQLite
file, and for PostgreSQL a template database). `build_services` finds such a store complete and
adds nothing, so a test sees what it would after migrating and seeding its own.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.metadata
import os
import shutil
import socket
import sqlite3
import sys
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import pydantic_ai.models
import pytest
import redis

import frontdesk
from fake_servers import FakeShopify, serve
from frontdesk.clock import set_clock, utcnow
from frontdesk.config import Settings, load_settings
from frontdesk.embedding.minilm import packaged_model_dir
from frontdesk.runtime.services import Services, build_services
from frontdesk.training.intent_model import SHIPPED_FEATURES, data_hash, read_examples
from frontdesk.training.models_dir import model_dir, train_and_activate

if TYPE_CHECKING:
    from email_peers import Relay

POSTGRES_ADMIN_URL = os.environ.get(
    "FRONTDESK_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("FRONTDESK_TEST_REDIS", "redis://127.0.0.1:6379/15")
IN_CI = os.environ.get("CI", "").lower() == "true"

# No test reaches a model provider: with this False, pydantic-ai refuses every model request.
# A fake provider on loopback allows requests only while it serves (`fake_openai.serve`, the
# Bedrock stand-in in test_llm_providers.py), with pydantic-ai's override_allow_model_requests.
pydantic_ai.models.ALLOW_MODEL_REQUESTS = False


class MovedClock:
    """The project's clock (`frontdesk.clock`), standing still until the test moves it on."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture
def clock() -> Iterator[MovedClock]:
    """Time passes only when the test says so: no sleeping, no wall-clock assertions. (A module
    with a clock of another kind, e.g. test_commerce_adapters.py, defines its own fixture.)"""
    moved = MovedClock()
    previous = set_clock(moved)
    yield moved
    set_clock(previous)


@pytest.fixture
def allow_model_requests() -> Iterator[None]:
    """For a test whose model request must be attempted although nothing answers it (e.g. a
    provider client that fails before sending), as pydantic-ai's own tests do."""
    with pydantic_ai.models.override_allow_model_requests(True):
        yield


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Staff passwords are argon2-hashed at the library's production cost (about 0.2 s each);
    the tests create and sign in many accounts, so in-process they hash at the lowest cost
    argon2 allows. The hashing and checking code is the product's own."""
    from argon2 import PasswordHasher

    from frontdesk.store import staff

    monkeypatch.setattr(staff, "HASHER", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


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


def _intent_model_key() -> str:
    """Everything the trained model depends on: the seed examples, the features, the training
    and encoder code, the MiniLM weights and the numeric libraries' versions."""
    digest = hashlib.sha256()
    digest.update(data_hash(read_examples()).encode())
    digest.update(repr(SHIPPED_FEATURES).encode())
    source = Path(frontdesk.__file__).parent
    for package in ("training", "embedding"):
        for path in sorted((source / package).rglob("*")):
            if path.is_file() and path.suffix in {".py", ".csv"}:
                digest.update(path.relative_to(source).as_posix().encode())
                digest.update(path.read_bytes())
    for path in sorted(packaged_model_dir().rglob("*")):
        if path.is_file():
            digest.update(f"{path.name} {path.stat().st_size}".encode())
    for library in ("numpy", "scipy", "scikit-learn", "joblib"):
        digest.update(f"{library}=={importlib.metadata.version(library)}".encode())
    digest.update(sys.version.encode())
    return digest.hexdigest()[:20]


@pytest.fixture(scope="session")
def trained_models(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The model a fresh install serves (the shipped features, calibrated on the seeded
    validation split), so the tests exercise the confidences users get.

    Training it takes minutes on a small machine, so it is trained once per session and kept in
    pytest's cache (.pytest_cache) under a key of everything it is made from: a later session
    reuses it until the seed data, the training or encoder code, the MiniLM files or the
    libraries change. `pytest --cache-clear` or `-p no:cacheprovider` trains afresh."""
    cache = getattr(request.config, "cache", None)
    if cache is None:
        data_dir = tmp_path_factory.mktemp("models")
        train_and_activate(data_dir, read_examples(), features=SHIPPED_FEATURES)
        return model_dir(data_dir)
    folder = cache.mkdir("frontdesk-intent-model")
    kept = folder / _intent_model_key()
    # One session trains while the others (pytest-xdist workers, a second run) wait for it; the
    # model is moved into place whole, so an interrupted training leaves nothing half-written.
    with (folder / "training.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not kept.is_dir():
            fresh = Path(tempfile.mkdtemp(dir=folder, prefix="training-"))
            train_and_activate(fresh, read_examples(), features=SHIPPED_FEATURES)
            fresh.rename(kept)
    return model_dir(kept)


def _first_start(data_dir: Path, store_url: str | None = None) -> None:
    """Build and close the services once over `data_dir` (and `store_url`), as `frontdesk serve`
    does on a first start, with no developer config or FRONTDESK_ variables in the way."""
    with pytest.MonkeyPatch.context() as patch:
        for key in list(os.environ):
            if key.startswith("FRONTDESK_") and not key.startswith("FRONTDESK_TEST_"):
                patch.delenv(key)
        patch.chdir(data_dir.parent)  # no frontdesk.toml here
        build_services(load_settings(data_dir=data_dir, store={"url": store_url})).close()


@pytest.fixture(scope="session")
def seeded_store_file(tmp_path_factory: pytest.TempPathFactory, trained_models: Path) -> Path:
    """The embedded store after a first start, as one self-contained SQLite file (the backup API
    copies a consistent snapshot, WAL included)."""
    data_dir = tmp_path_factory.mktemp("seeded-sqlite") / "data"
    shutil.copytree(trained_models, model_dir(data_dir))
    _first_start(data_dir)
    template = data_dir.parent / "frontdesk.db"
    with (
        closing(sqlite3.connect(data_dir / "frontdesk.db")) as source,
        closing(sqlite3.connect(template)) as copy,
    ):
        source.backup(copy)
    return template


@pytest.fixture
def data_dir(tmp_path: Path, trained_models: Path, seeded_store_file: Path) -> Path:
    """A data dir as a first start leaves it: the shipped model and the seeded embedded store."""
    folder = tmp_path / "data"
    shutil.copytree(trained_models, model_dir(folder))
    shutil.copyfile(seeded_store_file, folder / "frontdesk.db")
    return folder


def _admin_url_for(name: str) -> str:
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    return f"{base}/{name}"


def _create_database(name: str, template: str | None = None) -> None:
    copy = f' TEMPLATE "{template}"' if template else ""
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"{copy}')


def _drop_database(name: str) -> None:
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped afterwards."""
    require_server("PostgreSQL", "127.0.0.1", 5432)
    name = f"frontdesk_test_{uuid.uuid4().hex[:12]}"
    _create_database(name)
    yield _admin_url_for(name)
    _drop_database(name)


@pytest.fixture(scope="session")
def seeded_postgres_template(
    tmp_path_factory: pytest.TempPathFactory, trained_models: Path
) -> Iterator[str]:
    """A PostgreSQL database after a first start, never connected to again: CREATE DATABASE
    copies it only while nobody is connected."""
    require_server("PostgreSQL", "127.0.0.1", 5432)
    name = f"frontdesk_template_{uuid.uuid4().hex[:12]}"
    _create_database(name)
    data_dir = tmp_path_factory.mktemp("seeded-postgres") / "data"
    shutil.copytree(trained_models, model_dir(data_dir))
    try:
        _first_start(data_dir, _admin_url_for(name))
        yield name
    finally:
        _drop_database(name)


@pytest.fixture
def seeded_postgres_url(seeded_postgres_template: str) -> Iterator[str]:
    """A PostgreSQL database as a first start leaves it, copied from the session's template,
    dropped afterwards."""
    name = f"frontdesk_test_{uuid.uuid4().hex[:12]}"
    _create_database(name, template=seeded_postgres_template)
    yield _admin_url_for(name)
    _drop_database(name)


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
    url = request.getfixturevalue("seeded_postgres_url")
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


@pytest.fixture
def relay() -> Iterator[Relay]:
    """An SMTP relay on loopback that keeps what frontdesk sends (email_peers.py)."""
    from email_peers import Relay  # it reads this module's IN_CI: imported once this one is

    peer = Relay()
    peer.controller.start()
    yield peer
    peer.controller.stop()


class WatchedCondition(threading.Condition):
    """A real condition variable that also says when someone starts waiting on it, so a test can
    act exactly while the code under test waits (its own wake-up path, unchanged)."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting = threading.Event()

    def wait(self, timeout: float | None = None) -> bool:
        self.waiting.set()
        return super().wait(timeout)


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


@pytest.fixture(scope="module")
def shopify_server() -> Iterator[tuple[FakeShopify, str]]:
    """A local server speaking Shopify's Admin and Storefront GraphQL, one per test module."""
    fake = FakeShopify()
    with serve(fake.app) as url:
        yield fake, url
