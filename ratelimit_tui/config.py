"""Settings, layered: defaults < config file (TOML) < environment < command-line flags.

The API key is never read from the config file: it comes from the environment variable the file
names (`api_key_env`, default OPENAI_API_KEY), so the file can be shared and committed.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ratelimit_tui.core.endpoint import OPENAI_URL, Endpoint, public_url
from ratelimit_tui.core.secret import Secret
from ratelimit_tui.locations import config_file

DEMO_MODEL = "gpt-4o-mini"
DEMO_POLL_S = 10.0
DEFAULT_ENDPOINT = "default"  # the top level's settings, with the environment's


class ConfigError(ValueError):
    """A setting that cannot be used; the message names it and where it came from."""


@dataclass(frozen=True)
class Settings:
    name: str = DEFAULT_ENDPOINT  # the [endpoints.NAME] it came from
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
    metrics: tuple[str, int] | None = None  # --metrics: serve /metrics on (host, port)
    alert_below: float = 10.0  # percent left of the binding limit that alerts; 0: never
    bell: bool = False  # ring the terminal's bell with the alert

    def key_fingerprint(self) -> str:
        return self.api_key.fingerprint() if self.api_key else "none"


# name in the file -> (field, type)
_FILE_KEYS: dict[str, tuple[str, type | tuple[type, ...]]] = {
    "base_url": ("base_url", str),
    "provider": ("provider", str),
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
    "alert_below": ("alert_below", (int, float)),
    "bell": ("bell", bool),
}
# Where calls go: a named endpoint says it for itself, it never inherits the top level's.
_WHERE = ("base_url", "provider", "api_key_env", "organization", "project", "model",
          "probe_model")
# What a [endpoints.NAME] section may set: where calls go and how patiently.
_SECTION_KEYS = frozenset((*_WHERE, "poll", "stream", "timeout", "max_retries", "retry_cap",
                           "stream_limit"))
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")


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


def check_url(url: str, where: str) -> None:
    """An endpoint's base URL, refused with a clear line when no HTTP client could use it. The
    line shows the URL as written, but never its user:password@ or its query."""
    try:
        parts = urlsplit(url)
        usable = parts.scheme in ("http", "https") and parts.hostname and (
            parts.port or True)  # .port raises on a port that is not a number, or too big
    except ValueError:
        usable = False
    if not usable:
        raise ConfigError(f"{where}: base_url must be an http:// or https:// URL with a host, "
                          f"not {_as_written(url)!r}")


def _as_written(url: str) -> str:
    """A refused URL as the user wrote it, less what may be secret: everything up to the last
    @ after the scheme (a password may hold any character, / and ? included, and a value
    without a scheme may still be user:password@host), then the query or fragment."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        scheme, rest = "", url
    return scheme + separator + re.split(r"[?#]", rest.rsplit("@", 1)[-1], maxsplit=1)[0]


@dataclass(frozen=True)
class ConfigFile:
    """The config file, checked: the top level (the default endpoint and everything global)
    and one table of settings per named endpoint."""

    path: Path
    top: dict[str, Any] = field(default_factory=dict)
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)

    def endpoint_names(self) -> list[str]:
        return list(self.sections)

    def section(self, name: str) -> dict[str, Any]:
        """The settings of [endpoints.NAME]; a name not configured is a ConfigError."""
        if name not in self.sections:
            known = ", ".join(self.sections) or f"none: {self.path} names none"
            raise ConfigError(f"no endpoint named {name!r} (configured: {known})")
        return self.sections[name]


def read_config(path: Path) -> ConfigFile:
    if not path.exists():
        return ConfigFile(path)
    import tomllib  # only when there is a file: it is on the way to the first frame

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read it ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    tables = data.pop("endpoints", {})
    if not isinstance(tables, dict) or not all(isinstance(t, dict) for t in tables.values()):
        raise ConfigError(f"{path}: endpoints holds named tables: [endpoints.NAME]")
    sections = {}
    for name, table in tables.items():
        where = f"{path} [endpoints.{name}]"
        if not _NAME.fullmatch(name) or name == DEFAULT_ENDPOINT:
            raise ConfigError(f"{where}: name it with letters, digits, '-', '_' or '.' (and "
                              f"not {DEFAULT_ENDPOINT!r}, the top level's name)")
        sections[name] = _checked(table, where, _SECTION_KEYS)
    return ConfigFile(path, _checked(data, str(path), _FILE_KEYS.keys()), sections)


def _checked(table: dict[str, Any], where: str, allowed) -> dict[str, Any]:
    """One table's settings by field name, each checked for its type and range."""
    if "api_key" in table:
        raise ConfigError(f"{where}: put the key in an environment variable and name it with "
                          "api_key_env, not in the file")
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in allowed:
            raise ConfigError(f"{where}: unknown setting {key!r} (known: "
                              f"{', '.join(sorted(allowed))})")
        name, kind = _FILE_KEYS[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ConfigError(f"{where}: {key} has the wrong type ({type(value).__name__})")
        values[name] = parse_poll(value, where) if key == "poll" else value
        if name in _POSITIVE or name in _NOT_NEGATIVE:
            least = "more than zero" if name in _POSITIVE else "zero or more"
            if not math.isfinite(value) or value < 0 or (name in _POSITIVE and value == 0):
                raise ConfigError(f"{where}: {key} must be {least}, not {value}")
        if key == "base_url":
            check_url(value, where)
        if key == "alert_below" and not 0 <= value <= 100:
            raise ConfigError(f"{where}: alert_below is a percentage from 0 (never) to 100, "
                              f"not {value}")
    return values


def with_provider(values: dict[str, Any], where: str) -> dict[str, Any]:
    """A layer's settings with its provider's profile beneath them: the profile fills the base
    URL, the key's variable and the model the layer did not set itself."""
    name = values.get("provider")
    if name is None:
        return values
    from ratelimit_tui.core.providers import PROVIDERS

    profile = PROVIDERS.get(name)
    if profile is None:
        raise ConfigError(f"{where}: unknown provider {name!r} (known: "
                          f"{', '.join(PROVIDERS)})")
    if profile.base_url is None and "base_url" not in values:
        raise ConfigError(f"{where}: provider {name!r} needs a base_url like "
                          f"{profile.url_hint}")
    filled = {"api_key_env": profile.key_env, "model": profile.model}
    if profile.base_url is not None:
        filled["base_url"] = profile.base_url
    return {**filled, **values}


def from_env(env: Mapping[str, str]) -> dict[str, Any]:
    """What the environment says of the default endpoint (the key is read last, from the
    variable the layers name)."""
    values: dict[str, Any] = {}
    for var, name in (("OPENAI_BASE_URL", "base_url"), ("OPENAI_ORG_ID", "organization"),
                      ("OPENAI_PROJECT_ID", "project"), ("RATELIMIT_TUI_MODEL", "model")):
        if env.get(var):
            values[name] = env[var]
    if "base_url" in values:
        check_url(values["base_url"], "OPENAI_BASE_URL")
    if env.get("RATELIMIT_TUI_POLL"):
        values["poll_s"] = parse_poll(env["RATELIMIT_TUI_POLL"], "RATELIMIT_TUI_POLL")
    return values


def load_settings(flags: Mapping[str, Any] | None = None,
                  env: Mapping[str, str] | None = None,
                  path: Path | None = None) -> Settings:
    """Settings of one endpoint from every layer: the default one, or the one the flag
    `endpoint` names. `flags` holds only the options the user gave."""
    env = os.environ if env is None else env
    flags = dict(flags or {})
    config = read_config(path or config_file())
    return _endpoint(config, flags.pop("endpoint", None) or DEFAULT_ENDPOINT, flags, env)


def load_endpoints(names: list[str] | None, flags: Mapping[str, Any] | None = None,
                   env: Mapping[str, str] | None = None,
                   path: Path | None = None) -> list[Settings]:
    """Every named endpoint, or those in `names`; with none configured, the default one."""
    env = os.environ if env is None else env
    config = read_config(path or config_file())
    names = names or config.endpoint_names() or [DEFAULT_ENDPOINT]
    return [_endpoint(config, name, dict(flags or {}), env) for name in dict.fromkeys(names)]


def _endpoint(config: ConfigFile, name: str, flags: dict[str, Any],
              env: Mapping[str, str]) -> Settings:
    if "poll_s" in flags:
        flags["poll_s"] = parse_poll(flags["poll_s"], "--poll")
    if "base_url" in flags:
        check_url(flags["base_url"], "--base-url")
    flags = with_provider(flags, "--provider")
    if name == DEFAULT_ENDPOINT:
        where = str(config.path)
        environment = from_env(env)
        if "provider" in config.top:  # its key goes to its URL, not to OPENAI_BASE_URL's
            environment.pop("base_url", None)
        values = {**with_provider(config.top, where), **environment, **flags}
    else:
        section = config.section(name)
        where = f"{config.path} [endpoints.{name}]"
        inherited = {k: v for k, v in config.top.items() if k not in _WHERE}
        values = {**inherited, **with_provider(section, where), **flags}
    key_env = _key_variable(name, values)
    if key_env and env.get(key_env):
        values["api_key"] = Secret(env[key_env].strip())
    elif _needs_key(name, values):
        raise ConfigError(f"{where}: api_key_env: the variable {key_env} is not set")
    known_fields = {f.name for f in fields(Settings)}
    settings = Settings(name=name, **{k: v for k, v in values.items() if k in known_fields})
    if settings.demo or (settings.api_key is None and settings.base_url is None):
        if name != DEFAULT_ENDPOINT and not settings.demo:
            raise ConfigError(f"{where}: api_key_env: the variable {key_env} is not set")
        return demo_settings(settings, given=values)
    return settings


def _key_variable(name: str, values: Mapping[str, Any]) -> str | None:
    """Where the key comes from. A named endpoint with a URL of its own and no api_key_env
    gets no key: OPENAI_API_KEY goes to OpenAI, or where the default endpoint points, never to
    a server nobody said should have it."""
    if "api_key_env" in values:
        return values["api_key_env"]
    if name != DEFAULT_ENDPOINT and "base_url" in values:
        return None
    return "OPENAI_API_KEY"


def _needs_key(name: str, values: Mapping[str, Any]) -> bool:
    """A provider always wants its key, and so does a named endpoint that names its variable;
    a local server may take none (the default endpoint without a URL is the demo)."""
    if values.get("demo"):
        return False
    return "provider" in values or (name != DEFAULT_ENDPOINT and "api_key_env" in values)


def demo_settings(settings: Settings, given: Mapping[str, Any]) -> Settings:
    """Demo mode: the embedded simulator, polling on. Its base_url is set once it listens. The
    model is the one asked for: the simulator answers a name it does not know with OpenAI's
    404, which says so where the user looks, where a model put in its place would not."""
    return replace(settings, demo=True, base_url=None, api_key=Secret("sk-demo-local"),
                   probe_model=None, poll_s=given.get("poll_s", DEMO_POLL_S))


def history_endpoint(settings: Settings) -> str:
    """The endpoint as history rows name it; the simulator's port changes every run."""
    return "demo" if settings.demo else public_url(settings.base_url or OPENAI_URL)


def stored_name(name: str, env: Mapping[str, str] | None = None,
                path: Path | None = None) -> tuple[str, str | None]:
    """How the history names the configured endpoint `name`: its URL without credentials,
    and its key's fingerprint when the key's variable is set (two keys on one URL are two
    quotas). No key is needed to read what was stored; a name that is not configured is a
    ConfigError."""
    env = os.environ if env is None else env
    config = read_config(path or config_file())
    values = with_provider(config.section(name), f"{config.path} [endpoints.{name}]")
    key_env = _key_variable(name, values)
    key = Secret(env[key_env].strip()) if key_env and env.get(key_env) else None
    return (public_url(values.get("base_url") or OPENAI_URL),
            key.fingerprint() if key else None)


def endpoint_of(settings: Settings, base_url: str | None = None) -> Endpoint:
    """The client's view of the settings (a local server may need no key: send a dummy)."""
    return Endpoint(base_url or settings.base_url, settings.api_key or Secret("sk-no-key"),
                    settings.organization, settings.project, settings.timeout_s,
                    settings.max_retries, settings.retry_cap_s, settings.stream_limit_s,
                    embedded=settings.demo)
