"""The one entry point, `ratelimit-tui`. Heavy modules are imported by the command that needs
them, so `--help` and the dashboard's first frame stay fast."""

from __future__ import annotations

import argparse
import sys

from ratelimit_tui import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ratelimit-tui",
        description="See and live with LLM API rate limits.",
    )
    parser.add_argument("--version", action="version", version=f"ratelimit-tui {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    inspect = commands.add_parser(
        "inspect", help="show the rate limits in one response head (curl -i output)",
        description="Read one response head from FILE or stdin: what `curl -i` or `curl -D -` "
        "prints, bare 'Name: value' lines, or a JSON object of headers.")
    inspect.add_argument("file", nargs="?", type=argparse.FileType("rb"), metavar="FILE",
                         help="the response head (default: stdin)")
    inspect.add_argument("--json", action="store_true", help="print one JSON object")
    inspect.add_argument("--at", metavar="TIME",
                         help="when the response arrived, if it has no Date header "
                         "(epoch seconds, RFC 3339 or HTTP-date; default: now)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "inspect":
        from ratelimit_tui.commands import inspect

        try:
            at = inspect.parse_at(args.at) if args.at else None
        except ValueError as exc:
            parser.error(str(exc))
        return inspect.run(args.file or sys.stdin.buffer, args.json, at)
    parser.print_help()
    return 0
