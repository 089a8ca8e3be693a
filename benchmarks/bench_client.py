"""QuotaClient's overhead over a plain SDK call to the same local server (budget: 1.03).

The simulator runs in its own process with no artificial latency. Both clients talk to the
same simulator over one kept-alive connection each, with the same connection limits. Calls
alternate plain / QuotaClient so that machine noise hits both alike; each round's ratio is of
its median per-call times, and a run's ratio is the median of its rounds'.

Times on a shared machine drift with its load; `--count` also counts the Python bytecodes
each call executes (sys.settrace's opcode events, over 50 calls of each client after the
warm-up), which do not: what the client's code adds, whatever the machine is doing; with
`--functions N`, the N functions whose bytecodes the client adds most (`--runs 0`: no timing).

usage: python benchmarks/bench_client.py [--calls 1000] [--rounds 10] [--runs 3] [--count]
       [--functions N]   (writes benchmarks/results/client.json when it times)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import httpx2
import openai
from bench_sim import start_sim

from ratelimit_tui.core.client import MAX_CONNECTIONS, QuotaClient
from ratelimit_tui.core.endpoint import Endpoint
from ratelimit_tui.core.secret import Secret

ROOT = Path(__file__).parent
MESSAGES = [{"role": "user", "content": "hello"}]
WARM_UP_CALLS = 50


async def measure(base_url: str, calls: int, rounds: int, stream: bool,
                  count: bool = False) -> dict:
    http = openai.DefaultAsyncHttpxClient(  # the pool QuotaClient uses, so only the client differs
        limits=httpx2.Limits(max_connections=MAX_CONNECTIONS,
                             max_keepalive_connections=MAX_CONNECTIONS))
    plain = openai.AsyncOpenAI(base_url=base_url, api_key="sk-bench", max_retries=0,
                               http_client=http)
    # A listener, as the dashboard, watch and /metrics always have: the events a call builds
    # for them are part of its cost (the client builds none for nobody).
    quota = QuotaClient(Endpoint(base_url, Secret("sk-bench")), "gpt-4o-mini",
                        on_event=lambda event: None)

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

    async def timed(call) -> float:
        started = time.perf_counter()
        await call()
        return time.perf_counter() - started

    for _ in range(WARM_UP_CALLS):  # both connections open, both code paths warm
        await plain_call()
        await quota_call()
    if count:
        plain_functions, quota_functions = Counter(), Counter()
        result = {"plain_bytecodes": await bytecodes(plain_call, by_function=plain_functions),
                  "quota_client_bytecodes": await bytecodes(quota_call,
                                                            by_function=quota_functions)}
        quota_functions.subtract(plain_functions)  # what the client adds, where
        result["added_by_function"] = {name: round(n / 50) for name, n in
                                       quota_functions.most_common() if abs(n) >= 50}
        await plain.close()
        await quota.aclose()
        return result
    plain_ms, quota_ms, ratios = [], [], []
    for _ in range(rounds):
        times: dict[str, list[float]] = {"plain": [], "quota": []}
        for _ in range(max(1, calls // rounds)):
            times["plain"].append(await timed(plain_call))
            times["quota"].append(await timed(quota_call))
        plain_ms.append(statistics.median(times["plain"]) * 1000)
        quota_ms.append(statistics.median(times["quota"]) * 1000)
        ratios.append(quota_ms[-1] / plain_ms[-1])
    await plain.close()
    await quota.aclose()
    return {"calls_each": calls, "rounds": rounds,
            "plain_ms": round(statistics.median(plain_ms), 3),
            "quota_client_ms": round(statistics.median(quota_ms), 3),
            "ratio": round(statistics.median(ratios), 3),
            "round_ratios": [round(r, 3) for r in ratios]}


async def bytecodes(call, calls: int = 50, by_function: Counter | None = None) -> int:
    """Bytecodes one call executes, on average over `calls`; `by_function` gets them by
    function too ('module:function'), summed over the calls."""
    executed = 0

    def trace(frame, event, arg):
        nonlocal executed
        frame.f_trace_opcodes = True
        if event == "opcode":
            executed += 1
            if by_function is not None:
                code = frame.f_code
                by_function[f"{_module(code.co_filename)}:{code.co_qualname}"] += 1
        return trace

    sys.settrace(trace)
    try:
        for _ in range(calls):
            await call()
    finally:
        sys.settrace(None)
    return round(executed / calls)


def _module(filename: str) -> str:
    """'openai/_base_client.py' of '.../site-packages/openai/_base_client.py'."""
    found = re.search(r"(?:site-packages|python3\.\d+)/(.*)|(ratelimit_tui/.*)", filename)
    return next(part for part in found.groups() if part) if found else filename


def counted() -> dict:
    proc, base_url = start_sim("--latency-ms", "0", "--tokens-per-s", "0")
    try:
        return {kind: asyncio.run(measure(base_url, 0, 0, stream, count=True))
                for kind, stream in (("non_streaming", False), ("streaming", True))}
    finally:
        proc.terminate()
        proc.wait()


def one_run(calls: int, rounds: int) -> dict:
    proc, base_url = start_sim("--latency-ms", "0", "--tokens-per-s", "0")
    try:
        result = {"non_streaming": asyncio.run(measure(base_url, calls, rounds, stream=False)),
                  "streaming": asyncio.run(measure(base_url, calls, rounds, stream=True))}
    finally:
        proc.terminate()
        proc.wait()
    # The same with 50 ms before the headers, as a near API would answer.
    proc, base_url = start_sim("--latency-ms", "50", "--tokens-per-s", "0")
    try:
        result["non_streaming_50ms_latency"] = asyncio.run(
            measure(base_url, 100, 5, stream=False))
    finally:
        proc.terminate()
        proc.wait()
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=1000, help="per client, per kind")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--count", action="store_true", help="bytecodes per call too")
    parser.add_argument("--functions", type=int, default=0, metavar="N",
                        help="with --count: the N functions whose bytecodes the client adds most")
    args = parser.parse_args()
    counts = counted() if args.count else None
    for kind, count in (counts or {}).items():
        plain, quota = count["plain_bytecodes"], count["quota_client_bytecodes"]
        print(f"{kind}: plain SDK {plain:,} bytecodes per call, QuotaClient {quota:,} "
              f"(+{quota - plain:,}, {quota / plain:.3f}x)")
        for name, added in list(count["added_by_function"].items())[:args.functions]:
            print(f"  {added:+6,} {name}")
    runs = []
    for number in range(1, args.runs + 1):
        runs.append(one_run(args.calls, args.rounds))
        for kind, r in runs[-1].items():
            print(f"run {number} {kind}: plain SDK {r['plain_ms']} ms, QuotaClient "
                  f"{r['quota_client_ms']} ms per call, ratio {r['ratio']} (rounds "
                  f"{min(r['round_ratios'])}-{max(r['round_ratios'])})")
    if not runs:
        return
    spread = {kind: [min(run[kind]["ratio"] for run in runs),
                     max(run[kind]["ratio"] for run in runs)] for kind in runs[0]}
    (ROOT / "results" / "client.json").write_text(
        json.dumps({"ratio_spread": spread, "runs": runs, "bytecodes": counts}, indent=1) + "\n")
    print("ratio over the runs: " + ", ".join(f"{kind} {low}-{high}"
                                              for kind, (low, high) in spread.items()))


if __name__ == "__main__":
    main()
