"""Tokens through a real `naiad server`: every call checks them, and they never leak."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

import naiad
from naiad.errors import AccessDenied, ConfigError
from tests.conftest import NaiadServer


def test_a_run_without_a_token_is_refused_with_the_fix(http_server: NaiadServer) -> None:
    with pytest.raises(AccessDenied, match="needs a token: pass token=") as caught:
        naiad.Run(store=http_server.url, run_id="a")
    assert caught.value.status == 401


def test_a_token_for_another_project_cannot_read_or_write(http_server: NaiadServer) -> None:
    mine = http_server.token("alice", write=("vision",))
    with naiad.Run(store=http_server.url, project="vision", run_id="a", token=mine) as run:
        run["x"] = 1
    with pytest.raises(AccessDenied, match="no access to project 'nlp'"):
        naiad.Run(store=http_server.url, project="nlp", run_id="b", token=mine)
    other = http_server.token("bob", write=("nlp",))
    with pytest.raises(AccessDenied, match="no access to project 'vision'"):
        naiad.Run(store=http_server.url, project="vision", run_id="a", mode="read-only", token=other)
    store = naiad._storage.open_store(http_server.url, token=other)
    try:
        assert store.projects() == []  # the projects it may not read are not even listed
    finally:
        store.close()


def test_a_read_only_token_reads_but_cannot_write(http_server: NaiadServer) -> None:
    with naiad.Run(store=http_server.url, run_id="a", token=http_server.token()) as run:
        run["x"] = 1
    reader = http_server.token("dashboard", read=("default",))
    back = naiad.Run(store=http_server.url, run_id="a", mode="read-only", token=reader)
    assert back["x"].fetch() == 1
    back.close()
    with pytest.raises(AccessDenied, match="only read access to project 'default'; this call needs write"):
        naiad.Run(store=http_server.url, run_id="a", token=reader)


def _cli(server: NaiadServer, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "naiad._cli", "server", "token", *args, "--store", server.store_uri],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_revoked_token_fails_on_its_next_call(http_server: NaiadServer) -> None:
    made = _cli(http_server, "create", "--holder", "ci-bot", "--write", "*")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    token_id = token.split("_")[1]
    store = naiad._storage.open_store(http_server.url, token=token)
    try:
        assert store.projects() == []
        listed = _cli(http_server, "list")
        assert token_id in listed.stdout and "ci-bot" in listed.stdout and "active" in listed.stdout
        assert token.split("_", 2)[2] not in listed.stdout  # the secret is never shown again
        revoked = _cli(http_server, "revoke", token_id)
        assert revoked.returncode == 0, revoked.stderr
        with pytest.raises(AccessDenied, match=f"Token {token_id} \\(ci-bot\\) was revoked"):
            store.projects()
        assert "revoked" in _cli(http_server, "list").stdout
    finally:
        store.close()


def test_tokens_are_hashed_at_rest_and_kept_out_of_the_access_log(http_server: NaiadServer) -> None:
    token = http_server.token("alice")
    with naiad.Run(store=http_server.url, run_id="a", token=token) as run:
        run["x"] = 1
    secret = token.split("_", 2)[2]
    base, _, query = http_server.store_uri.partition("?schema=")
    with psycopg.connect(base) as conn:
        rows = conn.execute(f'SELECT * FROM "{query}".server_tokens').fetchall()  # type: ignore[arg-type]
    assert rows and all(secret not in str(row) for row in rows)
    log = http_server.output()
    assert '"path": "/api/v1/batch"' in log and token.split("_")[1] in log  # who wrote, by token id
    assert secret not in log


def test_a_token_in_tool_naiad_is_refused(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.naiad]\nstore = "http://127.0.0.1:1"\ntoken = "naiad_x"\n'
    )
    with pytest.raises(ConfigError, match=r"\[tool.naiad\] token .* is refused: tokens never go in files"):
        naiad.Run(run_id="a")


def test_the_token_comes_from_the_credentials_file(http_server: NaiadServer, tmp_path: Path) -> None:
    config = tmp_path / "config"
    (config / "naiad").mkdir(parents=True)
    (config / "naiad" / "credentials").write_text(f'["{http_server.url}"]\ntoken = "{http_server.token()}"\n')
    script = f"import naiad\nwith naiad.Run(store={http_server.url!r}, run_id='c') as r:\n    r['x'] = 2\n"
    env = {**os.environ, "XDG_CONFIG_HOME": str(config)}
    env.pop("NAIAD_TOKEN", None)
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    store = naiad._storage.open_store(http_server.url, token=http_server.token())
    try:
        assert store.find_run("default", "c") is not None
    finally:
        store.close()
