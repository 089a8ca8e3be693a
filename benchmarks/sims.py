"""Host N simulators in one process for a benchmark: no latency, limits out of reach (or
--rpm N), one base URL per line on stdout; they serve until stdin closes.

usage: python benchmarks/sims.py N [--rpm N]
"""

from __future__ import annotations

import argparse
import sys

from ratelimit_tui.sim.embedded import EmbeddedSimulator
from ratelimit_tui.sim.limiter import Limits
from ratelimit_tui.sim.server import SimConfig


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("count", type=int)
    parser.add_argument("--rpm", type=int, default=100_000_000)
    args = parser.parse_args()
    config = SimConfig(limits=Limits(rpm=args.rpm, tpm=1_000_000_000), latency_ms=0.0,
                       tokens_per_s=0.0)
    sims = [EmbeddedSimulator(config).start() for _ in range(args.count)]
    print("\n".join(s.base_url for s in sims), flush=True)
    sys.stdin.read()  # until whoever started us closes it


if __name__ == "__main__":
    main()
