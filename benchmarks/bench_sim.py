"""Simulator throughput and streaming timing.

1. Sustained non-streaming requests per second: the simulator in its own process
   (`ratelimit-tui sim`, no artificial latency, limits too high to refuse), 16 concurrent
   keep-alive clients for 10 s, from this process.
2. One streamed call at 40 tokens/s: time to response headers vs time to the last token.

usage: python benchmarks/bench_sim.py [--seconds 10] [--clients 16]
(writes benchmarks/results/sim.json)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx2
import openai

ROOT = Path(__file__).parent
BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}],
        "max_tokens": 16}


def start_sim(*extra: str, log: Path | None = None) -> tuple[subprocess.Popen, str]:
    """`ratelimit-tui sim` with limits out of reach; its request log goes to a pipe this
    process drains, or to the file `log` (which costs this process nothing)."""
    command = [sys.executable, "-m", "ratelimit_tui", "sim", "--port", "0", "--rpm",
               "100000000", "--tpm", "1000000000", *extra]
    if log is None:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        line = proc.stdout.readline()
        # Keep reading its log lines: a full pipe would stop the simulator mid-benchmark.
        threading.Thread(target=proc.stdout.read, daemon=True).start()
    else:
        with log.open("w") as out:
            proc = subprocess.Popen(command, stdout=out)
        line = first_line(log, proc)
    return proc, line.strip().rsplit(" ", 1)[1]


def first_line(path: Path, proc: subprocess.Popen, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while "\n" not in (text := path.read_text()):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"the simulator did not start: {text!r}")
        time.sleep(0.02)
    return text.split("\n", 1)[0]


def load_client(clients: int) -> httpx2.AsyncClient:
    limits = httpx2.Limits(max_connections=clients, max_keepalive_connections=clients)
    return httpx2.AsyncClient(limits=limits, timeout=30)


class Tally:
    """What a load's requests took and got back, over one stretch of time or several."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}
        self.seconds = 0.0

    def summary(self) -> dict:
        latencies = sorted(self.latencies)
        return {"requests": len(latencies), "seconds": round(self.seconds, 2),
                "requests_per_s": round(len(latencies) / self.seconds, 1),
                "statuses": self.statuses,
                "p50_ms": round(latencies[len(latencies) // 2] * 1000, 2),
                "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 2)}


async def drive(client: httpx2.AsyncClient, base_url: str, seconds: float, clients: int,
                tally: Tally) -> None:
    """`clients` concurrent non-streaming chat requests on keep-alive connections, each sent
    again as soon as it is answered, for `seconds`."""
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            response = await client.post(f"{base_url}/chat/completions", json=BODY,
                                         headers={"authorization": "Bearer sk-bench"})
            tally.latencies.append(time.perf_counter() - started)
            tally.statuses[response.status_code] = tally.statuses.get(response.status_code, 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    tally.seconds += time.perf_counter() - started


async def load(base_url: str, seconds: float, clients: int) -> dict:
    tally = Tally()
    async with load_client(clients) as client:
        await drive(client, base_url, seconds, clients, tally)
    return tally.summary()


async def streamed(base_url: str, runs: int = 5) -> dict:
    client = openai.AsyncOpenAI(base_url=base_url, api_key="sk-bench", max_retries=0)
    to_headers, to_last = [], []
    for _ in range(runs):
        started = time.perf_counter()
        async with client.chat.completions.with_streaming_response.create(
                stream=True, stream_options={"include_usage": True}, **BODY) as response:
            to_headers.append(time.perf_counter() - started)
            async for _chunk in await response.parse():
                pass
            to_last.append(time.perf_counter() - started)
    return {"tokens": BODY["max_tokens"], "tokens_per_s": 40, "latency_ms": 50,
            "headers_ms": round(statistics.median(to_headers) * 1000, 1),
            "last_token_ms": round(statistics.median(to_last) * 1000, 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()
    proc, base_url = start_sim("--latency-ms", "0", "--tokens-per-s", "0")
    try:
        throughput = asyncio.run(load(base_url, args.seconds, args.clients))
    finally:
        proc.terminate()
        proc.wait()
    proc, base_url = start_sim("--latency-ms", "50", "--tokens-per-s", "40")
    try:
        stream = asyncio.run(streamed(base_url))
    finally:
        proc.terminate()
        proc.wait()
    result = {"throughput": {"clients": args.clients, **throughput}, "stream": stream}
    (ROOT / "results" / "sim.json").write_text(json.dumps(result, indent=1) + "\n")
    t = throughput
    print(f"non-streaming: {t['requests_per_s']} requests/s with {args.clients} clients "
          f"(p50 {t['p50_ms']} ms, p99 {t['p99_ms']} ms, statuses {t['statuses']})")
    print(f"streamed {stream['tokens']} tokens at 40/s: headers after {stream['headers_ms']} ms, "
          f"last token after {stream['last_token_ms']} ms")


if __name__ == "__main__":
    main()
