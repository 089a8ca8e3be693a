"""The chat box's slash commands."""

from __future__ import annotations

from dataclasses import dataclass

HELP = {
    "/model [NAME]": "switch the model for chat and probes; with no name, pick one of the "
                     "endpoint's (Tab completes a name as you type it)",
    "/poll SECONDS|off": "probe every SECONDS (a minimal call), or stop",
    "/burst N": "N minimal calls, 16 at a time, to watch the limits drain and the 429s",
    "/clear": "clear the transcript and the conversation",
    "/help": "keys and commands",
}
MAX_BURST = 500


@dataclass(frozen=True)
class Command:
    name: str
    arg: str


class CommandError(ValueError):
    pass


def parse_command(text: str) -> Command | None:
    """A slash command, or None for a chat message. Raises CommandError when malformed."""
    if not text.startswith("/"):
        return None
    name, _, arg = text[1:].strip().partition(" ")
    name, arg = name.lower(), arg.strip()
    if name == "poll":
        if not arg:
            raise CommandError("/poll needs seconds, or off")
    elif name == "burst":
        if not arg.isdigit() or not 1 <= int(arg) <= MAX_BURST:
            raise CommandError(f"/burst needs a number of calls from 1 to {MAX_BURST}")
    elif name not in ("clear", "help", "model"):
        raise CommandError(f"unknown command /{name}: try /help")
    return Command(name, arg)
