"""A deliberately hostile HTTP server on loopback: heads and bodies that trickle, bodies and
event streams that never end, a line with no newline, silence after a good start. Each
behaviour runs until the client hangs up, so a client without bounds would never return."""

from __future__ import annotations

import json
import socketserver
import threading
import time

CHUNK = json.dumps({"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
                    "choices": [{"index": 0, "delta": {"content": "word "}}]})
EVENT = f"data: {CHUNK}\n\n".encode()
HEAD_OK = (b"HTTP/1.1 200 OK\r\nx-ratelimit-limit-requests: 60\r\n"
           b"x-ratelimit-remaining-requests: 59\r\n")


def _events_head() -> bytes:
    return HEAD_OK + b"content-type: text/event-stream\r\nconnection: close\r\n\r\n"


def _json_head() -> bytes:
    return HEAD_OK + b"content-type: application/json\r\nconnection: close\r\n\r\n"


def trickle_head(send):
    send(b"HTTP/1.1 200 OK\r\n")
    while True:
        send(b"x")  # one header name, a byte at a time, forever
        time.sleep(0.02)


def trickle_body(send):
    send(_json_head() + b'{"id": "c", "choices": [')
    while True:
        send(b" ")
        time.sleep(0.02)


def endless_body(send):
    send(_json_head() + b'{"id": "')
    block = b"a" * 65536
    while True:
        send(block)


def endless_stream(send):
    send(_events_head())
    block = EVENT * 200
    while True:
        send(block)


def endless_words(send):
    """Events each carrying 10,000 characters of answer, without end."""
    words = json.dumps({"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
                        "choices": [{"index": 0, "delta": {"content": "word " * 2000}}]})
    send(_events_head())
    block = f"data: {words}\n\n".encode() * 10
    while True:
        send(block)


def endless_line(send):
    send(_events_head() + EVENT + b"data: ")
    block = b"a" * 65536
    while True:
        send(block)


def stalled_stream(send):
    send(_events_head() + EVENT * 3)
    while True:
        time.sleep(0.05)
        send(b"")  # nothing, but a closed client ends this loop


ANSWER = json.dumps({"id": "c", "object": "chat.completion", "created": 0, "model": "m",
                     "choices": [{"index": 0, "finish_reason": "length",
                                  "message": {"role": "assistant", "content": "ok"}}],
                     "usage": {"prompt_tokens": 1, "completion_tokens": 1,
                               "total_tokens": 2}}).encode()


def _answer_with(headers: bytes) -> bytes:
    return (b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n"
            + headers + b"content-length: " + str(len(ANSWER)).encode() + b"\r\n\r\n"
            + ANSWER)


def many_buckets(send):
    """1,500 limits, one of them nearly spent: a real answer otherwise."""
    send(_answer_with(b"".join(
        b"x-ratelimit-limit-b%d: 100\r\nx-ratelimit-remaining-b%d: %d\r\n"
        % (i, i, 3 if i == 377 else 90) for i in range(1500))))


def huge_head(send):
    send(b"HTTP/1.1 200 OK\r\n" + b"x-padding: " + b"p" * 200_000 + b"\r\n\r\n")


SEEN_AUTHORIZATION: list[str] = []  # what echo_auth was sent, for the test to look at


def echo_auth(send, request: bytes = b""):
    """A server that quotes the Authorization header back, as some gateways do."""
    auth = next((line.split(b":", 1)[1].strip().decode() for line in request.split(b"\r\n")
                 if line.lower().startswith(b"authorization:")), "")
    SEEN_AUTHORIZATION.append(auth)
    body = json.dumps({"error": {"message": f"rejected credentials: {auth}"}}).encode()
    send(b"HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\nconnection: close"
         b"\r\ncontent-length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


def many_headers(send):
    send(_answer_with(b"x-ratelimit-limit-requests: 60\r\nx-ratelimit-remaining-requests: 59\r\n"
                      + b"".join(b"x-h%d: v\r\n" % i for i in range(6000))))


BEHAVIOURS = {f.__name__: f for f in (trickle_head, trickle_body, endless_body, endless_stream,
                                      endless_words,
                                      endless_line, stalled_stream, many_buckets, many_headers,
                                      huge_head, echo_auth)}


class HostileServer:
    def __init__(self, behaviour: str) -> None:
        act = BEHAVIOURS[behaviour]

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                connection = self.request
                data = b""
                while b"\r\n\r\n" not in data:
                    piece = connection.recv(65536)
                    if not piece:
                        return
                    data += piece
                try:
                    if act is echo_auth:
                        act(connection.sendall, data)
                    else:
                        act(connection.sendall)
                except OSError:  # the client hung up: exactly what a bounded client does
                    return

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
