"""`ratelimit-tui serve` in a real browser: headless Chromium opens the URL the command prints,
and the terminal on the page shows the gauges of a dashboard on the built-in simulator. Ctrl-C
then stops the server and the dashboard it started for the tab."""

from __future__ import annotations

import contextlib
import os
import re
import select
import shlex
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from browser import chromium
from programs import need, readline
from test_cli import cli

from ratelimit_tui.cli import DASHBOARD_FLAGS, ENDPOINT_FLAGS, build_parser
from ratelimit_tui.commands.serve import tab_arguments, tab_command

SCREENSHOT = Path(__file__).parent.parent / "screenshots" / "browser.png"
GAUGE = r"requests / min.*\d+ / \d+"  # 'requests / min  ◆ binding   19 / 20  resets in 3s'


def need_serve_extra() -> None:
    """Missing, it fails the test under CI (.ci/run installs the extra), skips it elsewhere."""
    try:
        import textual_serve  # noqa: F401
    except ImportError:
        message = "the [serve] extra is not installed: pip install -e '.[test,serve]'"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def given(argv: list[str]) -> dict:
    """The dashboard flags a command line gives, by setting name."""
    flags = vars(build_parser().parse_args(argv))
    return {name: value for name, value in flags.items()
            if name in ENDPOINT_FLAGS + DASHBOARD_FLAGS}


def test_each_tab_runs_the_dashboard_with_the_flags_given_and_no_key():
    flags = given(["serve", "--endpoint", "a", "--endpoint", "b b", "--model", "gpt; rm -rf ~",
                   "--no-stream", "--poll", "5", "--theme", "nord"])
    line = tab_command(tab_arguments(flags, tour=False))
    python, dash_m, package, *arguments = shlex.split(line)
    assert (python, dash_m, package, arguments[0]) == (sys.executable, "-m", "ratelimit_tui",
                                                       "dashboard")
    assert given(arguments) == flags  # every flag arrives, quoted for the shell
    assert tab_arguments({}, tour=True) == ["demo", "--tour"]


def test_serve_refuses_what_a_tab_could_not_do(run_main):
    metrics = run_main("serve", "--metrics", "127.0.0.1:9999")
    assert metrics.returncode == 2 and "--metrics" in metrics.stderr  # one port, many tabs
    tour = run_main("serve", "--tour", "--demo")
    assert tour.returncode == 2 and "--tour" in tour.stderr
    port = run_main("serve", "--port", "70000")
    assert port.returncode == 2 and "70000 is not a port" in port.stderr


def test_a_taken_port_and_a_missing_extra_are_plain_errors():
    need_serve_extra()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = cli("serve", "--port", port)
    assert result.returncode == 2, result.stderr
    assert result.stderr == f"ratelimit-tui serve: cannot listen on 127.0.0.1:{port}: " \
        "Address already in use\n"
    no_extra = subprocess.run(
        [sys.executable, "-c", "import sys; sys.modules['textual_serve'] = None; "
         "from ratelimit_tui.cli import main; sys.exit(main(['serve']))"],
        capture_output=True, text=True, timeout=60)
    assert no_extra.returncode == 2
    assert "pip install 'ratelimit-tui[serve]'" in no_extra.stderr
    assert "Traceback" not in no_extra.stderr


def tab_processes(pid: int) -> list[int]:
    """Descriptors of the processes `pid` started, and theirs (each tab's shell and dashboard),
    readable once each has exited: held from now on, so a reused pid cannot fool them."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    started = [int(child) for child in path.read_text().split()] if path.exists() else []
    held = []
    for child in started:
        with contextlib.suppress(ProcessLookupError):  # gone already: nothing to wait for
            held.append(os.pidfd_open(child))
        held += tab_processes(child)
    return held


def killed(held: list[int], seconds: float = 20.0) -> int:
    """How many of `held` were still running after `seconds` and had to be killed (each wait
    ends the moment its process exits)."""
    late = [fd for fd in held if not select.select([fd], [], [], seconds)[0]]
    for fd in late:
        signal.pidfd_send_signal(fd, signal.SIGKILL)
    for fd in held:
        os.close(fd)
    return len(late)


@pytest.mark.long
async def test_a_browser_tab_plays_the_tour_with_its_gauges_and_ctrl_c_stops_it():
    need_serve_extra()
    browser = need("chromium")
    server = subprocess.Popen(
        [sys.executable, "-m", "ratelimit_tui", "serve", "--port", "0", "--tour"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy())
    tabs: list[int] = []
    try:
        async with chromium(browser, 1280, 800) as page:  # starting while the server does
            line = readline(server)
            assert line.startswith("ratelimit-tui: the dashboard is at http://127.0.0.1:"), line
            await page.open(re.search(r"http://\S+", line).group())
            screen = await page.screen_matching(GAUGE)
            assert "demo" in screen and "Tour 1/6" in screen  # the tour plays in the tab
            png = await page.screenshot()
            assert png.startswith(b"\x89PNG") and len(png) > 10_000  # a picture, not a blank
            if os.environ.get("UPDATE_SCREENSHOTS"):  # scripts/screenshots.py sets it
                SCREENSHOT.write_bytes(png)
            tabs = tab_processes(server.pid)
            assert tabs, "no dashboard process for the tab"
            server.send_signal(signal.SIGINT)  # the tab still open: it must not hold the stop
            out, err = server.communicate(timeout=20)
    finally:
        server.kill()
        late = killed(tabs)
    assert server.returncode == 0, err
    assert "Traceback" not in out + err
    assert not late, "a tab's dashboard did not quit with the server"
