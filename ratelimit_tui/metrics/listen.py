"""Where /metrics is served: parsed without loading prometheus-client, for the CLI's parser."""

from __future__ import annotations

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9464  # the port the README and deploy/prometheus.yml name


def parse_listen(text: str) -> tuple[str, int]:
    """'HOST:PORT', '[::1]:PORT' or 'PORT' (on loopback); port 0 asks for a free one."""
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = DEFAULT_HOST, text
    host = host.strip("[]") or DEFAULT_HOST
    if not port.isdigit() or int(port) > 65535:
        raise ValueError(f"{text!r} is not HOST:PORT (like 127.0.0.1:{DEFAULT_PORT})")
    return host, int(port)
