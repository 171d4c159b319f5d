"""A scripted HTTP proxy in front of the real Label Studio, to interrupt a push on cue.

Every request is forwarded unchanged, except task imports (``POST .../import``), which follow
``script``: one action per import request, in order, then ``"pass"`` for the rest:

* ``"pass"``: forward and relay the answer;
* ``"drop_after_forward"``: forward (the server stores the chunk), then close the connection
  without an answer, as when a connection dies mid-response;
* ``"fail_500"``: answer 500 without forwarding, as a server that is down or broken;
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests


class ScriptedProxy:
    def __init__(self, upstream: str, script: list[str] | None = None) -> None:
        self.upstream = upstream.rstrip("/")
        self.script = list(script or [])
        self.imports_seen = 0
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _relay(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                action = "pass"
                if self.command == "POST" and "/import" in self.path:
                    with proxy._lock:
                        proxy.imports_seen += 1
                        action = proxy.script.pop(0) if proxy.script else "pass"
                if action == "fail_500":
                    data = b'{"detail": "server error (scripted)"}'
                    self.send_response(500)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                skip = ("host", "content-length", "connection")
                headers = {k: v for k, v in self.headers.items() if k.lower() not in skip}
                answer = requests.request(
                    self.command, proxy.upstream + self.path, headers=headers, data=body,
                    timeout=300, allow_redirects=False,
                )  # fmt: skip
                if action == "drop_after_forward":
                    self.close_connection = True
                    self.connection.close()
                    return
                self.send_response(answer.status_code)
                for key, value in answer.headers.items():
                    if key.lower() not in ("content-length", "transfer-encoding", "connection",
                                           "content-encoding"):  # fmt: skip
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _relay

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> ScriptedProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
