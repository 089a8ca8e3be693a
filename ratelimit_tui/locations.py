"""Where ratelimit-tui keeps its files. Environment variables move them (tests do)."""

from __future__ import annotations

import os
from pathlib import Path

APP = "ratelimit-tui"


def config_file() -> Path:
    if override := os.environ.get("RATELIMIT_TUI_CONFIG"):
        return Path(override)
    from platformdirs import user_config_path

    return user_config_path(APP) / "config.toml"


def data_dir() -> Path:
    if override := os.environ.get("RATELIMIT_TUI_DATA_DIR"):
        return Path(override)
    from platformdirs import user_data_path

    return user_data_path(APP)


def history_db() -> Path:
    return data_dir() / "history.sqlite3"
