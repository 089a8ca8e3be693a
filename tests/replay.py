"""A loopback HTTP server that answers with recorded responses, in order (the last one
repeats): real captures of peers (a LiteLLM proxy) and hand-made odd answers, over real HTTP."""

from __future__ import annotations

import socketserver
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

DATA = Path(__file__).parent / "data"
_HOP_BY_HOP = {"content-length", "transfer-encoding", "connection"}


@dataclass(frozen=True)
class Recorded:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes


def recorded(path: str | Path) -> Recorded:
    """A `curl -si` capture: status line, headers, blank line, body (JSON, not chunked)."""
    head, _, body = Path(DATA / path).read_bytes().partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    _, status, reason = status_line.split(" ", 2)
    headers = [(name, value.strip()) for name, _, value in (line.partition(":") for line in lines)
               if name.lower() not in _HOP_BY_HOP]
    return Recorded(int(status), reason, headers, body)


class LoopbackServer:
    """A socketserver on 127.0.0.1 in a thread, as a context manager; the API's base URL."""

    def __init__(self, server: socketserver.BaseServer) -> None:
        self._server = server
        # shutdown() waits for serve_forever's next look at its flag: every 10 ms here, not
        # the default half second that each test's end would otherwise sit out
        self._thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()


class ReplayServer(LoopbackServer):
    def __init__(self, *answers: Recorded) -> None:
        self.answers = list(answers)
        self.requests: list[str] = []  # the paths asked for, in order
        replay = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                self.rfile.read(int(self.headers.get("content-length") or 0))
                replay.requests.append(self.path)
                answer = replay.answers[min(len(replay.requests), len(replay.answers)) - 1]
                self.send_response(answer.status, answer.reason)
                for name, value in answer.headers:
                    self.send_header(name, value)
                self.send_header("content-length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            do_GET = do_POST  # GET /models: a body-less request, answered the same way

            def log_message(self, *args):
                pass

        super().__init__(ThreadingHTTPServer(("127.0.0.1", 0), Handler))
