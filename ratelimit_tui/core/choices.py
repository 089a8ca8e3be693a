"""What the user chose in the dashboard (theme, polling, plot window, the headers panel),
kept across restarts in the data directory, never in their config file.

Between the layers of settings: a choice made in the dashboard beats the config file and the
environment (it was made later), a flag on the command line beats the choice (it is this
run's). A file that cannot be read is as if no choice was made.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

FILE_NAME = "choices.json"
MAX_BYTES = 64 * 1024  # a few choices; anything bigger is not ours
MAX_ENDPOINTS = 64


@dataclass(frozen=True)
class Choices:
    theme: str | None = None
    window_s: float | None = None  # the history plot's window
    headers: bool | None = None  # the last response's headers shown (F2)
    poll_s: dict[str, float] = field(default_factory=dict)  # by endpoint; 0 is off

    def with_poll(self, endpoint: str, seconds: float | None) -> Choices:
        polls = {k: v for k, v in self.poll_s.items() if k != endpoint}
        polls[endpoint] = seconds or 0.0
        return replace(self, poll_s=dict(list(polls.items())[-MAX_ENDPOINTS:]))


def load(path: Path) -> Choices:
    try:
        with path.open("rb") as file:
            data = json.loads(file.read(MAX_BYTES + 1)[:MAX_BYTES])
    except (OSError, ValueError):
        return Choices()
    if not isinstance(data, dict):
        return Choices()
    return Choices(theme=_typed(data, "theme", str), window_s=_number(data.get("window_s")),
                   headers=_typed(data, "headers", bool), poll_s=_polls(data.get("poll_s")))


def save(path: Path, choices: Choices) -> str | None:
    """Write the choices (whole, or not at all); the reason, when they could not be kept."""
    temporary = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Only the user's, as the history is: it names the endpoints they use.
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(json.dumps(asdict(choices), indent=1))
        os.replace(temporary, path)
    except OSError as exc:
        return f"{path}: {exc.strerror or exc}"
    return None


def _typed(data: dict[str, Any], key: str, kind: type) -> Any:
    value = data.get(key)
    return value if isinstance(value, kind) else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1e9:
        return None
    return float(value)


def _polls(value: Any) -> dict[str, float]:
    if not isinstance(value, dict):
        return {}
    polls = {k: _number(v) for k, v in list(value.items())[:MAX_ENDPOINTS] if isinstance(k, str)}
    return {k: v for k, v in polls.items() if v is not None}
