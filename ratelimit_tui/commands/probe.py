"""`ratelimit-tui probe`: one minimal call, one attempt, and the rate limits it reported."""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import asdict

from ratelimit_tui.commands.report import snapshot_table
from ratelimit_tui.config import Settings, endpoint_of, history_endpoint
from ratelimit_tui.core.endpoint import CREDENTIALS_NOTE
from ratelimit_tui.core.events import CallRecord
from ratelimit_tui.core.format import count, rounded_ms

# A 429 still carries the rate-limit headers the user asked for.
REPORTED = ("ok", "rate_limited", "insufficient_quota", "too_large")


def call_json(record: CallRecord) -> dict:
    return {
        "outcome": record.outcome,  # ok, rate_limited, insufficient_quota, too_large
        "error": record.error,  # what the outcome means, in words; null when ok
        "status": record.status,
        "latency_ms": rounded_ms(record.latency_s * 1000),
        "ttfb_ms": None if record.ttfb_s is None else rounded_ms(record.ttfb_s * 1000),
        "usage": asdict(record.usage) if record.usage else None,
        "request_id": record.request_id,
    }


async def _probe(settings: Settings, base_url: str | None) -> CallRecord:
    from ratelimit_tui.core.client import QuotaClient

    endpoint = endpoint_of(settings, base_url)
    if endpoint.credentials_removed:
        print(f"ratelimit-tui probe: {CREDENTIALS_NOTE}", file=sys.stderr)
    client = QuotaClient(endpoint, settings.model, settings.probe_model)
    try:
        return await client.probe()
    finally:
        await client.aclose()


def remember(settings: Settings, record: CallRecord) -> None:
    """Keep the probe in the history the dashboard plots; a history that cannot be written is
    worth a line on stderr, not a failed probe."""
    from ratelimit_tui.core.store import HistoryStore, StoreError
    from ratelimit_tui.locations import history_db

    def complain(message: str) -> None:
        print(f"ratelimit-tui probe: {message}", file=sys.stderr)

    try:
        store = HistoryStore(history_db(), on_error=complain,
                             retention_days=settings.retention_days, batch_s=0.01)
    except StoreError as exc:
        complain(f"history not kept: {exc}")
        return
    store.add(record, history_endpoint(settings), settings.key_fingerprint())
    store.close()


def run(settings: Settings, as_json: bool) -> int:
    if settings.demo:
        from ratelimit_tui.sim.embedded import EmbeddedSimulator
        from ratelimit_tui.sim.server import demo_config

        with EmbeddedSimulator(demo_config()) as sim:
            print(f"probing the built-in simulator at {sim.base_url}", file=sys.stderr)
            record = asyncio.run(_probe(settings, sim.base_url))
    else:
        record = asyncio.run(_probe(settings, None))
    if settings.history:
        remember(settings, record)
    if record.outcome not in REPORTED or record.snapshot is None:
        print(f"ratelimit-tui probe: {record.error}", file=sys.stderr)
        return 1
    if as_json:
        print(json.dumps({**record.snapshot.to_json(), "call": call_json(record)}))
    else:
        print(snapshot_table(record.snapshot))
        ttfb = "" if record.ttfb_s is None else f", headers after {record.ttfb_s * 1000:.0f} ms"
        usage = f", {count(record.usage.total_tokens)} tokens" if record.usage else ""
        print(f"probe: {record.model} {record.status} in {record.latency_s * 1000:.0f} ms"
              f"{ttfb}{usage}" + (f", request {record.request_id}" if record.request_id else ""))
        if record.error:
            print(f"note: {record.error}")
    return 0
