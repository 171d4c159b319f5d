"""``curate serve``: receive Label Studio webhooks and append decisions as they happen.

``POST /webhook`` takes Label Studio's ``ANNOTATION_CREATED`` / ``ANNOTATION_UPDATED``
payloads (the webhook must send payloads). Every request must carry the shared secret from
``CURATE_WEBHOOK_SECRET`` as ``Authorization: Bearer <secret>`` (``curate review webhook``
registers the webhook with that header); otherwise the answer is 401 and nothing is stored.

Answers: 200 with what was stored; 400 for a body that is not JSON or not a curate task's
annotation; 401 without the secret; 404 for other paths; 413 for bodies over 10 MB; 422 for
other webhook actions. A bad request never stops the server.

Deliveries are handled concurrently. Rows reach the corrections log through a single writer
that batches whatever is waiting into one part (the log's lock and dedupe also guard against a
concurrent ``curate review pull``); a request is answered only after its rows are on disk, so
an acknowledged delivery is never lost, and a delivery repeated by Label Studio is stored once.
"""

from __future__ import annotations

import hmac
import json
import queue
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from curate.review.corrections import CorrectionsLog
from curate.review.labelstudio import WEBHOOK_ACTIONS
from curate.review.tasks import correction_row

SECRET_ENV = "CURATE_WEBHOOK_SECRET"
MAX_BODY = 10 * 1024 * 1024


class _BatchWriter:
    """One thread appends everything queued so far as one part; callers wait for their rows."""

    def __init__(self, log: CorrectionsLog) -> None:
        self.log = log
        self._queue: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="corrections-writer", daemon=True)
        self._thread.start()

    def submit(self, rows: list[dict[str, Any]], timeout: float = 60.0):
        done = threading.Event()
        box: dict[str, Any] = {}
        self._queue.put((rows, done, box))
        if not done.wait(timeout):
            raise TimeoutError("the corrections log did not accept the rows in time")
        if "error" in box:
            raise box["error"]
        return box["result"]

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            rows = [row for rows, _, _ in batch for row in rows]
            try:
                result = self.log.append(rows)
                for _, done, box in batch:
                    box["result"] = result
                    done.set()
            except Exception as exc:  # reported to every waiting request as a 500
                for _, done, box in batch:
                    box["error"] = exc
                    done.set()


def make_server(
    log_dir: str | Path,
    secret: str,
    host: str = "127.0.0.1",
    port: int = 8089,
    echo: Callable[[str], None] | None = None,
) -> ThreadingHTTPServer:
    """A ready-to-run server (call ``serve_forever``); ``port`` 0 picks a free port.
    ``echo`` receives one line per stored decision."""
    if not secret:
        raise ValueError("a webhook secret is required")
    writer = _BatchWriter(CorrectionsLog(log_dir))
    expected = f"Bearer {secret}".encode()

    class Handler(BaseHTTPRequestHandler):
        server_version = "curate-serve"
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):  # quiet; the CLI prints a line per delivery
            pass

        def _answer(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path == "/health":
                self._answer(200, {"status": "ok"})
            else:
                self._answer(404, {"error": f"no such path {self.path}; POST to /webhook"})

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            if self.path != "/webhook":
                self._drain(length)
                return self._answer(404, {"error": f"no such path {self.path}; use /webhook"})
            given = (self.headers.get("Authorization") or "").encode()
            if not hmac.compare_digest(given, expected):
                self._drain(length)
                return self._answer(401, {"error": "missing or wrong webhook secret"})
            if length > MAX_BODY:
                self.close_connection = True
                return self._answer(413, {"error": f"body over {MAX_BODY} bytes"})
            try:
                payload = json.loads(self.rfile.read(length) or b"null")
            except ValueError:
                return self._answer(400, {"error": "body is not JSON"})
            if not isinstance(payload, dict) or "action" not in payload:
                return self._answer(400, {"error": "expected a Label Studio webhook payload"})
            if payload["action"] not in WEBHOOK_ACTIONS:
                return self._answer(
                    422,
                    {
                        "error": f"action {payload['action']!r} is not handled; "
                        f"expected one of {', '.join(WEBHOOK_ACTIONS)}"
                    },
                )
            try:
                project_id = payload.get("project", {}).get("id") or payload["task"]["project"]
                row = correction_row(payload["annotation"], payload["task"], project_id, "webhook")
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                return self._answer(
                    400,
                    {
                        "error": f"not an annotation of a curate task ({type(exc).__name__}: "
                        f"{exc}); enable 'send payload' on the webhook"
                    },
                )
            try:
                writer.submit([row])
            except Exception as exc:
                return self._answer(500, {"error": f"could not store the decision: {exc}"})
            self._answer(200, {"logged": True, "entry_id": row["entry_id"]})
            if echo is not None:
                label = f" -> {row['new_label']}" if row["new_label"] else ""
                echo(
                    f"{payload['action']}: {row['sample_id']} {row['decision']}{label} "
                    f"(annotation {row['annotation_id']}, {row['annotator']})"
                )

        def _drain(self, length: int) -> None:
            if 0 < length <= MAX_BODY:
                self.rfile.read(length)
            else:
                self.close_connection = True

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 2048  # a burst of deliveries queues instead of being refused

    return Server((host, port), Handler)
