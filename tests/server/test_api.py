"""The HTTP API itself: health, typed and validated calls, size limits, clear refusals."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from naiad._storage._wire import dumps
from tests.conftest import NaiadServer, naiad_server


def _post(server: NaiadServer, path: str, body: bytes, token: str | None) -> tuple[int, dict[str, str]]:
    headers = {"content-type": "application/x-naiad-wire+json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    request = urllib.request.Request(f"{server.url}{path}", data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, {}
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_healthz_answers_without_a_token(http_server: NaiadServer) -> None:
    with urllib.request.urlopen(f"{http_server.url}/healthz", timeout=10) as r:
        from naiad._storage._postgres_schema import SCHEMA_VERSION

        assert json.loads(r.read()) == {"ok": True, "schema_version": SCHEMA_VERSION}


@pytest.mark.parametrize(
    ("path", "args", "status", "says"),
    [
        ("/api/v1/call/drop_tables", {}, 400, "'drop_tables' is not a store call"),
        ("/api/v1/call/get_run", {"pk": "1; DROP"}, 400, "argument 'pk' is not of type"),
        ("/api/v1/call/get_run", {}, 400, "get_run needs the argument 'pk'"),
        ("/api/v1/call/fields", {"run_pk": 1, "evil": 2}, 400, "fields takes no argument 'evil'"),
        ("/api/v1/batch", {"run_pk": 1, "ops": []}, 400, "a batch carries its writer"),
    ],
)
def test_a_malformed_call_is_refused_with_what_is_wrong(
    http_server: NaiadServer, path: str, args: dict[str, object], status: int, says: str
) -> None:
    got, answer = _post(http_server, path, dumps(args), http_server.token())
    assert (got, answer["error"]) == (status, "WireError")
    assert says in answer["message"]


def test_a_call_without_a_token_is_refused_before_anything_runs(http_server: NaiadServer) -> None:
    got, answer = _post(http_server, "/api/v1/call/projects", dumps({}), None)
    assert got == 401 and answer["error"] == "AccessDenied"


def test_a_body_over_the_limit_is_refused() -> None:
    with naiad_server(args=("--max-body-mb", "0.01")) as server:
        got, answer = _post(server, "/api/v1/call/projects", b"[" + b"1," * 20_000 + b"1]", server.token())
        assert got == 413 and "larger than this server's limit of 10485 bytes" in answer["message"]


def test_replicas_share_everything_through_the_database() -> None:
    """Two servers (one with two worker processes) over one store: a token made once works on
    both, a batch sent to both is applied once, and a revocation holds on both at once."""
    from naiad._storage import Assign, Incr, RunSpec, open_store
    from naiad._storage._http import HttpStore
    from naiad._storage._postgres import PostgresStore
    from naiad._storage._postgres_server import revoke
    from naiad._types import FieldType
    from naiad.errors import AccessDenied
    from tests.conftest import NaiadServer

    with naiad_server(args=("--workers", "2")) as first:
        second = NaiadServer(first.store_uri, first.blobs)
        try:
            second.start()
            token = first.token()
            a, b = open_store(first.url, token=token), open_store(second.url, token=token)
            assert isinstance(a, HttpStore) and isinstance(b, HttpStore)
            run = a.open_run(RunSpec("p", "r", "e", None, None, 1.0, "o", "h"))
            a.write_batch(run.pk, [Assign("count", int(FieldType.INTEGER), 0)])
            batch = {
                "writer": "w" * 16,
                "seq": 1,
                "run_pk": run.pk,
                "ops": [Incr("count", 1)],
                "heartbeat": None,
            }
            assert a.request("POST", "/api/v1/batch", batch)["applied"] is True
            assert b.request("POST", "/api/v1/batch", batch)["applied"] is False  # a retry via the other
            assert '"path": "/api/v1/batch"' in first.output()  # worker processes log their requests
            count = b.field(run.pk, "count")
            assert count is not None and count.value == 1
            admin = PostgresStore(first.store_uri)
            try:
                assert revoke(admin, token.split("_")[1], 0.0)
            finally:
                admin.close()
            for store in (a, b):
                with pytest.raises(AccessDenied, match="was revoked"):
                    store.projects()
                store.close()
        finally:
            second.close()
