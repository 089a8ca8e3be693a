"""The help screen."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown, Static

from ratelimit_tui.tui.commands import HELP

KEYS = {
    "Enter": "send the message",
    "Up / Down": "previous / next message sent (Down again: your unsent draft)",
    "Esc": "cancel the running answer or retry wait",
    "F1, or ? in an empty chat box": "this help",
    "F2": "show / hide the last response's headers",
    "F3": "history window: 5 min, 1 h, 24 h",
    "F4": "with several endpoints: the overview (1-9, or Tab and Enter, open one; Esc back)",
    "F5": "probe now (one minimal call)",
    "F6": "with several endpoints: compare their binding limits on the plot",
    "Tab": "take the completion shown after a command or a model's name",
    "Space / n / q": "during the tour (demo --tour): pause, next step, end it",
    "Ctrl+P": "command palette",
    "Ctrl+Q": "quit",
}

TEXT = f"""\
# ratelimit-tui

Every call reads the rate-limit headers of its response. Each gauge shows a limit at this
instant: **remaining / limit**, the bar (what the server said, solid; the refill since, shaded)
and a countdown to the moment the bucket is full again. A count marked **~** is projected
from the last response, which the second line names ("said 12, 41s ago"). **◆ binding** marks
the limit that runs out first. *n/a* means the endpoint did not say: unknown is never zero.

## Keys

{chr(10).join(f"- **{k}**: {v}" for k, v in KEYS.items())}

## Commands

{chr(10).join(f"- `{k}`: {v}" for k, v in HELP.items())}

Press **Esc** to close.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,f1,q", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Markdown(TEXT)


class ConfirmScreen(ModalScreen[bool]):
    """A question before something that costs: Enter (or y) does it, Esc (or n) does not."""

    BINDINGS = [Binding("enter,y", "dismiss(True)", "Yes"),
                Binding("escape,n", "dismiss(False)", "No")]

    def __init__(self, question: str, yes: str) -> None:
        super().__init__(classes="confirm")
        self.question, self.yes = question, yes

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm"):
            yield Static(self.question)
            yield Static(f"[b]Enter[/b]: {self.yes.lower()} · [b]Esc[/b]: cancel",
                         id="confirm-keys")
