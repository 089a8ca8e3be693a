"""Against a hostile server every call ends, within its limits, with a clear outcome and what
arrived of the answer kept (tests/hostile.py)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import subprocess
import sys

import pytest
from hostile import HostileServer

from ratelimit_tui.core.bounded import MIB, Limits
from ratelimit_tui.core.client import QuotaClient
from ratelimit_tui.core.endpoint import Endpoint
from ratelimit_tui.core.events import Outcome
from ratelimit_tui.core.secret import Secret

MESSAGES = [{"role": "user", "content": "hi"}]
NEVER = 60.0  # a test still running then has found a call with no bound


async def call(behaviour: str, stream: bool, caps: dict | None = None, **endpoint):
    """One call; the default caps (16 MiB, a 1 MiB line) unless `caps` makes them smaller."""
    options = {"timeout_s": 0.25, "max_retries": 0, "stream_limit_s": 3.0, **endpoint}
    limits = None
    if caps:
        limits = Limits(idle_s=options["timeout_s"], body_s=options["timeout_s"],
                        total_s=options["stream_limit_s"], **caps)
    with HostileServer(behaviour) as server:
        client = QuotaClient(Endpoint(server.base_url, Secret("sk-test"), **options), "m",
                             limits=limits)
        try:
            return await asyncio.wait_for(client.chat(MESSAGES, stream=stream), NEVER)
        finally:
            await client.aclose()


@pytest.mark.parametrize("stream", [False, True])
async def test_a_head_that_trickles_meets_its_deadline(stream):
    record = await call("trickle_head", stream)
    assert record.outcome == Outcome.TIMEOUT and "no response head within 0.25 s" in record.error


async def test_a_body_that_trickles_meets_its_deadline():
    record = await call("trickle_body", False)
    assert record.outcome == Outcome.CUT and record.status == 200
    assert "took longer than 0.25 s in all" in record.error


async def test_a_body_that_never_ends_stops_at_its_cap():
    record = await call("endless_body", False, timeout_s=30.0)
    assert record.outcome == Outcome.CUT and "passed 16 MiB: reading stopped" in record.error


async def test_a_stream_that_never_ends_stops_at_its_cap_and_keeps_the_answer():
    record = await call("endless_stream", True, caps={"max_bytes": MIB},  # parsing 16 MiB of
                        timeout_s=30.0, stream_limit_s=30.0)  # events takes seconds
    assert record.outcome == Outcome.CUT and "passed 1 MiB" in record.error
    assert record.text.startswith("word word") and "partial answer is kept" in record.error
    assert len(record.text) < MIB


async def test_a_line_with_no_end_stops_at_the_line_cap():
    record = await call("endless_line", True, timeout_s=30.0)
    assert record.outcome == Outcome.CUT
    assert "one line of the event stream passed 1 MiB" in record.error
    assert record.text == "word "  # the event before it is kept


async def test_a_stream_that_goes_silent_ends_and_keeps_what_came():
    record = await call("stalled_stream", True)
    assert record.outcome == Outcome.CUT and record.text == "word " * 3
    assert "stopped sending for 0.25 s" in record.error


async def test_a_stream_with_no_end_in_time_meets_the_stream_limit():
    record = await call("endless_stream", True, timeout_s=30.0, stream_limit_s=0.3)
    assert record.outcome == Outcome.CUT and "longer than 0.3 s in all" in record.error


# `python -m ratelimit_tui ARGS`, which then writes its own peak to stderr: the kernel's figure
# for this process's memory (VmHWM), where wait4 and RUSAGE_CHILDREN also count what the
# process was before its exec, a copy of the pytest worker that started it (150-220 MB late in
# a run; the probe itself about 70 MB).
MEASURED_MAIN = """import runpy, sys
sys.argv[0] = "ratelimit_tui"
try:
    runpy.run_module("ratelimit_tui", run_name="__main__", alter_sys=True)
finally:
    with open("/proc/self/status") as status:
        peak_kb = status.read().split("VmHWM:")[1].split()[0]
    print(f"peak {peak_kb} kB", file=sys.stderr)
"""


def test_probe_against_a_body_that_never_ends_stays_small(tmp_path):
    """Peak memory of a real `probe` process, measured, not assumed."""
    errors = tmp_path / "stderr"
    with HostileServer("endless_body") as server, errors.open("w") as stderr:
        probe = subprocess.run(
            [sys.executable, "-c", MEASURED_MAIN, "probe", "--base-url", server.base_url],
            stdout=subprocess.DEVNULL, stderr=stderr, timeout=NEVER,
            env={**os.environ, "OPENAI_API_KEY": "sk-test"})
    said = errors.read_text()
    assert probe.returncode == 1 and "passed 16 MiB" in said, said
    peak_mb = int(re.search(r"^peak (\d+) kB$", said, re.MULTILINE)[1]) / 1024
    assert 10 < peak_mb < 150, f"probe peaked at {peak_mb:.0f} MB"


@contextlib.asynccontextmanager
async def probed_dashboard(behaviour: str):
    """The real dashboard on the hostile server, after one F5: (app, pilot, the probe)."""
    from tui_helpers import finished, press_key, ready

    from ratelimit_tui.config import load_settings
    from ratelimit_tui.tui.app import make_app

    messages = []
    with HostileServer(behaviour) as server:
        settings = load_settings({"base_url": server.base_url, "history": False},
                                 env={"OPENAI_API_KEY": "sk-test"})
        app = make_app(settings)
        async with app.run_test(size=(120, 36), message_hook=messages.append) as pilot:
            await ready(pilot)
            press_key(pilot, "f5")
            (record,) = await finished(pilot, messages, kind="probe")
            await pilot.pause()
            yield app, pilot, record


async def test_a_head_with_1500_limits_shows_the_binding_few_and_counts_the_rest():
    from ratelimit_tui.core.model import MAX_BUCKETS

    async with probed_dashboard("many_buckets") as (app, _, record):
        assert record.ok and len(app.quota_panel.gauges) == MAX_BUCKETS
        assert "b377" in app.quota_panel.gauges  # the nearly spent one binds: it is shown
        more = str(app.query_one("#quota-more").render())
        assert "more limits this endpoint reported" in more
        assert "headers past the first 1,000 not read" in more


async def test_the_headers_panel_draws_a_bounded_first_part():
    from ratelimit_tui.tui.widgets.panels import MAX_SHOWN

    async with probed_dashboard("many_headers") as (app, pilot, _):
        await pilot.press("f2")
        await pilot.pause()
        grid = app.last_response.body.content  # summary, gap, table, what is left out
        table, tail = grid.columns[0]._cells[2], grid.columns[0]._cells[3]
        assert table.row_count == MAX_SHOWN
        names = [cell.plain for cell in table.columns[0]._cells]
        assert names[:2] == ["x-ratelimit-limit-requests", "x-ratelimit-remaining-requests"]
        assert "more headers" in tail.plain


async def test_a_head_over_the_client_s_limit_is_named_not_called_unreachable():
    record = await call("huge_head", False, max_retries=2)
    assert record.outcome == Outcome.ERROR and record.attempts == 1
    assert "response head over the 100 KiB" in record.error and "cannot reach" not in record.error


async def test_url_credentials_never_replace_the_key_nor_show_anywhere():
    import base64

    from hostile import SEEN_AUTHORIZATION

    from ratelimit_tui.core.secret import redact_headers

    key, password = "sk-test-ABCDEF0123456789", "S3cret%2FPW"
    basic = base64.b64encode(b"alice:S3cret/PW").decode()  # as an HTTP client would send it
    with HostileServer("echo_auth") as server:
        url = server.base_url.replace("http://", f"http://alice:{password}@")
        endpoint = Endpoint(url, Secret(key), max_retries=0)
        client = QuotaClient(endpoint, "m")
        record = await asyncio.wait_for(client.chat(MESSAGES, stream=False), NEVER)
        await client.aclose()
    assert SEEN_AUTHORIZATION[-1] == f"Bearer {key}"  # the key, not Basic alice:password
    assert endpoint.credentials_removed and "alice" not in (endpoint.sdk_url or "")
    echoed = [("x-echo", f"Bearer {key} Basic {basic} {password} S3cret/PW")]
    for text in (record.error, repr(endpoint), str(redact_headers(echoed, *endpoint.secrets))):
        for secret in (key, password, basic, "S3cret/PW"):
            assert secret not in text, text


async def test_an_answer_that_never_ends_stops_at_the_answer_cap():
    from ratelimit_tui.core.client import MAX_ANSWER_CHARS

    record = await call("endless_words", True, timeout_s=30.0, stream_limit_s=30.0)
    assert record.outcome == Outcome.CUT and "the answer passed 400,000 characters" in record.error
    assert MAX_ANSWER_CHARS < len(record.text) <= MAX_ANSWER_CHARS + 10_000
    assert "partial answer is kept" in record.error
