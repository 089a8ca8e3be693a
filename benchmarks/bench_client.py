"""QuotaClient's overhead over a plain SDK call to the same local server (budget: under 1.05).

The simulator runs in its own process with no artificial latency. Calls alternate plain /
QuotaClient so that machine noise hits both alike; the ratio is of the median per-call times.

usage: python benchmarks/bench_client.py [--calls 400]   (writes benchmarks/results/client.json)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from pathlib import Path

import openai
from bench_sim import start_sim

from ratelimit_tui.core.client import QuotaClient
from ratelimit_tui.core.endpoint import Endpoint
from ratelimit_tui.core.secret import Secret

ROOT = Path(__file__).parent
MESSAGES = [{"role": "user", "content": "hello"}]


async def measure(base_url: str, calls: int, stream: bool) -> dict:
    plain = openai.AsyncOpenAI(base_url=base_url, api_key="sk-bench", max_retries=0)
    quota = QuotaClient(Endpoint(base_url, Secret("sk-bench")), "gpt-4o-mini")

    async def plain_call() -> None:
        if stream:
            response = await plain.chat.completions.create(
                model="gpt-4o-mini", messages=MESSAGES, max_tokens=16, stream=True,
                stream_options={"include_usage": True})
            async for _chunk in response:
                pass
        else:
            await plain.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES,
                                                max_tokens=16)

    async def quota_call() -> None:
        record = await quota.chat(MESSAGES, stream=stream, max_tokens=16)
        assert record.ok, record.error

    times: dict[str, list[float]] = {"plain": [], "quota": []}
    for _ in range(min(20, calls)):  # warm both connection pools
        await plain_call()
        await quota_call()
    for i in range(calls * 2):
        name, call = ("plain", plain_call) if i % 2 == 0 else ("quota", quota_call)
        started = time.perf_counter()
        await call()
        times[name].append(time.perf_counter() - started)
    await plain.close()
    await quota.aclose()
    plain_ms = statistics.median(times["plain"]) * 1000
    quota_ms = statistics.median(times["quota"]) * 1000
    return {"calls_each": calls, "plain_ms": round(plain_ms, 3),
            "quota_client_ms": round(quota_ms, 3), "ratio": round(quota_ms / plain_ms, 3)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=400)
    args = parser.parse_args()
    proc, base_url = start_sim("--latency-ms", "0", "--tokens-per-s", "0")
    try:
        result = {"non_streaming": asyncio.run(measure(base_url, args.calls, stream=False)),
                  "streaming": asyncio.run(measure(base_url, args.calls, stream=True))}
    finally:
        proc.terminate()
        proc.wait()
    # The same with 50 ms before the headers, as a near API would answer.
    proc, base_url = start_sim("--latency-ms", "50", "--tokens-per-s", "0")
    try:
        result["non_streaming_50ms_latency"] = asyncio.run(measure(base_url, 100, stream=False))
    finally:
        proc.terminate()
        proc.wait()
    (ROOT / "results" / "client.json").write_text(json.dumps(result, indent=1) + "\n")
    for kind, r in result.items():
        print(f"{kind}: plain SDK {r['plain_ms']} ms, QuotaClient {r['quota_client_ms']} ms "
              f"per call, ratio {r['ratio']}")


if __name__ == "__main__":
    main()
