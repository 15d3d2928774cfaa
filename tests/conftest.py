"""Fixtures shared by the test suite: a fresh store directory per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A store location that does not exist yet (naiad creates it on first use)."""
    return tmp_path / "store"


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


@pytest.fixture
def s3_blobs(request: pytest.FixtureRequest) -> Iterator[str]:
    """``s3://BUCKET/PREFIX`` of a fresh, empty bucket on the test S3 server (moto)."""
    import uuid

    _service("NAIAD_TEST_S3", "an S3 server")
    from naiad._storage._s3 import S3Blobs

    bucket = f"naiad-test-{uuid.uuid4().hex[:16]}"
    admin = S3Blobs(f"s3://{bucket}")
    client = admin.client()
    client.create_bucket(Bucket=bucket)
    yield f"s3://{bucket}/team"
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            client.delete_object(Bucket=bucket, Key=item["Key"])
    client.delete_bucket(Bucket=bucket)
    admin.close()


@pytest.fixture
def postgres_uri() -> Iterator[str]:
    """``postgresql://…?schema=…`` of a fresh, empty schema on the test PostgreSQL server."""
    import uuid

    base = _service("NAIAD_TEST_POSTGRES", "PostgreSQL")
    schema = f"t_{uuid.uuid4().hex[:16]}"
    yield f"{base}{'&' if '?' in base else '?'}schema={schema}"
    import psycopg

    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')  # type: ignore[arg-type] - a uuid
