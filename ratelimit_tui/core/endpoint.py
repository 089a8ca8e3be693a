"""Where calls go and how patiently: light to import (no SDK), so settings can build one."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from ratelimit_tui.core.secret import Secret

OPENAI_URL = "https://api.openai.com/v1"


@dataclass(frozen=True)
class Endpoint:
    base_url: str | None  # None: the SDK's default (OPENAI_BASE_URL, else api.openai.com)
    api_key: Secret
    organization: str | None = None
    project: str | None = None
    timeout_s: float = 60.0
    max_retries: int = 3  # this client's retries; the SDK's are off
    retry_cap_s: float = 60.0  # a 429 that asks for a longer wait is reported, not waited

    @property
    def host(self) -> str:
        return urlsplit(self.base_url or OPENAI_URL).netloc or "?"
