"""The parser's results on 3,000 random heads, the same as before it was rewritten for speed.

tests/data/parse_golden.json holds a digest of what the parser made of each head, taken before
the rewrite that reads a head through a cached layout of its names. A rewrite for speed must
read every head as before; a change meant to read some head differently writes the file again
(`python tests/test_parse_golden.py`) and says why in its commit.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

from ratelimit_tui.core.headers import parse_rate_limit_headers

DATA = Path(__file__).parent / "data"
GOLDEN = DATA / "parse_golden.json"
HEADS = 3000
SAMPLES = json.loads((DATA / "header_samples.json").read_text())

NAMES = sorted({name for sample in SAMPLES for name in sample["headers"]} | {
    "x-ratelimit-limit-requests", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens",
    "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "x-ratelimit",
    "retry-after", "retry-after-ms", "x-ms-retry-after-ms", "x-should-retry",
    "RateLimit", "RateLimit-Policy", "ratelimit-limit", "ratelimit-remaining", "ratelimit-reset",
    "anthropic-ratelimit-tokens-limit", "anthropic-ratelimit-tokens-reset",
    "anthropic-priority-input-tokens-remaining", "anthropic-ratelimit-unified-5h-reset",
    "x-ratelimit-renewalperiod-tokens", "x-ratelimit-renewalperiod-req",
    "x-ratelimit-renewalperiod-requests", "x-ratelimit-limit-req-10-second",
    "x-ratelimit-remaining-req-minute", "x-ratelimit-limit-tokens-month",
    "x-ratelimit-reset-tokens-minute", "x-ratelimit-limit-project-tokens",
    "x-ratelimit-limit-tokens_usage_based", "x-ratelimit-limit-", "x-ratelimit-limit-9x",
    "llm_provider-x-ratelimit-reset-requests", "llm_provider-retry-after",
    "llm_provider-retry-after-ms", "llm_provider-anthropic-ratelimit-tokens-limit",
    "x-litellm-call-id", "x-ratelimit-timeremaining", "x-ratelimit-type",
    "x-ratelimit-abusepenalty-active", "x-ratelimit-tokens-query-cost",
    "ratelimitbysize-query-cost", "ratelimitbysize-limit", "ratelimitbysize-reset",
    "x-ratelimitbysize-limit-minute", "x-ratelimitbysize-remaining-month",
    "x-tokenlimit-limit", "x-tokenlimit-remaining", "x-ratelimit-requests",
    "x-ratelimit-tokens", "x-groq-region", "content-type"})
VALUES = sorted({value for sample in SAMPLES for value in sample["headers"].values()} | {
    "0", "-1", "1", "", " ", "60", "86400", "99999999", "1000000000", "0s", "6m0s",
    "172.799999ms", "24h6m34s", "1m26.4s", "0.6µs", "1.38μs", "7.44ms", "5.s", ".5s", ".s",
    "5..s", "1.2.3s", "soon", "NaN", "inf", "1e308", "1e3", "1770771778", "1785082980000",
    "2025-02-26T10:03:06Z", "Fri, 01 Jan 2126 00:00:00 GMT", "X-RATELIMIT-LIMIT-XXX",
    "true", "False", "no", '"default";r=50;t=30', '"burst";q=100;w=60,"daily";q=1000;w=86400',
    "100;w=10", "limit=100, remaining=50, reset=5", '"fixed window";"api";q=500;w=300',
    "9" * 70, " 42 ", "33011.382867097855", "\u0661\u0662ms", "\u00b2s", "\uff11\uff12"})
METRICS = ["requests", "tokens", "req", "input-tokens", "project-tokens", "x", "tokens-minute",
           "req-10-second", "tokens-month", "requests-day"]
CHARS = "0123456789.-eEsmhµμ;=\",abqrtw XZT:\u0660\u00b2\n"


def value(rng: random.Random) -> str:
    pick = rng.random()
    if pick < 0.5:
        return rng.choice(VALUES)
    if pick < 0.65:
        return str(rng.randint(-5, 10 ** rng.randint(0, 13)))
    if pick < 0.8:  # Go durations of one to three runs
        return "".join(f"{rng.choice([rng.randint(0, 99), round(rng.random() * 100, 3)])}"
                       f"{rng.choice(['h', 'm', 's', 'ms', 'us', 'µs', 'ns'])}"
                       for _ in range(rng.randint(1, 3)))
    if pick < 0.9:
        return f"{rng.random() * 10 ** rng.randint(0, 13):.{rng.randint(0, 6)}f}"
    return "".join(rng.choice(CHARS) for _ in range(rng.randint(0, 20)))


def name(rng: random.Random) -> str:
    pick, chosen = rng.random(), rng.choice(NAMES)
    if pick < 0.08:
        return chosen.upper()
    if pick < 0.12:
        return f" {chosen}\t"
    if pick < 0.15:
        return "".join(rng.choice("abcx-_ratelimit") for _ in range(rng.randint(0, 25)))
    return chosen


def many_buckets(rng: random.Random) -> list[tuple[str, str]]:
    """More buckets than a snapshot keeps, many alike: which are kept, in which order."""
    pairs = []
    for _ in range(rng.randint(20, 40)):
        metric = rng.choice(METRICS) + rng.choice(["", str(rng.randint(0, 9))])
        what = rng.choice(["limit", "remaining", "reset"])
        pairs.append((rng.choice([f"x-ratelimit-{what}-{metric}",
                                  f"anthropic-ratelimit-{metric}-{what}",
                                  f"x-ratelimit-renewalperiod-{metric}"]),
                       rng.choice(["10", "5", "0", "60", "1s", "6m0s", "-1", "abc", ""])))
    if rng.random() < 0.3:
        pairs += [("RateLimit", '"a";r=5;t=3,"b";r=5'),
                  ("RateLimit-Policy", '"a";q=10;w=60,"b";q=10')]
    return pairs


def head(rng: random.Random) -> object:
    """A head in one of the forms callers pass: pairs, a dict, an iterator; some malformed."""
    pick = rng.random()
    if pick < 0.25:  # a real capture, some of its values changed
        pairs = list(rng.choice(SAMPLES)["headers"].items())
        for _ in range(rng.randint(0, 3) if pairs else 0):
            at = rng.randrange(len(pairs))
            pairs[at] = (pairs[at][0], value(rng))
    elif pick < 0.35:
        pairs = many_buckets(rng)
    else:
        pairs = [(name(rng), value(rng)) for _ in range(rng.choice([0, 1, 2, 3, 5, 8, 12, 20]))]
    if pairs and rng.random() < 0.1:  # a repeated field
        pairs.append((pairs[0][0], value(rng)))
    form = rng.random()
    if form < 0.5:
        return tuple(pairs)
    if form < 0.7:
        return dict(pairs)
    if form < 0.8:
        return iter(pairs)
    if form < 0.9:  # what is not a pair, or not text, is skipped
        pairs.insert(rng.randint(0, len(pairs)), rng.choice(
            [(1, "x"), ("x",), ("a", None), "ab", ("x-ratelimit-limit", 5), None]))
    return pairs


def digest(rng: random.Random) -> str:
    """What the parser made of the next head: every field of the snapshot and its buckets."""
    headers, received_at = head(rng), rng.choice([1.78e9, rng.uniform(0, 4e9)])
    status = rng.choice([None, 200, 429, 503])
    try:
        snap = parse_rate_limit_headers(headers, received_at, status)
    except Exception as exc:  # a raise is a result to compare too
        text = f"raised {type(exc).__name__}"
    else:
        buckets = [[b.metric, b.scope, b.window_s, b.window_source and str(b.window_source),
                    b.limit, b.remaining, b.reset_at, b.reset_in_s,
                    b.refill and str(b.refill), b.name_window_s] for b in snap.buckets]
        text = repr((snap.received_at, snap.status, buckets, snap.retry_after_s,
                     snap.longest_retry_after_s, snap.should_retry, snap.dialect,
                     sorted(snap.extras.items())))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def digests() -> list[str]:
    rng = random.Random(13)
    return [digest(rng) for _ in range(HEADS)]


def test_every_head_reads_as_before():
    expected = json.loads(GOLDEN.read_text())
    changed = [at for at, (now, then) in enumerate(zip(digests(), expected, strict=True))
               if now != then]
    if changed:  # show the first heads that read differently
        rng, shown = random.Random(13), []
        for at in range(changed[-1] + 1):
            state = rng.getstate()
            digest(rng)
            if at in changed[:3]:
                rng_at = random.Random()
                rng_at.setstate(state)
                shown_head = head(rng_at)
                shown.append(repr(shown_head if isinstance(shown_head, tuple | list | dict)
                                  else list(shown_head))[:300])
        raise AssertionError(f"{len(changed)} of {HEADS} heads read differently, among them:\n"
                             + "\n".join(shown))


if __name__ == "__main__":
    GOLDEN.write_text(json.dumps(digests()) + "\n")
