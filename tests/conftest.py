"""Shared fixtures: a real simulator on loopback, and a clock tests can move."""

from __future__ import annotations

import compileall
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ratelimit_tui.sim.embedded import EmbeddedSimulator
from ratelimit_tui.sim.limiter import Limits
from ratelimit_tui.sim.server import SimConfig

os.environ.pop("NO_COLOR", None)  # snapshot tests compare colours


sys.path.insert(0, str(Path(__file__).parent.parent / "scripts"))
from scenes import ScriptedTime  # the scenes' clock serves the tests too


def pytest_configure(config: pytest.Config) -> None:
    """Our modules' bytecode written once, before the workers start: where
    PYTHONDONTWRITEBYTECODE is set (this workplace, some CI images), every worker and each of
    the dozens of interpreters the tests start would compile them from source again (about
    1.5 s of CPU in all). compileall writes it all the same, and only where a source is newer."""
    if not hasattr(config, "workerinput"):  # the controller, or a run without workers
        compileall.compile_dir(Path(__file__).parent.parent / "ratelimit_tui", quiet=1)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The long tests first: on several workers, one that starts last ends the run late while
    the other workers sit idle."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No test reads the user's config, writes their data, or sees their API keys."""
    monkeypatch.setenv("RATELIMIT_TUI_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("RATELIMIT_TUI_DATA_DIR", str(tmp_path / "data"))
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID",
                 "RATELIMIT_TUI_MODEL", "RATELIMIT_TUI_POLL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def clock() -> ScriptedTime:
    return ScriptedTime(start=1000.0)


def fast_config(**overrides) -> SimConfig:
    """A simulator with no artificial delays, unless a test asks for them."""
    values = {"limits": Limits(rpm=60, tpm=10_000), "latency_ms": 0.0, "tokens_per_s": 0.0}
    values.update(overrides)
    return SimConfig(**values)


@pytest.fixture
def run_sim():
    """run_sim(**config) -> a started EmbeddedSimulator, stopped after the test."""
    started: list[EmbeddedSimulator] = []

    def start(**overrides) -> EmbeddedSimulator:
        sim = EmbeddedSimulator(fast_config(**overrides)).start()
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


@pytest.fixture
def run_main(capsys, monkeypatch):
    """run_main(*args, env={...}) -> what `python -m ratelimit_tui *args` would print and
    return, run in this process: the same parser, command and output, without a second
    interpreter's start (a second of imports, most of them the SDK's). For what only a process
    shows (pipes, signals, what is imported, the exit itself), tests start one."""
    from ratelimit_tui.cli import main

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        for name, value in (env or {}).items():
            monkeypatch.setenv(name, value)
        capsys.readouterr()  # only this command's output
        try:
            code = main(list(args))
        except SystemExit as exit_:
            code = exit_.code
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, out, err)

    return run
