"""Simulator throughput against mocklimit 0.6.0 (a FastAPI rate-limiting mock), in one run.

Both servers run in their own processes, started once; the same load (bench_sim.drive:
non-streaming chat, 16 concurrent keep-alive httpx2 clients) drives each for 10 s a round, in
2-s slices taken in turn (ours, mocklimit, mocklimit, ours, ...), so that the other work on this
shared machine, which comes and goes by the second, falls on both alike; five rounds, medians.
No latency, no streaming pace, limits out of reach.
Our simulator's request log goes to a file, as `ratelimit-tui sim` prints it by default;
mocklimit's output (its loguru lines and uvicorn's access log) is discarded.

That load generator, though, costs about 0.9 ms of CPU a request, more than mocklimit's whole
server (about 0.7 ms): on a quiet machine both servers saturate it and come out alike, and the
ratio grows only as the machine's other work makes them share its cores with it. So when wrk
(a C load generator: apt-get install wrk) is on PATH, the same load is also sent by wrk
(-t1 -c16, keep-alive, 10 s a server, alternated, three rounds): then the servers are the
bottleneck, and requests/s compares them.

Ours runs on uvloop and httptools when the `fast` extra is installed (`pip install -e ".[fast]"`),
on asyncio and h11 without it; the result says which.

mocklimit lives in its own venv, never in this project's dependencies:
    python3 -m venv /work/venvs/mocklimit && /work/venvs/mocklimit/bin/pip install mocklimit==0.6.0
(another place: --mocklimit-venv DIR or MOCKLIMIT_VENV=DIR)

usage: python benchmarks/bench_sim_vs_mocklimit.py [--rounds 5] [--seconds 10] [--clients 16]
(writes benchmarks/results/sim_vs_mocklimit.json)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_sim import BODY, Tally, drive, load_client, start_sim

ROOT = Path(__file__).parent
MOCKLIMIT_CONFIG = ROOT / "mocklimit"  # its OpenAPI spec and limits for the chat endpoint
DEFAULT_VENV = "/work/venvs/mocklimit"


def start_mocklimit(venv: Path) -> tuple[subprocess.Popen, str]:
    python = venv / "bin" / "python"
    if not python.exists() or subprocess.run([python, "-c", "import mocklimit"],
                                             capture_output=True).returncode:
        sys.exit(f"mocklimit is not installed in {venv}: install it with\n"
                 f"    python3 -m venv {venv} && {venv}/bin/pip install mocklimit==0.6.0\n"
                 "or name another venv with --mocklimit-venv DIR or MOCKLIMIT_VENV=DIR")
    port = free_port()
    proc = subprocess.Popen(
        [python, "-m", "mocklimit", "serve", "--spec", MOCKLIMIT_CONFIG / "openapi.yaml",
         "--rate-config", MOCKLIMIT_CONFIG / "limits.yaml", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(port, proc)
    return proc, f"http://127.0.0.1:{port}/v1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"mocklimit did not start listening on port {port}")
        time.sleep(0.05)


def cpu_seconds(pid: int) -> float:
    """The process's user + system CPU time so far (Linux): a cost per request that, unlike
    requests/s, the other work on this machine does not move much."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Meter:
    """One server's part of a round: its requests, and the CPU that it and this process (the
    load generator) spent on them, summed over the round's slices."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.tally = Tally()
        self.server_cpu = self.client_cpu = 0.0

    async def slice(self, client, url: str, seconds: float, clients: int) -> None:
        server_before, client_before = cpu_seconds(self.pid), time.process_time()
        await drive(client, url, seconds, clients, self.tally)
        self.server_cpu += cpu_seconds(self.pid) - server_before
        self.client_cpu += time.process_time() - client_before

    def result(self) -> dict:
        summary = self.tally.summary()
        return {**summary,
                "server_cpu_us_per_request": round(self.server_cpu / summary["requests"] * 1e6),
                "client_cpu_us_per_request": round(self.client_cpu / summary["requests"] * 1e6)}


async def alternate(servers: dict[str, tuple[subprocess.Popen, str]],
                    args: argparse.Namespace) -> dict[str, list[dict]]:
    names = list(servers)
    runs: dict[str, list[dict]] = {name: [] for name in names}
    slices = max(1, round(args.seconds / args.slice))
    async with contextlib.AsyncExitStack() as stack:
        clients = {name: await stack.enter_async_context(load_client(args.clients))
                   for name in names}
        for name in names:  # warm both up: imports, first connections
            await drive(clients[name], servers[name][1], 1.0, args.clients, Tally())
        for round_number in range(args.rounds):
            meters = {name: Meter(servers[name][0].pid) for name in names}
            for index in range(slices):
                for name in names if index % 2 == 0 else names[::-1]:
                    await meters[name].slice(clients[name], servers[name][1],
                                             args.seconds / slices, args.clients)
            for name in names:
                result = meters[name].result()
                runs[name].append(result)
                print(f"round {round_number + 1} {name:9} {result['requests_per_s']:7.1f} "
                      f"requests/s (p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, "
                      f"CPU per request: server {result['server_cpu_us_per_request']} µs, "
                      f"client {result['client_cpu_us_per_request']} µs, "
                      f"statuses {result['statuses']})", flush=True)
    return runs


WRK_SCRIPT = """wrk.method = "POST"
wrk.body = [[{body}]]
wrk.headers["content-type"] = "application/json"
wrk.headers["authorization"] = "Bearer sk-bench"
"""


def wrk(proc: subprocess.Popen, url: str, seconds: int, clients: int, script: Path) -> dict:
    before = cpu_seconds(proc.pid)
    out = subprocess.run(["wrk", "-t1", f"-c{clients}", f"-d{seconds}s", "--latency", "-s",
                          script, f"{url}/chat/completions"],
                         capture_output=True, text=True, check=True).stdout
    cpu = cpu_seconds(proc.pid) - before
    requests = int(re.search(r"(\d+) requests in", out)[1])
    refused = re.search(r"Non-2xx or 3xx responses: (\d+)", out)

    def percentile_ms(name: str) -> float:
        value, unit = re.search(rf"^\s*{name}%\s+([\d.]+)(us|ms|s)$", out, re.M).groups()
        return round(float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit], 2)

    return {"requests": requests,
            "requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1]),
            "non_2xx": int(refused[1]) if refused else 0, "p50_ms": percentile_ms("50"),
            "p99_ms": percentile_ms("99"),
            "server_cpu_us_per_request": round(cpu / requests * 1e6)}


def alternate_wrk(servers: dict[str, tuple[subprocess.Popen, str]], args: argparse.Namespace,
                  tmp: Path) -> dict[str, list[dict]]:
    script = tmp / "chat.lua"
    script.write_text(WRK_SCRIPT.format(body=json.dumps(BODY)))
    names = list(servers)
    runs: dict[str, list[dict]] = {name: [] for name in names}
    for round_number in range(args.wrk_rounds):
        for name in names if round_number % 2 == 0 else names[::-1]:
            result = wrk(*servers[name], round(args.seconds), args.clients, script)
            runs[name].append(result)
            print(f"wrk round {round_number + 1} {name:9} {result['requests_per_s']:7.1f} "
                  f"requests/s (p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, server "
                  f"CPU {result['server_cpu_us_per_request']} µs/request, non-2xx "
                  f"{result['non_2xx']})", flush=True)
    return runs


def compare(runs: dict[str, list[dict]]) -> dict:
    ours, theirs = summary(runs["ours"]), summary(runs["mocklimit"])
    ratios = [o["requests_per_s"] / m["requests_per_s"]
              for o, m in zip(runs["ours"], runs["mocklimit"], strict=True)]
    return {"ours": ours, "mocklimit": theirs,
            "ratio_of_medians": round(ours["requests_per_s"] / theirs["requests_per_s"], 2),
            "ratio_per_round": [round(r, 2) for r in ratios], "runs": runs}


def report(driver: str, comparison: dict) -> None:
    for name in ("ours", "mocklimit"):
        figures = comparison[name]
        client = figures.get("client_cpu_us_per_request")
        print(f"{driver:6} {name:9} median {figures['requests_per_s']:.1f} requests/s, p50 "
              f"{figures['p50_ms']} ms, p99 {figures['p99_ms']} ms, CPU per request: server "
              f"{figures['server_cpu_us_per_request']} µs"
              + (f", client {client} µs" if client is not None else ""))
    print(f"{driver:6} ours / mocklimit: {comparison['ratio_of_medians']}x (per round "
          f"{', '.join(f'{r:.2f}' for r in comparison['ratio_per_round'])})")


def summary(runs: list[dict]) -> dict:
    return {key: round(statistics.median(r[key] for r in runs), 2)
            for key in ("requests_per_s", "p50_ms", "p99_ms", "server_cpu_us_per_request",
                        "client_cpu_us_per_request") if key in runs[0]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=10.0, help="of load, per server a round")
    parser.add_argument("--slice", type=float, default=2.0, help="seconds of one turn")
    parser.add_argument("--wrk-rounds", type=int, default=3, help="0: none, even with wrk")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--mocklimit-venv", type=Path,
                        default=Path(os.environ.get("MOCKLIMIT_VENV", DEFAULT_VENV)))
    args = parser.parse_args()
    # uvicorn's "auto" picks them when importable, in our simulator's interpreter, which is ours.
    stack = {"loop": "uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
             "http": "httptools" if importlib.util.find_spec("httptools") else "h11"}
    print(f"ours on {stack['loop']} and {stack['http']}", flush=True)
    servers: dict[str, tuple[subprocess.Popen, str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        try:
            servers["mocklimit"] = start_mocklimit(args.mocklimit_venv)
            servers["ours"] = start_sim("--latency-ms", "0", "--tokens-per-s", "0",
                                        log=Path(tmp) / "sim.log")
            pair = {"ours": servers["ours"], "mocklimit": servers["mocklimit"]}
            runs = asyncio.run(alternate(pair, args))
            wrk_runs = (alternate_wrk(pair, args, Path(tmp))
                        if shutil.which("wrk") and args.wrk_rounds else None)
        finally:
            for proc, _ in servers.values():
                proc.terminate()
                proc.wait()
    result = {"clients": args.clients, "seconds": args.seconds, "slice_s": args.slice,
              "rounds": args.rounds, "ours_stack": stack, "httpx2": compare(runs),
              "wrk": compare(wrk_runs) if wrk_runs else None}
    (ROOT / "results" / "sim_vs_mocklimit.json").write_text(json.dumps(result, indent=1) + "\n")
    report("httpx2", result["httpx2"])
    if wrk_runs:
        report("wrk", result["wrk"])
    else:
        print("wrk: not measured (not on PATH: apt-get install wrk)")

if __name__ == "__main__":
    main()
