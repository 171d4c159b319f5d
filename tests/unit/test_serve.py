"""`curate serve`: the webhook receiver under concurrent deliveries and bad requests."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from curate.review.corrections import CorrectionsLog
from curate.review.serve import make_server

SECRET = "s3cret-for-tests-0123456789"


def payload(annotation_id: int, action: str = "ANNOTATION_CREATED", label: str = "b") -> dict:
    """The shape Label Studio sends with 'send payload' on."""
    return {
        "action": action,
        "annotation": {
            "id": annotation_id,
            "completed_by": 1,
            "result": [
                {
                    "from_name": "label",
                    "to_name": "text",
                    "type": "choices",
                    "value": {"choices": [label]},
                }
            ],  # fmt: skip
            "was_cancelled": False,
            "ground_truth": False,
            "created_at": "2026-01-01T10:00:00.000000Z",
            "updated_at": "2026-01-01T10:00:00.000000Z",
            "task": 1000 + annotation_id,
        },
        "task": {
            "id": 1000 + annotation_id,
            "data": {"sample_id": f"s{annotation_id}", "given_label": "a", "kind": "label_issue"},
            "project": 7,
        },
        "project": {"id": 7},
    }


@pytest.fixture
def server(tmp_path):
    srv = make_server(tmp_path / "log", SECRET, "127.0.0.1", 0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", CorrectionsLog(tmp_path / "log")
    srv.shutdown()
    srv.server_close()


def post(url: str, body, secret: str | None = SECRET, path: str = "/webhook") -> tuple[int, dict]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url + path, data=data, method="POST")
    request.add_header("Content-Type", "application/json")
    if secret is not None:
        request.add_header("Authorization", f"Bearer {secret}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_1000_concurrent_deliveries_give_exactly_1000_rows(server) -> None:
    url, log = server
    with ThreadPoolExecutor(max_workers=100) as pool:
        statuses = list(pool.map(lambda i: post(url, payload(i))[0], range(1000)))
    assert statuses == [200] * 1000
    table = log.read()
    assert table.num_rows == 1000
    assert sorted(table.column("annotation_id").to_pylist()) == list(range(1000))
    assert set(table.column("source").to_pylist()) == {"webhook"}
    assert set(table.column("decision").to_pylist()) == {"relabel"}


def test_redelivery_is_stored_once_and_an_update_supersedes(server) -> None:
    url, log = server
    with ThreadPoolExecutor(max_workers=20) as pool:
        assert set(pool.map(lambda _: post(url, payload(1))[0], range(20))) == {200}
    updated = payload(1, "ANNOTATION_UPDATED", label="c")
    updated["annotation"]["updated_at"] = "2026-01-01T11:00:00.000000Z"
    assert post(url, updated)[0] == 200
    rows = log.read().to_pylist()
    assert len(rows) == 2
    assert rows[1]["new_label"] == "c" and rows[1]["supersedes"] == rows[0]["entry_id"]


@pytest.mark.parametrize(
    ("body", "secret", "path", "status"),
    [
        (payload(1), None, "/webhook", 401),
        (payload(1), "wrong-secret-0123456789", "/webhook", 401),
        (b"{not json", SECRET, "/webhook", 400),
        ([1, 2, 3], SECRET, "/webhook", 400),
        ({"action": "ANNOTATION_CREATED", "annotation": {"id": 1}}, SECRET, "/webhook", 400),
        (
            {**payload(1), "task": {"id": 5, "data": {"text": "no sample id"}}},
            SECRET,
            "/webhook",
            400,
        ),  # fmt: skip
        ({**payload(1), "action": "PROJECT_UPDATED"}, SECRET, "/webhook", 422),
        (payload(1), SECRET, "/elsewhere", 404),
    ],
    ids=[
        "no-secret",
        "wrong-secret",
        "not-json",
        "not-object",
        "no-task",
        "not-curate-task",
        "unknown-action",
        "wrong-path",
    ],  # fmt: skip
)
def test_bad_requests_get_4xx_and_store_nothing(server, body, secret, path, status) -> None:
    url, log = server
    code, answer = post(url, body, secret, path)
    assert code == status and "error" in answer
    assert log.read().num_rows == 0
    assert post(url, payload(2))[0] == 200  # still serving


def raw_request(port: int, head: str, body: bytes = b"", timeout: float = 10.0) -> bytes:
    """Send bytes as they are (no client-side checks); the answer, read until the server
    closes the connection (the request says ``Connection: close``)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head.encode() + body)
        chunks = []
        while data := sock.recv(65536):
            chunks.append(data)
    return b"".join(chunks)


@pytest.mark.parametrize("length", ["-1", "abc", "1e3", ""])
def test_bad_content_length_gets_4xx_without_a_traceback(server, capfd, length) -> None:
    url, log = server
    port = int(url.rsplit(":", 1)[1])
    head = (
        "POST /webhook HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {SECRET}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\nConnection: close\r\n\r\n"
    )
    answer = raw_request(port, head, b'{"action": "ANNOTATION_CREATED"}', timeout=5)
    status = int(answer.split(b" ", 2)[1])
    assert 400 <= status < 500, answer[:200]
    assert log.read().num_rows == 0
    assert post(url, payload(3))[0] == 200  # still serving
    assert "Traceback" not in capfd.readouterr().err


def test_body_over_10_mb_gets_413_not_a_dropped_connection(server) -> None:
    url, log = server
    body = b'{"action": "ANNOTATION_CREATED", "pad": "' + b"x" * (11 * 1024 * 1024) + b'"}'
    status, answer = post(url, body)
    assert status == 413 and "error" in answer
    assert log.read().num_rows == 0
    assert post(url, payload(4))[0] == 200


def test_500_idle_sockets_hold_no_thread_and_do_not_block_a_delivery(server) -> None:
    url, log = server
    port = int(url.rsplit(":", 1)[1])
    before = threading.active_count()
    idle = []
    try:
        for i in range(500):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            if i % 2:
                sock.sendall(b"POST /webhook HTTP/1.1\r\nContent-Le")  # a half-sent request
            idle.append(sock)
        time.sleep(0.5)
        started = time.monotonic()
        assert post(url, payload(5))[0] == 200
        assert time.monotonic() - started < 5
        assert threading.active_count() - before < 50  # a thread per connection would be 500
    finally:
        for sock in idle:
            sock.close()
    assert [r["annotation_id"] for r in log.read().to_pylist()] == [5]


def test_idle_connections_are_closed_after_the_timeout(tmp_path, monkeypatch) -> None:
    from curate.review import serve

    monkeypatch.setattr(serve, "CHANNEL_TIMEOUT", 1, raising=False)
    srv = make_server(tmp_path / "log", SECRET, "127.0.0.1", 0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        with socket.create_connection(("127.0.0.1", srv.server_address[1]), timeout=8) as sock:
            sock.sendall(b"POST /webhook HTTP/1.1\r\n")  # and then nothing
            started = time.monotonic()
            try:
                closed = sock.recv(1024) == b""
            except ConnectionResetError:
                closed = True
            assert closed and time.monotonic() - started < 6
    finally:
        srv.shutdown()
        srv.server_close()
