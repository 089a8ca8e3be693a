"""The one entry point, `ratelimit-tui`. Heavy modules are imported by the command that needs
them, so `--help` and the dashboard's first frame stay fast."""

from __future__ import annotations

import sys

from ratelimit_tui import __version__
from ratelimit_tui.sim.names import DIALECTS, FAULT_KINDS

ENDPOINT_FLAGS = ("endpoint", "provider", "base_url", "model", "demo")  # where calls go
DASHBOARD_FLAGS = ("poll", "no_stream", "theme", "metrics")  # the dashboard's alone
SERVE_PORT = 8788  # beside the simulator's 8787


def _endpoint_flags(parser) -> None:
    """Flags that say where calls go. SUPPRESS: a flag not given leaves no default behind, so
    one given before the command (`--base-url URL probe`) is not overwritten after it."""
    import argparse

    from ratelimit_tui.core.providers import PROVIDERS

    parser.add_argument("--endpoint", metavar="NAME", default=argparse.SUPPRESS,
                        action="append",
                        help="an [endpoints.NAME] of the config file, or 'default' for its top "
                        "level (repeatable; default: every named one, else the top level)")
    parser.add_argument("--provider", choices=PROVIDERS, metavar="NAME",
                        default=argparse.SUPPRESS,
                        help="a known provider: fills the base URL, the key's variable and the "
                        f"model ({', '.join(PROVIDERS)})")
    parser.add_argument("--base-url", default=argparse.SUPPRESS,
                        help="an OpenAI-compatible endpoint (default: OpenAI)")
    parser.add_argument("--model", default=argparse.SUPPRESS,
                        help="the chat model (default: gpt-4o-mini)")
    parser.add_argument("--demo", action="store_true", default=argparse.SUPPRESS,
                        help="use the built-in simulator even when a key is set")


def _dashboard_flags(parser, metrics: bool = True) -> None:
    import argparse

    parser.add_argument("--poll", metavar="SECONDS", default=argparse.SUPPRESS,
                        help="probe every SECONDS with a minimal call, or 'off' (default: off on "
                        "a real endpoint, where it costs tokens; 10 s in demo mode)")
    parser.add_argument("--no-stream", action="store_true", default=argparse.SUPPRESS,
                        help="ask for whole answers")
    parser.add_argument("--theme", default=argparse.SUPPRESS,
                        help="a Textual theme (default: the one last chosen in the "
                        "dashboard, else textual-dark)")
    if metrics:  # not for serve: every tab's dashboard would want the one port
        parser.add_argument("--metrics", metavar="HOST:PORT", type=_listen,
                            default=argparse.SUPPRESS,
                            help="also serve the quota as Prometheus metrics, as watch does")


def build_parser():
    import argparse

    from ratelimit_tui.commands.watch import WATCH_POLL_S
    from ratelimit_tui.locations import config_file
    from ratelimit_tui.metrics.listen import DEFAULT_PORT

    parser = argparse.ArgumentParser(
        prog="ratelimit-tui",
        description="See and live with LLM API rate limits. With no command, opens the "
        "dashboard: on the endpoint of OPENAI_API_KEY / OPENAI_BASE_URL, or, with neither, on "
        "a built-in simulator (demo mode).",
        epilog=f"Settings: defaults < {config_file()} < environment < flags.",
    )
    parser.add_argument("--version", action="version", version=f"ratelimit-tui {__version__}")
    _endpoint_flags(parser)
    _dashboard_flags(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    dashboard = commands.add_parser("dashboard", help="the dashboard (the default command)")
    _endpoint_flags(dashboard)
    _dashboard_flags(dashboard)

    demo = commands.add_parser(
        "demo", help="the dashboard on the built-in simulator, optionally as a guided tour",
        description="The dashboard on the built-in simulator, whatever key is set. With "
        "--tour, a scripted minute and a half plays in it (a calm start, teammates' traffic, "
        "a burst, 429s, failures, the recovery) with a caption saying what to look at: space "
        "pauses, n skips to the next step, q or Esc ends the tour.")
    _dashboard_flags(demo)
    demo.add_argument("--tour", action="store_true", help="play the guided tour (it loops)")
    demo.add_argument("--once", action="store_true",
                      help="with --tour: play it once, then stay in demo mode")

    commands.add_parser("locate", help="print where the config file and the data live")

    watch = commands.add_parser(
        "watch", help="poll every endpoint headless and serve the quota to Prometheus",
        description="Poll every endpoint of the config file (or those named with --endpoint) "
        "with a minimal call, each on its own schedule, keep each call in the history, serve "
        "the quota as Prometheus metrics and print a line per poll. Ctrl-C or SIGTERM stops "
        "it.")
    _endpoint_flags(watch)
    watch.add_argument("--poll", metavar="SECONDS", default=argparse.SUPPRESS,
                       help=f"seconds between polls of each endpoint (default: its poll "
                       f"setting, else {WATCH_POLL_S:g}; 10 in demo mode)")
    watch.add_argument("--listen", metavar="HOST:PORT", type=_listen, default=_listen(""),
                       help=f"where to serve /metrics, port 0 for any free one, or 'off' "
                       f"(default: 127.0.0.1:{DEFAULT_PORT})")
    watch.add_argument("--quiet", action="store_true", help="no line per poll")

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

    probe = commands.add_parser(
        "probe", help="make one minimal call and show the rate limits it reported",
        description="One probe (max_tokens=1), one attempt: a 429 is reported with its "
        "headers, not retried. The key comes from OPENAI_API_KEY (or the variable the config "
        "file names with api_key_env).")
    _endpoint_flags(probe)
    probe.add_argument("--json", action="store_true",
                       help="print the inspect --json object with a 'call' key")

    export = commands.add_parser(
        "export", help="write the stored calls as CSV, JSON or JSON lines",
        description="Write the stored calls to stdout: time, endpoint, model, status, "
        "latency, time to first byte, usage, and each bucket's limit / remaining / reset.")
    export.add_argument("--since", type=_span, metavar="SPAN",
                        help="only the last SPAN (90s, 15m, 1h, 7d; default: all)")
    export.add_argument("--format", choices=("csv", "json", "jsonl"), default="csv")
    history = commands.add_parser(
        "history", help="sum up the stored calls: 429s, lowest remaining, busiest minute")
    history.add_argument("--since", type=_span, default=86400.0, metavar="SPAN",
                         help="the last SPAN (default: 24h)")
    for stored in (export, history):  # SUPPRESS: one given before the command stays
        stored.add_argument("--endpoint", metavar="ENDPOINT", action="append",
                            default=argparse.SUPPRESS,
                            help="only this endpoint: its name in the config file, its URL, "
                            "host[:port] as the status line shows it, or 'demo'")

    serve = commands.add_parser(
        "serve", help="serve the dashboard to web browsers (the [serve] extra)",
        description="Serve the dashboard over HTTP: each browser tab that opens the URL gets "
        "its own dashboard, with the flags given here. Whoever opens it can make calls with "
        "the API key this server holds: keep it on loopback unless every viewer may. Ctrl-C "
        "stops it and every tab's dashboard. Needs: pip install 'ratelimit-tui[serve]'.")
    _endpoint_flags(serve)
    _dashboard_flags(serve, metrics=False)
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback)")
    serve.add_argument("--port", type=_port, default=SERVE_PORT,
                       help=f"port, 0 for any free one (default: {SERVE_PORT})")
    serve.add_argument("--public-url", metavar="URL", type=_public_url,
                       help="the address browsers use, behind a proxy (default: http://HOST:PORT)")
    serve.add_argument("--tour", action="store_true",
                       help="serve the guided demo tour instead of the dashboard")

    sim = commands.add_parser(
        "sim", help="serve the OpenAI-compatible simulator until Ctrl-C",
        description="Serve an OpenAI-compatible API (/v1/chat/completions, /v1/models) whose "
        "rate limiter behaves like OpenAI's: continuously refilling token buckets per API key, "
        "charged on arrival. It is a simulator: it accepts any bearer key and never logs one.")
    sim.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback)")
    sim.add_argument("--port", type=int, default=8787, help="port, 0 for any free one")
    sim.add_argument("--rpm", type=_positive_int, default=60, help="requests per minute")
    sim.add_argument("--tpm", type=_positive_int, default=40_000, help="tokens per minute")
    sim.add_argument("--rpd", type=_positive_int, default=None, help="requests per day")
    sim.add_argument("--latency-ms", type=float, default=50.0,
                     help="delay before the response headers")
    sim.add_argument("--tokens-per-s", type=float, default=40.0,
                     help="streaming pace (0: as fast as possible)")
    sim.add_argument("--dialect", default="openai", choices=DIALECTS,
                     help="which provider's rate-limit headers to send")
    sim.add_argument("--teammates", type=int, default=0, metavar="N",
                     help="N simulated clients sharing each key's quota")
    sim.add_argument("--fault", action="append", type=_fault, metavar="KIND:RATE",
                     help=f"inject a fault with probability RATE; KIND is one of "
                     f"{', '.join(FAULT_KINDS)} (repeatable)")
    sim.add_argument("--seed", type=int, default=0, help="seed of the fault dice and teammates")
    for command in commands.choices.values():  # its refusals show its own usage, not the top's
        command.set_defaults(command_parser=command)
    return parser


def _settings(fail, **given):
    """Settings from the config file, the environment and the flags the user gave."""
    from ratelimit_tui.config import ConfigError, load_settings

    try:
        return load_settings({k: v for k, v in given.items() if v is not None})
    except ConfigError as exc:
        fail(str(exc))


def _is_seconds(text: str) -> bool:
    try:
        return float(text) > 0
    except ValueError:
        return False


def _listen(text: str) -> tuple[str, int] | None:
    import argparse

    from ratelimit_tui.metrics.listen import DEFAULT_HOST, DEFAULT_PORT, parse_listen

    if text.lower() == "off":
        return None
    try:
        return parse_listen(text) if text else (DEFAULT_HOST, DEFAULT_PORT)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive_int(text: str) -> int:
    import argparse

    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return value


def _port(text: str) -> int:
    import argparse

    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"{text} is not a port (0 to 65535; 0: any free one)")
    return int(text)


def _public_url(text: str) -> str:
    """An address every browser tab is sent and the server prints: http(s), a host, and no
    credentials."""
    import argparse
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 (a port that is not one raises here)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(
            "give the address browsers use, as http://HOST[:PORT][/PATH] (or https://)")
    if parts.username is not None or parts.password is not None:
        raise argparse.ArgumentTypeError("no user or password in it: every browser tab is "
                                         "sent this address, and it is printed")
    return text


def _span(text: str) -> float:
    import argparse

    from ratelimit_tui.core.values import parse_span

    seconds = parse_span(text)
    if seconds is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a span like 90s, 15m, 1h or 7d")
    return seconds


def _fault(text: str) -> tuple[str, float]:
    import argparse

    from ratelimit_tui.commands.sim import parse_fault

    try:
        return parse_fault(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:  # the usual start: skip building the parser, it is on the way to the first frame
        return _dashboard({})
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    command = args.command or "dashboard"
    own = vars(args).get("command_parser", parser)
    given = [name for name in ENDPOINT_FLAGS + DASHBOARD_FLAGS if name in vars(args)]
    takes = {"dashboard": ENDPOINT_FLAGS + DASHBOARD_FLAGS, "demo": DASHBOARD_FLAGS,
             "probe": ENDPOINT_FLAGS,
             "watch": (*ENDPOINT_FLAGS, "poll"), "export": ("endpoint",),  # their own filter
             "history": ("endpoint",), "serve": (*ENDPOINT_FLAGS, "poll", "no_stream", "theme")}
    stray = [_flag(name) for name in given if name not in takes.get(command, ())]
    # One of the top level's flags after a command that lacks it: argparse alone would call
    # it unrecognized, as if it were a typing error
    ours = {_flag(name) for name in ENDPOINT_FLAGS + DASHBOARD_FLAGS}
    stray += [flag for flag in (arg.split("=", 1)[0] for arg in unknown) if flag in ours]
    if stray:
        own.error(f"{', '.join(stray)} does not apply to {command}; flags go with the "
                  f"command that uses them (ratelimit-tui probe --base-url URL)")
    if unknown:
        own.error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        return COMMANDS[command](args, own)
    except BrokenPipeError:  # `| head` closed the pipe: that is the reader's choice, not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit
        return 0


def _flag(name: str) -> str:
    """A setting's flag, as the user types it: base_url -> --base-url."""
    return "--" + name.replace("_", "-")


def _where(flags: dict) -> dict:
    """The endpoint flags given, by setting name."""
    return {name: flags.get(name) for name in ENDPOINT_FLAGS}


def _endpoints(**given) -> list:
    """Settings of the endpoints named with --endpoint, else of every named one, else of the
    top level's, each with the flags the user gave."""
    from ratelimit_tui.config import ConfigError, load_endpoints

    flags = {k: v for k, v in given.items() if v is not None}
    names = flags.pop("endpoint", None)
    try:
        endpoints = load_endpoints(names, flags)
    except ConfigError as exc:
        _fail(str(exc))
    spread = [name for name in ("provider", "base_url", "model", "demo") if name in flags]
    if spread and len(endpoints) > 1:
        _fail(f"{_flag(spread[0])} would apply to every endpoint: name one with "
              "--endpoint")
    return endpoints


def _run_dashboard(args, parser) -> int:
    return _dashboard(_dashboard_settings(vars(args)))


def _dashboard_settings(flags: dict) -> dict:
    return dict(_where(flags), poll_s=flags.get("poll"), theme=flags.get("theme"),
                stream=False if flags.get("no_stream") else None, metrics=flags.get("metrics"))


def _run_demo(args, parser) -> int:
    if args.once and not args.tour:
        parser.error("--once goes with --tour")
    tour = ("once" if args.once else "loop") if args.tour else None
    # One endpoint, the simulator, whatever the config file names. The tour's scripted calls
    # stay out of the history: its plot and its first numbers are every viewer's first run's.
    flags = {**_dashboard_settings(vars(args)), "demo": True, "endpoint": ["default"]}
    return _dashboard({**flags, "history": False} if tour else flags, tour=tour)


def _run_watch(args, parser) -> int:
    from ratelimit_tui.commands import watch

    poll = vars(args).get("poll")
    if poll is not None and not _is_seconds(poll):
        parser.error(f"--poll {poll}: watch polls; give seconds (1 or more)")
    endpoints = _endpoints(**_where(vars(args)), poll_s=poll)
    if any(s.demo for s in endpoints) and not vars(args).get("demo"):
        # Simulated numbers must never reach a team's Prometheus unasked.
        parser.error("no endpoint configured and no API key: name endpoints in the config "
                     "file, set OPENAI_API_KEY, or pass --demo to watch the built-in simulator")
    try:
        return watch.run(endpoints, args.listen, args.quiet)
    except KeyboardInterrupt:  # before the loop took over the signal
        return 0


def _run_probe(args, parser) -> int:
    from ratelimit_tui.commands import probe

    flags = vars(args)
    names = flags.get("endpoint") or []
    if len(names) > 1:
        parser.error("probe calls one endpoint: name one with --endpoint")
    settings = _settings(_fail, **{**_where(flags), "endpoint": names[0] if names else None})
    if settings.demo and not flags.get("demo"):
        parser.error("no API key: set OPENAI_API_KEY (or pass --base-url for a local "
                     "server), or pass --demo to probe the built-in simulator")
    return probe.run(settings, args.json)


def _run_inspect(args, parser) -> int:
    from ratelimit_tui.commands import inspect

    try:
        at = inspect.parse_at(args.at) if args.at else None
    except ValueError as exc:
        parser.error(str(exc))
    if args.file is None:
        return inspect.run(sys.stdin.buffer, args.json, at)
    with args.file:  # argparse opened it; nobody else will close it
        return inspect.run(args.file, args.json, at)


def _run_export(args, parser) -> int:
    from ratelimit_tui.commands import history

    return history.export(args.since, args.format, _one_endpoint(args, parser))


def _run_history(args, parser) -> int:
    from ratelimit_tui.commands import history

    return history.summary(args.since, _one_endpoint(args, parser))


def _one_endpoint(args, parser) -> str | None:
    names = vars(args).get("endpoint") or [None]
    if len(names) > 1:
        parser.error(f"{args.command} reads one endpoint's calls, or every one's: name one")
    return names[0]


def _run_serve(args, parser) -> int:
    from ratelimit_tui.commands import serve

    flags = {name: value for name, value in vars(args).items()
             if name in ENDPOINT_FLAGS + DASHBOARD_FLAGS}
    if args.tour and flags:
        parser.error("--tour serves the scripted demo: it takes no dashboard flags")
    simulated = args.tour  # no key of the user's is used: say so, not warn of it
    if not args.tour:  # a wrong flag or config file fails here, not in every browser tab
        simulated = all(s.demo for s in _endpoints(**_where(flags), poll_s=flags.get("poll"),
                                                   theme=flags.get("theme")))
    try:
        return serve.run(serve.tab_arguments(flags, args.tour), args.host, args.port,
                         args.public_url, simulated)
    except KeyboardInterrupt:
        return 0


def _run_sim(args, parser) -> int:
    from ratelimit_tui.commands import sim

    try:
        return sim.run(args)
    except KeyboardInterrupt:
        return 0


def _run_locate(args, parser) -> int:
    from ratelimit_tui.locations import config_file, data_dir

    path = config_file()
    note = "" if path.exists() else "  (not created yet: every setting is at its default)"
    print(f"config file: {path}{note}")
    print(f"data:        {data_dir()}")
    return 0


COMMANDS = {"dashboard": _run_dashboard, "probe": _run_probe, "inspect": _run_inspect,
            "export": _run_export, "history": _run_history, "sim": _run_sim,
            "locate": _run_locate, "watch": _run_watch, "demo": _run_demo, "serve": _run_serve}


def _dashboard(flags: dict, tour: str | None = None) -> int:
    import gc

    # Start-up allocates a great many long-lived objects (modules, widgets, styles) and no
    # garbage worth collecting; the app turns the collector back on once its first call is
    # out (settle).
    gc.disable()
    from ratelimit_tui.core.choices import FILE_NAME, load
    from ratelimit_tui.locations import data_dir

    path = data_dir() / FILE_NAME
    choices = load(path)
    endpoints = _endpoints(**{**flags, "theme": flags.get("theme") or choices.theme})
    if flags.get("poll_s") is None:  # a flag is this run's word; a choice, the last run's
        endpoints = [_chosen_poll(s, choices.poll_s) for s in endpoints]
    from ratelimit_tui.tui.app import make_app

    make_app(endpoints if len(endpoints) > 1 else endpoints[0], tour=tour, choices=choices,
             choices_path=path).run()
    return 0


def _chosen_poll(settings, polls: dict[str, float]):
    from dataclasses import replace

    from ratelimit_tui.config import ConfigError, history_endpoint, parse_poll

    chosen = polls.get(history_endpoint(settings))
    try:
        return settings if chosen is None else replace(
            settings, poll_s=parse_poll(chosen, "choices"))
    except ConfigError:  # not a poll any more (the file was edited): as if never chosen
        return settings


def _fail(message: str) -> None:
    print(f"ratelimit-tui: {message}", file=sys.stderr)
    raise SystemExit(2)
