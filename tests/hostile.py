"""A deliberately hostile HTTP server on loopback: heads and bodies that trickle, bodies and
event streams that never end, a line with no newline, silence after a good start. Each
behaviour runs until the client hangs up, so a client without bounds would never return.
The server paces its trickles itself; no test waits on its timing, only on the outcome."""

from __future__ import annotations

import json
import socket
import socketserver
import threading
from dataclasses import dataclass

from replay import LoopbackServer

CHUNK = json.dumps({"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
                    "choices": [{"index": 0, "delta": {"content": "word "}}]})
EVENT = f"data: {CHUNK}\n\n".encode()
HEAD_OK = (b"HTTP/1.1 200 OK\r\nx-ratelimit-limit-requests: 60\r\n"
           b"x-ratelimit-remaining-requests: 59\r\n")


def _events_head() -> bytes:
    return HEAD_OK + b"content-type: text/event-stream\r\nconnection: close\r\n\r\n"


def _json_head() -> bytes:
    return HEAD_OK + b"content-type: application/json\r\nconnection: close\r\n\r\n"


@dataclass
class Peer:
    """One connection, as a behaviour sees it."""

    connection: socket.socket
    request: bytes  # the request head (and whatever of the body came with it)
    stopping: threading.Event  # set when the server shuts down

    def send(self, data: bytes) -> None:
        self.connection.sendall(data)

    def trickle(self, byte: bytes) -> None:
        """One byte every 20 ms until the client hangs up or the server stops."""
        while not self.stopping.wait(0.02):
            self.send(byte)

    def until_hangup(self) -> None:
        """Say nothing more, and wait for the client to give up."""
        while self.connection.recv(65536):
            pass


def trickle_head(peer):
    peer.send(b"HTTP/1.1 200 OK\r\n")
    peer.trickle(b"x")  # one header name, a byte at a time


def trickle_body(peer):
    peer.send(_json_head() + b'{"id": "c", "choices": [')
    peer.trickle(b" ")


def endless_body(peer):
    peer.send(_json_head() + b'{"id": "')
    block = b"a" * 65536
    while True:
        peer.send(block)


def endless_stream(peer):
    peer.send(_events_head())
    block = EVENT * 200
    while True:
        peer.send(block)


def endless_words(peer):
    """Events each carrying 10,000 characters of answer, without end."""
    words = json.dumps({"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
                        "choices": [{"index": 0, "delta": {"content": "word " * 2000}}]})
    peer.send(_events_head())
    block = f"data: {words}\n\n".encode() * 10
    while True:
        peer.send(block)


def endless_line(peer):
    peer.send(_events_head() + EVENT + b"data: ")
    block = b"a" * 65536
    while True:
        peer.send(block)


def stalled_stream(peer):
    peer.send(_events_head() + EVENT * 3)
    peer.until_hangup()


ANSWER = json.dumps({"id": "c", "object": "chat.completion", "created": 0, "model": "m",
                     "choices": [{"index": 0, "finish_reason": "length",
                                  "message": {"role": "assistant", "content": "ok"}}],
                     "usage": {"prompt_tokens": 1, "completion_tokens": 1,
                               "total_tokens": 2}}).encode()


def _answer_with(headers: bytes) -> bytes:
    return (b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n"
            + headers + b"content-length: " + str(len(ANSWER)).encode() + b"\r\n\r\n"
            + ANSWER)


def many_buckets(peer):
    """1,500 limits, one of them nearly spent: a real answer otherwise."""
    peer.send(_answer_with(b"".join(
        b"x-ratelimit-limit-b%d: 100\r\nx-ratelimit-remaining-b%d: %d\r\n"
        % (i, i, 3 if i == 377 else 90) for i in range(1500))))


def huge_head(peer):
    peer.send(b"HTTP/1.1 200 OK\r\n" + b"x-padding: " + b"p" * 200_000 + b"\r\n\r\n")


SEEN_AUTHORIZATION: list[str] = []  # what echo_auth was sent, for the test to look at


def echo_auth(peer):
    """A server that quotes the Authorization header back, as some gateways do."""
    auth = next((line.split(b":", 1)[1].strip().decode() for line in peer.request.split(b"\r\n")
                 if line.lower().startswith(b"authorization:")), "")
    SEEN_AUTHORIZATION.append(auth)
    body = json.dumps({"error": {"message": f"rejected credentials: {auth}"}}).encode()
    peer.send(b"HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\nconnection: close"
         b"\r\ncontent-length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


def many_headers(peer):
    peer.send(_answer_with(b"x-ratelimit-limit-requests: 60\r\n"
                           b"x-ratelimit-remaining-requests: 59\r\n"
                           + b"".join(b"x-h%d: v\r\n" % i for i in range(6000))))


BEHAVIOURS = {f.__name__: f for f in (trickle_head, trickle_body, endless_body, endless_stream,
                                      endless_words,
                                      endless_line, stalled_stream, many_buckets, many_headers,
                                      huge_head, echo_auth)}


class HostileServer(LoopbackServer):
    def __init__(self, behaviour: str) -> None:
        act = BEHAVIOURS[behaviour]
        stopping = threading.Event()

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
                    act(Peer(connection, data, stopping))
                except OSError:  # the client hung up: exactly what a bounded client does
                    return

        server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        super().__init__(server)
        self._stopping = stopping

    def __exit__(self, *exc) -> None:
        self._stopping.set()
        super().__exit__(*exc)
