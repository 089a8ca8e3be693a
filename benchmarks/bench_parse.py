"""Parse cost per response: parse_rate_limit_headers over every captured sample.

usage: python benchmarks/bench_parse.py   (writes benchmarks/results/parse.json)
"""

from __future__ import annotations

import json
import platform
import statistics
import time
from pathlib import Path

from ratelimit_tui.core.headers import parse_rate_limit_headers

ROOT = Path(__file__).parent
SAMPLES = json.loads((ROOT.parent / "tests" / "data" / "header_samples.json").read_text())


def per_call_us(headers: dict[str, str], rounds: int = 7, calls: int = 2000) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            parse_rate_limit_headers(headers, 1_780_000_000.0, 200)
        times.append((time.perf_counter() - start) / calls * 1e6)
    return statistics.median(times)


def main() -> None:
    results = {s["id"]: round(per_call_us(s["headers"]), 1) for s in SAMPLES}
    summary = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "samples": len(results),
        "median_us": round(statistics.median(results.values()), 1),
        "max_us": max(results.values()),
        "openai_full_response_us": results[SAMPLES[0]["id"]],
        "openai_headers": len(SAMPLES[0]["headers"]),
        "per_sample_us": results,
    }
    (ROOT / "results" / "parse.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(f"parse_rate_limit_headers: median {summary['median_us']} µs per response, "
          f"max {summary['max_us']} µs over {len(results)} samples")


if __name__ == "__main__":
    main()
