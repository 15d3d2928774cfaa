"""Fixtures shared by the test suite: a fresh store directory per test."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

BACKENDS = ("sqlite", "postgres")


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
    or (``postgres``) a fresh PostgreSQL schema whose files go to a fresh S3 bucket."""
    if getattr(request, "param", "sqlite") == "sqlite":
        return tmp_path / "store"
    uri: str = request.getfixturevalue("team_store_uri")
    return uri


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never write ./.naiad into the repository, and ignore the developer's NAIAD_* vars."""
    monkeypatch.chdir(tmp_path)
    for name in (
        "NAIAD_STORE",
        "NAIAD_BLOBS",
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
    return stack.enter_context(team_store())


@pytest.fixture(scope="module")
def module_stores() -> Iterator[Callable[[str, Path], Path | str]]:
    """For module-scoped fixtures: ``(backend, directory) -> a fresh store location`` (the
    directory itself for sqlite; a team store for postgres), removed when the module ends."""
    with contextlib.ExitStack() as stack:
        yield lambda backend, directory: location_of(backend, directory, stack)
