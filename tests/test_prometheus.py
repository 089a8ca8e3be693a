"""A real Prometheus scrapes a real `watch` polling the simulator. After a burst drains the
requests bucket, Prometheus's query API says what the simulator's headers said, the 429 counter
has moved, and the deployed alert rules fire. Every process is started and stopped here, on
loopback, on free ports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from programs import free_ports, need, readline
from replay import LoopbackServer
from test_deploy import DEPLOY, dashboard_expressions

from ratelimit_tui.sim.limiter import Limits

KEY = "sk-prometheus-SECRET-42"


class Beacon(LoopbackServer):
    """A second target, scraped at watch's pace: each of its scrapes tells the test that a
    round of scrapes went by, so that it asks Prometheus again on its news, not on a timer."""

    def __init__(self) -> None:
        self.scrapes = 0
        self.scraped = threading.Condition()
        beacon = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("content-type", "text/plain; version=0.0.4")
                self.send_header("content-length", "0")
                self.end_headers()
                with beacon.scraped:
                    beacon.scrapes += 1
                    beacon.scraped.notify_all()

            def log_message(self, *args):
                pass

        super().__init__(ThreadingHTTPServer(("127.0.0.1", 0), Handler))

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self._server.server_address[1]}"

    def next_scrape(self, seconds: float) -> None:
        with self.scraped:
            seen = self.scrapes
            assert self.scraped.wait_for(lambda: self.scrapes > seen, max(0.0, seconds)), \
                "Prometheus stopped scraping: see prometheus.log"


class Prometheus:
    def __init__(self, program: str, port: int, target: str, beacon: Beacon,
                 tmp_path) -> None:
        config = {  # JSON is YAML: no YAML library needed
            "global": {"scrape_interval": "200ms", "evaluation_interval": "200ms"},
            "rule_files": [str(DEPLOY / "alerts.yml")],
            "scrape_configs": [
                {"job_name": "ratelimit-tui", "static_configs": [{"targets": [target]}]},
                {"job_name": "beacon", "static_configs": [{"targets": [beacon.target]}]}],
        }
        self.beacon = beacon
        path = tmp_path / "prometheus.yml"
        path.write_text(json.dumps(config))
        self.url = f"http://127.0.0.1:{port}"
        self.log = (tmp_path / "prometheus.log").open("w")
        self.process = subprocess.Popen(
            [program, f"--config.file={path}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
             f"--web.listen-address={self.url.removeprefix('http://')}"],
            stdout=self.log, stderr=subprocess.STDOUT)

    def query(self, expr: str) -> list[dict]:
        url = f"{self.url}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"
        with urllib.request.urlopen(url, timeout=10) as response:
            answer = json.load(response)
        assert answer["status"] == "success", (expr, answer)
        return answer["data"]["result"]

    def value(self, expr: str) -> float | None:
        try:
            result = self.query(expr)
        except (urllib.error.URLError, ConnectionError):
            return None  # not listening yet
        return float(result[0]["value"][1]) if result else None

    def until(self, expr: str, seconds: float = 60.0) -> float:
        """Ask again after each round of Prometheus's scrapes, until it answers: never a
        wait for a span of time of our own."""
        deadline = time.monotonic() + seconds
        while (found := self.value(expr)) is None:
            assert self.process.poll() is None, "prometheus exited: see prometheus.log"
            assert time.monotonic() < deadline, f"Prometheus never answered {expr}"
            self.beacon.next_scrape(deadline - time.monotonic())
        return found

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()


def burst(base_url: str) -> dict[str, str]:
    """Minimal calls until the simulator refuses one; the refusal's headers."""
    body = json.dumps({"model": "gpt-4o-mini", "max_tokens": 1,
                       "messages": [{"role": "user", "content": "hi"}]}).encode()
    for _ in range(500):
        request = urllib.request.Request(f"{base_url}/chat/completions", data=body, headers={
            "Authorization": f"Bearer {KEY}", "Content-Type": "application/json"})
        try:
            urllib.request.urlopen(request, timeout=10).close()
        except urllib.error.HTTPError as refused:
            assert refused.code == 429
            return {k.lower(): v for k, v in refused.headers.items()}
    pytest.fail("the simulator never refused")


@pytest.mark.long
def test_prometheus_sees_what_the_simulator_said(run_sim, tmp_path):
    program = need("prometheus")
    sim = run_sim(limits=Limits(rpm=20, tpm=1_000_000))  # refills slower than watch polls
    (tmp_path / "config.toml").write_text(
        f'[endpoints.sim]\nbase_url = "{sim.base_url}"\napi_key_env = "SIM_KEY"\npoll = 1\n')
    # Prometheus first: it hands its first targets to the scraper about 5 s after its start
    # (its discovery's fixed pace), and watch starts and drains the bucket meanwhile.
    port, watch_port = free_ports(2)  # watch's chosen now: Prometheus is told it at start
    target = f"127.0.0.1:{watch_port}"
    with Beacon() as beacon:
        prometheus = Prometheus(program, port, target, beacon, tmp_path)
        watch = subprocess.Popen(
            [sys.executable, "-m", "ratelimit_tui", "watch", "--listen", target],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "SIM_KEY": KEY})
        try:
            assert target in readline(watch)
            sel = '{endpoint="sim",bucket="requests"}'
            assert prometheus.until(f"ratelimit_limit{sel}") == 20
            # Scraped before the burst at 0, the 429 counter's rise is an increase to alert on.
            refused = burst(sim.base_url)
            assert refused["x-ratelimit-remaining-requests"] == "0"
            assert refused["x-ratelimit-limit-requests"] == "20"
            # The watcher's next poll is refused too, and Prometheus scrapes what it was told.
            assert prometheus.until('ratelimit_throttled_responses_total{endpoint="sim"} > 0') > 0
            assert prometheus.until(f"ratelimit_remaining{sel} == 0") == 0
            assert prometheus.value('ratelimit_calls_total{outcome="rate_limited"}') >= 1
            assert prometheus.until('ALERTS{alertname="RateLimitThrottled",alertstate="firing"}')
            assert prometheus.until('ALERTS{alertname="RateLimitBucketLow"}')  # pending: 2m
            for expr in dashboard_expressions():  # every panel's query runs, and finds data
                expr = expr.replace("$endpoint", ".*").replace("$__rate_interval", "1m")
                assert prometheus.query(expr), expr
        finally:
            prometheus.stop()
            watch.terminate()
            out, err = watch.communicate(timeout=30)
    assert watch.returncode == 0, err
    assert KEY not in out + err
