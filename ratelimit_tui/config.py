"""Settings, layered: defaults < config file (TOML) < environment < command-line flags.

The API key is never read from the config file: it comes from the environment variable the file
names (`api_key_env`, default OPENAI_API_KEY), so the file can be shared and committed.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from ratelimit_tui.core.endpoint import OPENAI_URL, Endpoint, public_url
from ratelimit_tui.core.secret import Secret
from ratelimit_tui.locations import config_file
from ratelimit_tui.sim.names import MODELS as SIM_MODELS

DEMO_MODEL = "gpt-4o-mini"
DEMO_POLL_S = 10.0


class ConfigError(ValueError):
    """A setting that cannot be used; the message names it and where it came from."""


@dataclass(frozen=True)
class Settings:
    base_url: str | None = field(default=None, repr=False)  # may carry credentials
    api_key: Secret | None = None
    api_key_env: str = "OPENAI_API_KEY"
    organization: str | None = None
    project: str | None = None
    model: str = DEMO_MODEL
    probe_model: str | None = None  # the model of the minimal polling call; default: model
    poll_s: float | None = None  # None: no polling (it costs tokens on a real endpoint)
    stream: bool = True
    theme: str = "textual-dark"
    demo: bool = False
    timeout_s: float = 60.0
    max_retries: int = 3
    retry_cap_s: float = 60.0
    stream_limit_s: float = 600.0
    retention_days: float = 7.0
    history: bool = True  # keep calls in the SQLite history

    def key_fingerprint(self) -> str:
        return self.api_key.fingerprint() if self.api_key else "none"


# name in the file -> (field, type)
_FILE_KEYS: dict[str, tuple[str, type | tuple[type, ...]]] = {
    "base_url": ("base_url", str),
    "api_key_env": ("api_key_env", str),
    "organization": ("organization", str),
    "project": ("project", str),
    "model": ("model", str),
    "probe_model": ("probe_model", str),
    "poll": ("poll_s", (int, float, bool)),
    "stream": ("stream", bool),
    "theme": ("theme", str),
    "timeout": ("timeout_s", (int, float)),
    "max_retries": ("max_retries", int),
    "retry_cap": ("retry_cap_s", (int, float)),
    "stream_limit": ("stream_limit_s", (int, float)),
    "retention_days": ("retention_days", (int, float)),
    "history": ("history", bool),
}


# Settings that must be positive numbers (or at least zero), and finite.
_POSITIVE = {"timeout_s": "timeout", "retention_days": "retention_days",
             "stream_limit_s": "stream_limit"}
_NOT_NEGATIVE = {"max_retries": "max_retries", "retry_cap_s": "retry_cap"}


def parse_poll(value: Any, where: str) -> float | None:
    """Seconds between probes; 0, 'off' or false turn polling off."""
    if value is False or value is None or (isinstance(value, str) and value.lower() == "off"):
        return None
    if value is True:
        raise ConfigError(f"{where}: poll is a number of seconds, or false")
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: poll must be seconds or 'off', not {value!r}") from None
    if not math.isfinite(seconds) or seconds < 0:
        raise ConfigError(f"{where}: poll must be zero or more seconds")
    if 0 < seconds < 1:
        raise ConfigError(f"{where}: poll more often than once a second would spend quota "
                          "for nothing")
    return seconds or None


def from_file(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    import tomllib  # only when there is a file: it is on the way to the first frame

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read it ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    if "api_key" in data:
        raise ConfigError(f"{path}: put the key in an environment variable and name it with "
                          "api_key_env, not in the file")
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in _FILE_KEYS:
            raise ConfigError(f"{path}: unknown setting {key!r} (known: "
                              f"{', '.join(sorted(_FILE_KEYS))})")
        name, kind = _FILE_KEYS[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ConfigError(f"{path}: {key} has the wrong type ({type(value).__name__})")
        values[name] = parse_poll(value, str(path)) if key == "poll" else value
        if name in _POSITIVE or name in _NOT_NEGATIVE:
            least = "more than zero" if name in _POSITIVE else "zero or more"
            if not math.isfinite(value) or value < 0 or (name in _POSITIVE and value == 0):
                raise ConfigError(f"{path}: {key} must be {least}, not {value}")
    return values


def from_env(env: Mapping[str, str], api_key_env: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for var, name in (("OPENAI_BASE_URL", "base_url"), ("OPENAI_ORG_ID", "organization"),
                      ("OPENAI_PROJECT_ID", "project"), ("RATELIMIT_TUI_MODEL", "model")):
        if env.get(var):
            values[name] = env[var]
    if env.get("RATELIMIT_TUI_POLL"):
        values["poll_s"] = parse_poll(env["RATELIMIT_TUI_POLL"], "RATELIMIT_TUI_POLL")
    if env.get(api_key_env):
        values["api_key"] = Secret(env[api_key_env].strip())
    return values


def load_settings(flags: Mapping[str, Any] | None = None,
                  env: Mapping[str, str] | None = None,
                  path: Path | None = None) -> Settings:
    """Settings from every layer. `flags` holds only the options the user gave."""
    env = os.environ if env is None else env
    values = from_file(path or config_file())
    values.update(from_env(env, values.get("api_key_env", "OPENAI_API_KEY")))
    flags = dict(flags or {})
    if "poll_s" in flags:
        flags["poll_s"] = parse_poll(flags["poll_s"], "--poll")
    values.update(flags)
    known = {f.name for f in fields(Settings)}
    settings = Settings(**{k: v for k, v in values.items() if k in known})
    if settings.demo or (settings.api_key is None and settings.base_url is None):
        return demo_settings(settings, given=values)
    return settings


def demo_settings(settings: Settings, given: Mapping[str, Any]) -> Settings:
    """Demo mode: the embedded simulator, polling on. Its base_url is set once it listens."""
    model = settings.model if settings.model in SIM_MODELS else DEMO_MODEL
    return replace(settings, demo=True, base_url=None, api_key=Secret("sk-demo-local"),
                   model=model, probe_model=None, poll_s=given.get("poll_s", DEMO_POLL_S))


def history_endpoint(settings: Settings) -> str:
    """The endpoint as history rows name it; the simulator's port changes every run."""
    return "demo" if settings.demo else public_url(settings.base_url or OPENAI_URL)


def endpoint_of(settings: Settings, base_url: str | None = None) -> Endpoint:
    """The client's view of the settings (a local server may need no key: send a dummy)."""
    return Endpoint(base_url or settings.base_url, settings.api_key or Secret("sk-no-key"),
                    settings.organization, settings.project, settings.timeout_s,
                    settings.max_retries, settings.retry_cap_s, settings.stream_limit_s)
