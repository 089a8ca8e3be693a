"""The command line as a user types it: flags before or after the command, pipes into head."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from test_store import record, store_at


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ratelimit_tui", *args], capture_output=True,
                          text=True, timeout=60, env={**os.environ, **(env or {})})


def test_flags_before_a_command_go_with_it(run_sim, run_main):
    sim = run_sim()
    for args in (("--base-url", sim.base_url, "probe", "--json"),
                 ("probe", "--base-url", sim.base_url, "--json")):
        result = run_main(*args, env={"OPENAI_API_KEY": "sk-test"})
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["status"] == 200
    demo = run_main("--demo", "probe")
    assert demo.returncode == 0 and "status 200" in demo.stdout


def test_a_demo_probe_calls_the_model_it_was_given(run_main):
    unknown = run_main("probe", "--demo", "--model", "nosuch-model")
    assert unknown.returncode == 1 and "gpt-4o-mini" not in unknown.stdout
    assert "unknown model 'nosuch-model'" in unknown.stderr and "(404)" in unknown.stderr
    known = run_main("probe", "--demo", "--model", "o4-mini")
    assert known.returncode == 0 and "probe: o4-mini 200" in known.stdout


def test_a_public_url_that_is_not_one_is_refused_without_echoing_a_password(run_main):
    for url, said in (("example.com:8080", "http://HOST[:PORT]"),
                      ("http://:80", "http://HOST[:PORT]"),
                      ("https://proxy.example:99999/", "http://HOST[:PORT]"),
                      ("https://me:hunter2@proxy.example/", "no user or password")):
        result = run_main("serve", "--public-url", url)
        assert result.returncode == 2 and said in result.stderr, (url, result.stderr)
        assert "hunter2" not in result.stderr
    from ratelimit_tui.cli import _public_url

    for url in ("https://proxy.example/ratelimit", "http://[::1]:8080", "http://box:80/"):
        assert _public_url(url) == url


def test_a_flag_that_does_not_apply_is_named(run_main):
    result = run_main("--poll", "5", "probe")
    assert result.returncode == 2 and "--poll does not apply to probe" in result.stderr
    result = run_main("--base-url", "http://x/v1", "export")
    assert result.returncode == 2 and "--base-url does not apply to export" in result.stderr
    for args in (("demo", "--tour", "--base-url", "http://x/v1"),  # after a command without it
                 ("demo", "--base-url=http://x/v1")):
        result = run_main(*args)
        assert result.returncode == 2, args
        assert "ratelimit-tui demo: error: --base-url does not apply to demo" in result.stderr
    result = run_main("demo", "--bogus")
    assert "ratelimit-tui demo: error: unrecognized arguments: --bogus" in result.stderr


def test_a_command_refusal_shows_that_command_usage(run_main):
    result = run_main("demo", "--once")
    assert result.returncode == 2
    assert result.stderr.startswith("usage: ratelimit-tui demo ")
    assert "ratelimit-tui demo: error: --once goes with --tour" in result.stderr


def test_the_dashboard_is_a_command_too(run_main):
    result = run_main("dashboard", "--help")
    assert result.returncode == 0 and "--poll" in result.stdout and "--base-url" in result.stdout


def test_export_into_head_ends_quietly(tmp_path):
    data = tmp_path / "data"
    store = store_at(data / "history.sqlite3")
    for i in range(3000):  # more than a pipe holds: the writer meets the closed pipe
        store.add(record(i % 90), "http://127.0.0.1:8787/v1", "fp")
    store.close()
    for fmt in ("csv", "json", "jsonl"):
        piped = subprocess.run(
            f"{sys.executable} -m ratelimit_tui export --format {fmt} | head -5",
            shell=True, capture_output=True, text=True, timeout=60,
            env={**os.environ, "RATELIMIT_TUI_DATA_DIR": str(data)})
        assert piped.stderr == "" and len(piped.stdout.splitlines()) == 5, (fmt, piped.stderr)


def test_export_takes_the_endpoint_as_the_status_line_shows_it(tmp_path, run_main):
    data = tmp_path / "data"
    store = store_at(data / "history.sqlite3")
    store.add(record(1), "http://127.0.0.1:8787/v1", "fp")
    store.add(record(2), "https://api.openai.com/v1", "fp")
    store.add(record(3), "demo", "fp")
    store.close()
    env = {"RATELIMIT_TUI_DATA_DIR": str(data)}
    for wanted, request_id in (("127.0.0.1:8787", "req_1"), ("api.openai.com", "req_2"),
                               ("https://api.openai.com/v1/", "req_2"), ("demo", "req_3")):
        out = run_main("export", "--format", "jsonl", "--endpoint", wanted, env=env).stdout
        assert [json.loads(line)["request_id"] for line in out.splitlines()] == [request_id]


def test_locate_says_when_there_is_no_config_file_yet(tmp_path, run_main):
    out = run_main("locate").stdout
    assert "not created yet" in out
    (tmp_path / "config.toml").write_text('model = "gpt-4o-mini"\n')
    assert "not created yet" not in run_main("locate").stdout


def test_probe_json_tells_out_of_quota_from_a_rate_limit(run_sim, run_main):
    sim = run_sim(faults={"quota": 1.0})
    result = run_main("probe", "--base-url", sim.base_url, "--json",
                      env={"OPENAI_API_KEY": "sk-t"})
    assert result.returncode == 0, result.stderr
    call = json.loads(result.stdout)["call"]
    assert call["status"] == 429 and call["outcome"] == "insufficient_quota"
    assert "out of quota" in call["error"]
    fine = json.loads(run_main("--demo", "probe", "--json").stdout)["call"]
    assert (fine["outcome"], fine["error"]) == ("ok", None)


def test_watch_says_what_is_wrong_in_one_line(tmp_path):
    config = tmp_path / "config.toml"  # where the isolated fixture points the CLI
    config.write_text('[endpoints.groq]\nprovider = "groq"\n[endpoints.b]\nmodel = "m"\n')
    result = cli("watch", "--listen", "0")
    assert result.returncode == 2
    assert result.stderr.strip().endswith(
        "[endpoints.groq]: api_key_env: the variable GROQ_API_KEY is not set")
    result = cli("watch", "--model", "m", env={"GROQ_API_KEY": "g", "OPENAI_API_KEY": "o"})
    assert result.returncode == 2 and "name one with --endpoint" in result.stderr
    result = cli("watch", "--endpoint", "nope")
    assert result.returncode == 2 and "no endpoint named 'nope' (configured: groq, b)" in \
        result.stderr
    result = cli("watch", "--listen", "somewhere")
    assert result.returncode == 2 and "is not HOST:PORT" in result.stderr
    config.unlink()  # nothing configured, no key: the simulator's numbers only when asked
    result = cli("watch", "--listen", "0")
    assert result.returncode == 2 and "pass --demo to watch the built-in simulator" in \
        result.stderr
    assert "give seconds" in cli("watch", "--poll", "off").stderr


@pytest.mark.long
def test_watch_on_a_taken_port_and_into_head(run_sim, tmp_path):
    import socket

    sim = run_sim()
    (tmp_path / "config.toml").write_text(f'[endpoints.sim]\nbase_url = "{sim.base_url}"\n')
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli("watch", "--listen", f"127.0.0.1:{port}")
    assert result.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in result.stderr
    # One line: head exits, and watch meets the closed pipe with its next poll's line.
    head = subprocess.run(f"{sys.executable} -m ratelimit_tui watch --listen off --poll 1 "
                          "| head -n 1", shell=True, capture_output=True, text=True, timeout=60)
    assert " sim 200 in " in head.stdout and head.stdout.count("\n") == 1, head.stdout
    assert "Traceback" not in head.stderr and "Broken pipe" not in head.stderr
