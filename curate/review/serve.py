"""``curate serve``: receive Label Studio webhooks and append decisions as they happen.

``POST /webhook`` takes Label Studio's ``ANNOTATION_CREATED`` / ``ANNOTATION_UPDATED``
payloads (the webhook must send payloads). Every request must carry the shared secret from
``CURATE_WEBHOOK_SECRET`` as ``Authorization: Bearer <secret>`` (``curate review webhook``
registers the webhook with that header); otherwise the answer is 401 and nothing is stored.

Answers: 200 with what was stored; 400 for a body that is not JSON or not a curate task's
annotation, and for a malformed request (a ``Content-Length`` that is not a number, ...);
401 without the secret; 404 for other paths; 405 for other methods; 413 for bodies over
10 MB; 422 for other webhook actions. A bad request never stops the server.

HTTP is served by waitress: connections are multiplexed on one event loop (an idle or slow
connection holds no thread and is closed after :data:`CHANNEL_TIMEOUT` seconds without
activity), requests run on a fixed pool of :data:`THREADS` threads, and bodies are limited to
:data:`MAX_BODY` bytes. Rows reach the corrections log through a single writer that batches
whatever is waiting into one part (the log's lock and dedupe also guard against a concurrent
``curate review pull``); a request is answered only after its rows are on disk, so an
acknowledged delivery is never lost, and a delivery repeated by Label Studio is stored once.
A row that arrives while ``dvc repro`` runs ``apply`` is kept pending (on disk) and the
writer publishes it into the log as soon as the run has ended (see
:mod:`curate.review.corrections`).
"""

from __future__ import annotations

import hmac
import json
import queue
import resource
import threading
from collections.abc import Callable, Iterable
from http import HTTPStatus
from pathlib import Path
from typing import Any

from curate.review.corrections import CorrectionsLog
from curate.review.labelstudio import WEBHOOK_ACTIONS
from curate.review.tasks import correction_row

SECRET_ENV = "CURATE_WEBHOOK_SECRET"
MAX_BODY = 10 * 1024 * 1024
#: Bodies up to this size are read (to a temporary file) and answered 413 in full; larger
#: ones are refused as soon as their headers arrive.
DRAIN_LIMIT = 64 * 1024 * 1024
#: Seconds of inactivity after which a connection is closed.
CHANNEL_TIMEOUT = 30
#: Threads handling requests (connections themselves hold no thread).
THREADS = 16
#: Seconds the writer waits between attempts to publish rows kept pending by a DVC run.
PUBLISH_INTERVAL = 0.5


class _BatchWriter:
    """One thread appends everything queued so far as one part; callers wait for their rows.
    While parts are pending (a DVC run holds the log) it retries publishing them."""

    def __init__(self, log: CorrectionsLog) -> None:
        self.log = log
        self._queue: queue.Queue = queue.Queue()
        self._pending = bool(log.pending())
        self._stopped = threading.Event()
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

    def stop(self) -> None:
        self._stopped.set()
        self._queue.put(None)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                first = self._queue.get(timeout=PUBLISH_INTERVAL if self._pending else None)
            except queue.Empty:
                try:
                    self._pending = self.log.publish_pending() > 0
                except Exception:  # retried on the next round; deliveries still get answers
                    pass
                continue
            if first is None:
                continue
            batch = [first]
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is not None:
                    batch.append(item)
            rows = [row for rows, _, _ in batch for row in rows]
            try:
                result = self.log.append(rows)
                self._pending = result.pending > 0
                for _, done, box in batch:
                    box["result"] = result
                    done.set()
            except Exception as exc:  # reported to every waiting request as a 500
                for _, done, box in batch:
                    box["error"] = exc
                    done.set()


def _connection_limit() -> int:
    """As many connections as the open-file limit allows (raised to its hard maximum), so
    idle connections cannot lock out Label Studio's deliveries before the timeout closes them."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = 65536 if hard == resource.RLIM_INFINITY else hard
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return max(100, min(10000, soft - 100))


def make_app(
    writer: _BatchWriter, secret: str, echo: Callable[[str], None] | None = None
) -> Callable:
    """The WSGI application behind ``curate serve``."""
    expected = f"Bearer {secret}".encode()

    def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
        def answer(status: int, body: dict) -> list[bytes]:
            data = json.dumps(body).encode()
            start_response(
                f"{status} {HTTPStatus(status).phrase}",
                [("Content-Type", "application/json"), ("Content-Length", str(len(data)))],
            )
            return [data]

        method = environ.get("REQUEST_METHOD", "")
        path = environ.get("PATH_INFO", "")
        if method == "GET":
            if path == "/health":
                return answer(200, {"status": "ok"})
            return answer(404, {"error": f"no such path {path}; POST to /webhook"})
        if method != "POST":
            return answer(405, {"error": f"method {method} is not allowed; POST to /webhook"})
        if path != "/webhook":
            return answer(404, {"error": f"no such path {path}; use /webhook"})
        given = environ.get("HTTP_AUTHORIZATION", "").encode("latin-1", "replace")
        if not hmac.compare_digest(given, expected):
            return answer(401, {"error": "missing or wrong webhook secret"})
        length = int(environ.get("CONTENT_LENGTH") or 0)  # digits only: checked by waitress
        if length > MAX_BODY:
            return answer(413, {"error": f"body over {MAX_BODY} bytes"})
        try:
            payload = json.loads(environ["wsgi.input"].read(length) or b"null")
        except ValueError:
            return answer(400, {"error": "body is not JSON"})
        if not isinstance(payload, dict) or "action" not in payload:
            return answer(400, {"error": "expected a Label Studio webhook payload"})
        action = payload["action"]
        if action not in WEBHOOK_ACTIONS:
            return answer(
                422,
                {
                    "error": f"action {action!r} is not handled; "
                    f"expected one of {', '.join(WEBHOOK_ACTIONS)}"
                },
            )
        try:
            project_id = payload.get("project", {}).get("id") or payload["task"]["project"]
            row = correction_row(payload["annotation"], payload["task"], project_id, "webhook")
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            return answer(
                400,
                {
                    "error": f"not an annotation of a curate task ({type(exc).__name__}: "
                    f"{exc}); enable 'send payload' on the webhook"
                },
            )
        try:
            result = writer.submit([row])
        except Exception as exc:
            return answer(500, {"error": f"could not store the decision: {exc}"})
        if echo is not None:
            label = f" -> {row['new_label']}" if row["new_label"] else ""
            echo(
                f"{action}: {row['sample_id']} {row['decision']}{label} "
                f"(annotation {row['annotation_id']}, {row['annotator']})"
            )
        return answer(
            200, {"logged": True, "entry_id": row["entry_id"], "pending": result.pending > 0}
        )

    return app


class WebhookServer:
    """The running server: ``serve_forever()`` in one thread, ``shutdown()`` from another,
    then ``server_close()``. ``server_address`` is the bound (host, port)."""

    def __init__(self, server: Any, writer: _BatchWriter) -> None:
        self._server = server
        self._map = server._map if hasattr(server, "_map") else server.map
        self.writer = writer
        if hasattr(server, "effective_listen"):  # a host name with several addresses
            host, port = server.effective_listen[0][:2]
        else:
            host, port = server.effective_host, server.effective_port
        self.server_address = (host, int(port))
        self._stop = threading.Event()
        self._done = threading.Event()
        self._done.set()

    def serve_forever(self) -> None:
        from waitress import wasyncore

        self._done.clear()
        try:
            while not self._stop.is_set():
                wasyncore.loop(timeout=0.5, use_poll=True, map=self._map, count=1)
        finally:
            self._done.set()

    def shutdown(self) -> None:
        self._stop.set()
        self._done.wait(timeout=10)

    def server_close(self) -> None:
        from waitress import wasyncore

        self._server.task_dispatcher.shutdown()
        wasyncore.close_all(self._map)
        self.writer.stop()


def make_server(
    log_dir: str | Path,
    secret: str,
    host: str = "127.0.0.1",
    port: int = 8089,
    echo: Callable[[str], None] | None = None,
) -> WebhookServer:
    """A ready-to-run server (call ``serve_forever``); ``port`` 0 picks a free port.
    ``echo`` receives one line per stored decision. Rows left pending by a DVC run that
    has ended are published first."""
    from waitress.server import create_server

    if not secret:
        raise ValueError("a webhook secret is required")
    log = CorrectionsLog(log_dir)
    log.publish_pending()
    writer = _BatchWriter(log)
    server = create_server(
        make_app(writer, secret, echo),
        host=host,
        port=port,
        threads=THREADS,
        connection_limit=_connection_limit(),
        channel_timeout=CHANNEL_TIMEOUT,
        cleanup_interval=min(10, CHANNEL_TIMEOUT),
        max_request_body_size=DRAIN_LIMIT,
        backlog=2048,
        asyncore_use_poll=True,
        ident="curate-serve",
        expose_tracebacks=False,
    )
    return WebhookServer(server, writer)
