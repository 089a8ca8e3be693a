"""Real programs the tests run beside the product (Prometheus, promtool, Chromium)."""

from __future__ import annotations

import contextlib
import os
import selectors
import shutil
import socket
import subprocess

import pytest


def need(program: str) -> str:
    """The program's path. Missing, it fails the test under CI (.ci/run installs it) and skips
    it elsewhere, saying how to get it."""
    path = shutil.which(program)
    if path is None:
        message = f"{program} is not installed (.ci/run installs it with apt-get)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def free_ports(count: int) -> list[int]:
    """Loopback ports nobody listens on, for programs that cannot be told to pick one: all
    held at once while chosen, so that no two are the same."""
    with contextlib.ExitStack() as held:
        probes = [held.enter_context(socket.socket()) for _ in range(count)]
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in probes]


def readline(process: subprocess.Popen, seconds: float = 30.0) -> str:
    """The next line the process prints, or a failure if none comes in `seconds`."""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        assert selector.select(seconds), "the process printed nothing"
    return process.stdout.readline()
