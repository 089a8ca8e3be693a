"""API keys that cannot leak through repr, str, f-strings or tracebacks, and a scrubber for text
that came from elsewhere (servers quote keys back in error messages)."""

from __future__ import annotations

import re

# Keys as providers shape them (sk-..., sk-proj-..., sk-ant-..., gsk_..., rk-...), including the
# partly masked forms servers echo back ("sk-proj-****...abcd").
_KEY_LIKE = re.compile(r"\b(?:sk|rk|pk|gsk|xai)[-_][A-Za-z0-9_\-*.]{4,}")


class Secret:
    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        return self._value

    def fingerprint(self) -> str:
        """A short digest that tells two keys apart without revealing either."""
        import hashlib

        return hashlib.sha256(self._value.encode()).hexdigest()[:12]

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self):  # never pickled (and so never sent to a subprocess or a file)
        raise TypeError("a Secret cannot be pickled")


def scrub(text: str, *secrets: Secret | None) -> str:
    """`text` without the secrets (the key, a URL's password, their Basic form), or anything
    shaped like a key."""
    for secret in secrets:
        if secret and secret.get():
            text = text.replace(secret.get(), "[key]")
    return _KEY_LIKE.sub("[key]", text)


# Response headers that identify the account or carry session state: never shown or exported.
SENSITIVE_HEADERS = frozenset({
    "set-cookie", "cookie", "authorization", "proxy-authorization", "x-api-key", "api-key",
    "openai-organization", "openai-project", "anthropic-organization-id", "x-goog-api-key",
})
REDACTED = "[redacted]"


def is_sensitive(name: str) -> bool:
    """Sensitive on its own, or as a proxy's copy of an upstream header (llm_provider-...)."""
    name = name.lower()
    return name in SENSITIVE_HEADERS or name.removeprefix("llm_provider-") in SENSITIVE_HEADERS


def redact_headers(pairs: tuple[tuple[str, str], ...] | list[tuple[str, str]],
                   *secrets: Secret | None) -> list[tuple[str, str]]:
    return [(name, REDACTED if is_sensitive(name) else scrub(value, *secrets))
            for name, value in pairs]
