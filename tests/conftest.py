"""Fixtures shared by the test suite: a fresh store directory per test."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

BACKENDS = ("sqlite", "postgres", "http")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "backends(*names): run the test once per store backend its `store` fixture gives "
        f"(default: all of {', '.join(BACKENDS)}); a module opts in with pytestmark",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests marked ``backends`` get their ``store`` fixture once per backend."""
    marker = metafunc.definition.get_closest_marker("backends")
    if marker is not None and "store" in metafunc.fixturenames:
        metafunc.parametrize("store", marker.args or BACKENDS, indirect=True)


@pytest.fixture
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """A store location that does not exist yet (naiad creates it on first use): a directory,
    (``postgres``) a fresh PostgreSQL schema whose files go to a fresh S3 bucket, or
    (``http``) a naiad server in front of one."""
    backend = getattr(request, "param", "sqlite")
    if backend == "sqlite":
        return tmp_path / "store"
    if backend == "http":  # a naiad server over a fresh team store; its token in NAIAD_TOKEN
        server: NaiadServer = request.getfixturevalue("http_server")
        request.getfixturevalue("monkeypatch").setenv("NAIAD_TOKEN", server.token())
        return server.url
    uri: str = request.getfixturevalue("team_store_uri")
    return uri


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never write ./.naiad into the repository, and ignore the developer's NAIAD_* vars."""
    monkeypatch.chdir(tmp_path)
    for name in (
        "NAIAD_STORE",
        "NAIAD_BLOBS",
        "NAIAD_TOKEN",
        "NAIAD_PROJECT",
        "NAIAD_MODE",
        "NAIAD_EXPERIMENT",
        "NAIAD_RUN_ID",
        "NAIAD_OWNER",
        "NAIAD_ON_ERROR",
        "NAIAD_LOG_CHECKPOINTS",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _close_leftover_runs() -> Iterator[None]:
    """Runs a test leaves open on purpose (closed "at interpreter exit") are closed after it,
    so that the next test starts with no naiad thread or hook of it in the process. Runs that
    wider-scoped fixtures hold open (opened before the test started) are left alone."""
    from naiad import _lifecycle

    before = set(_lifecycle._open)
    yield
    for key, run in list(_lifecycle._open.items()):
        if key not in before:
            run.close(timeout=10)


# -- team-store services (PostgreSQL, S3): started by .ci/services.sh ------------------------------
def _service(variable: str, what: str) -> str:
    """The service's address from the environment; missing: fail under CI, skip locally."""
    import os

    value = os.environ.get(variable, "")
    if not value:
        message = f'{variable} is not set: start {what} with `eval "$(.ci/services.sh start)"`'
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message + " (CI=true: a test whose service is missing fails)")
        pytest.skip(message)
    return value


@contextlib.contextmanager
def s3_bucket() -> Iterator[str]:
    """``s3://BUCKET/PREFIX`` of a fresh bucket on the test S3 server, emptied and removed after."""
    import uuid

    _service("NAIAD_TEST_S3", "an S3 server")
    from naiad._storage._s3 import S3Blobs

    bucket = f"naiad-test-{uuid.uuid4().hex[:16]}"
    admin = S3Blobs(f"s3://{bucket}")
    client = admin.client()
    client.create_bucket(Bucket=bucket)
    try:
        yield f"s3://{bucket}/team"
    finally:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for item in page.get("Contents", []):
                client.delete_object(Bucket=bucket, Key=item["Key"])
        client.delete_bucket(Bucket=bucket)
        admin.close()


@contextlib.contextmanager
def postgres_schema() -> Iterator[str]:
    """``postgresql://…?schema=…`` of a fresh schema on the test PostgreSQL server, dropped after."""
    import uuid

    base = _service("NAIAD_TEST_POSTGRES", "PostgreSQL")
    schema = f"t_{uuid.uuid4().hex[:16]}"
    try:
        yield f"{base}{'&' if '?' in base else '?'}schema={schema}"
    finally:
        import psycopg

        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')  # type: ignore[arg-type] - a uuid


@contextlib.contextmanager
def team_store() -> Iterator[str]:
    """A fresh, empty team store: a PostgreSQL schema whose files go to a fresh S3 bucket."""
    from naiad._storage import open_store

    with postgres_schema() as uri, s3_bucket() as blobs:
        open_store(uri, blobs=blobs).close()  # the store records where its files go
        yield uri


@pytest.fixture
def s3_blobs() -> Iterator[str]:
    """``s3://BUCKET/PREFIX`` of a fresh, empty bucket on the test S3 server (moto)."""
    with s3_bucket() as location:
        yield location


@pytest.fixture
def postgres_uri() -> Iterator[str]:
    """``postgresql://…?schema=…`` of a fresh, empty store on the test PostgreSQL server."""
    with postgres_schema() as uri:
        yield uri


@pytest.fixture
def team_store_uri() -> Iterator[str]:
    """A fresh team store (PostgreSQL + S3) that records its blob location."""
    with team_store() as uri:
        yield uri


def location_of(backend: str, directory: Path, stack: contextlib.ExitStack) -> Path | str:
    """A fresh store of ``backend`` for module-scoped fixtures (closed with ``stack``)."""
    if backend == "sqlite":
        return directory
    if backend == "http":
        return stack.enter_context(_module_server(directory))
    return stack.enter_context(team_store())


@contextlib.contextmanager
def _module_server(directory: Path) -> Iterator[str]:
    """A server for a whole module; its token in a credentials file that XDG_CONFIG_HOME points
    at (NAIAD_TOKEN is cleared before every test), for this process and its children."""
    import os

    with naiad_server() as server:
        config = directory.parent / "xdg-config"
        (config / "naiad").mkdir(parents=True, exist_ok=True)
        (config / "naiad" / "credentials").write_text(f'token = "{server.token()}"\n', encoding="utf-8")
        before = os.environ.get("XDG_CONFIG_HOME")
        os.environ["XDG_CONFIG_HOME"] = str(config)
        try:
            yield server.url
        finally:
            if before is None:
                os.environ.pop("XDG_CONFIG_HOME", None)
            else:
                os.environ["XDG_CONFIG_HOME"] = before


@pytest.fixture(scope="module")
def module_stores() -> Iterator[Callable[[str, Path], Path | str]]:
    """For module-scoped fixtures: ``(backend, directory) -> a fresh store location`` (the
    directory itself for sqlite; a team store for postgres), removed when the module ends."""
    with contextlib.ExitStack() as stack:
        yield lambda backend, directory: location_of(backend, directory, stack)


# -- naiad server (uvicorn in a subprocess) over a team store -------------------------------------
class NaiadServer:
    """A ``naiad server`` subprocess on 127.0.0.1 over one team store; restartable."""

    def __init__(
        self, store_uri: str, blobs: str, env: dict[str, str] | None = None, args: tuple[str, ...] = ()
    ) -> None:
        import socket

        self.store_uri, self.blobs, self.extra_env, self.args = store_uri, blobs, dict(env or {}), args
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: Any = None
        self.log: Any = None

    def token(self, holder: str = "ci", read: tuple[str, ...] = (), write: tuple[str, ...] = ("*",)) -> str:
        """A new token with these rights (made directly in the store, as the CLI does)."""
        from naiad._server import _auth
        from naiad._storage._postgres import PostgresStore
        from naiad._storage._postgres_server import ensure_tables

        store = PostgresStore(self.store_uri, create=True, blobs=self.blobs)
        try:
            ensure_tables(store)
            return _auth.create(store, holder, _auth.parse_rights(list(read), list(write)))[1]
        finally:
            store.close()

    def start(self) -> None:
        import os
        import subprocess
        import sys
        import tempfile
        import time
        import urllib.request

        env = {**os.environ, **self.extra_env}
        if self.log is None:  # a restarted server appends to the same log
            self.log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        command = [sys.executable, "-m", "naiad._cli", "server", "--store", self.store_uri]
        command += ["--blobs", self.blobs, "--port", str(self.port), *self.args]
        self.proc = subprocess.Popen(command, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.proc.wait()
                raise RuntimeError(f"naiad server exited {self.proc.returncode}: {self.output()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"naiad server did not come up: {self.output()}")

    def output(self) -> str:
        if self.log is None:
            return ""
        self.log.seek(0)
        return str(self.log.read().decode("utf-8", "replace"))

    def kill(self) -> None:
        """SIGKILL: no graceful shutdown, answers in flight are lost."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)

    def stop(self) -> None:
        """SIGTERM: a graceful shutdown (requests in flight finish)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except Exception:
                self.proc.kill()
                self.proc.wait(30)

    def close(self) -> None:
        self.stop()
        if self.log is not None:
            self.log.close()
            self.log = None


@contextlib.contextmanager
def naiad_server(env: dict[str, str] | None = None, args: tuple[str, ...] = ()) -> Iterator[NaiadServer]:
    """A running server over a fresh team store (PostgreSQL schema + S3 bucket)."""
    pytest.importorskip("uvicorn")
    from naiad._storage import open_store

    with postgres_schema() as uri, s3_bucket() as blobs:
        open_store(uri, blobs=blobs).close()
        server = NaiadServer(uri, blobs, env, args)
        try:
            server.start()
            yield server
        finally:
            server.close()


@pytest.fixture
def http_server() -> Iterator[NaiadServer]:
    """A ``naiad server`` on 127.0.0.1 over a fresh team store."""
    with naiad_server() as server:
        yield server
