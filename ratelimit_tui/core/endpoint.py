"""Where calls go and how patiently: light to import (no SDK), so settings can build one."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit, urlunsplit

from ratelimit_tui.core.secret import Secret

OPENAI_URL = "https://api.openai.com/v1"
CREDENTIALS_NOTE = ("the user:password in the base URL is not sent (the HTTP client would send "
                    "it in place of the API key, which goes as a Bearer token)")


@dataclass(frozen=True)
class Endpoint:
    # None: the SDK's default (OPENAI_BASE_URL, else api.openai.com). Not in the repr: a
    # proxy URL may carry user:password@ or ?api-key=.
    base_url: str | None = field(repr=False)
    api_key: Secret
    organization: str | None = None
    project: str | None = None
    timeout_s: float = 60.0
    max_retries: int = 3  # this client's retries; the SDK's are off
    retry_cap_s: float = 60.0  # a 429 that asks for a longer wait is reported, not waited
    stream_limit_s: float = 600.0  # a whole streamed answer (timeout bounds each silence)
    embedded: bool = False  # the built-in simulator: plain HTTP on loopback, never redirected

    @property
    def sdk_url(self) -> str | None:
        """The base URL as requests use it: without user:password@, which the HTTP client
        would send as Basic auth in place of the API key."""
        return None if self.base_url is None else without_credentials(self.base_url)

    @property
    def credentials_removed(self) -> bool:
        return self.base_url is not None and self.sdk_url != self.base_url

    @property
    def secrets(self) -> tuple[Secret, ...]:
        """Everything to scrub from text: the key, the URL's password, and its Basic form."""
        parts = urlsplit(self.base_url or "")
        found = [self.api_key]
        if parts.password:
            import base64

            for user, password in {(parts.username or "", parts.password),
                                   (unquote(parts.username or ""), unquote(parts.password))}:
                basic = base64.b64encode(f"{user}:{password}".encode()).decode()
                found += [Secret(password), Secret(basic)]
        return tuple(found)

    @property
    def host(self) -> str:
        return host_of(self.base_url or OPENAI_URL) or "?"


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach `host` (a server bound there is not shared)."""
    if host == "localhost":
        return True
    import ipaddress

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def without_credentials(url: str) -> str:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit((parts.scheme, parts.netloc.rsplit("@", 1)[1], parts.path, parts.query,
                       parts.fragment))


def host_of(url: str) -> str:
    """host[:port], without any user:password@ a proxy URL may carry: as the status line
    shows an endpoint."""
    return _host(urlsplit(url))


def public_url(url: str) -> str:
    """The URL as it may be shown and stored: no credentials, no query (where some gateways
    put an api-key), no trailing slash."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, _host(parts), parts.path.rstrip("/"), "", ""))


def _host(parts) -> str:
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{host}:{port}" if port else host
