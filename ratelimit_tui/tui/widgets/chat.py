"""The chat: a transcript of streamed Markdown answers and an input with history."""

from __future__ import annotations

import re

from rich.text import Text
from textual import events
from textual.actions import SkipAction
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Input, Static

from ratelimit_tui.core.events import CallRecord, Outcome
from ratelimit_tui.core.format import compact_duration, count


class ChatInput(Input):
    """One line, with the history of what was sent on up / down, Tab to complete, and ? in
    an empty box for help."""

    BINDINGS = [Binding("up", "history(-1)", "Previous", show=False),
                Binding("down", "history(1)", "Next", show=False),
                Binding("tab", "complete", "Complete", show=False)]

    def __init__(self) -> None:
        super().__init__(placeholder="Ask the model; / for commands, ? for help",
                         id="chat-input")
        self.cursor_blink = False  # a blinking cursor alone would cost ~1% of a core when idle
        self.sent: list[str] = []
        self.reserved: frozenset[str] = frozenset()  # keys the app takes for now (the tour's)
        self._position = 0  # len(sent): the draft being typed
        self._draft = ""

    def remember(self, text: str) -> None:
        if text and (not self.sent or self.sent[-1] != text):
            self.sent.append(text)
        self._position = len(self.sent)
        self._draft = ""

    def check_consume_key(self, key: str, character: str | None) -> bool:
        return key not in self.reserved and super().check_consume_key(key, character)

    async def _on_key(self, event: events.Key) -> None:
        if event.character == "?" and not self.value:  # a question starts with words
            event.stop()
            event.prevent_default()
            self.app.action_help()
            return
        await super()._on_key(event)

    def action_complete(self) -> None:
        """Take the suggestion shown after the text; without one, Tab moves the focus
        (unless a command is being typed: then it waits for one)."""
        if len(self._suggestion) <= len(self.value):
            if self.value.startswith("/"):
                return
            raise SkipAction()
        self.value = self._suggestion
        self.cursor_position = len(self.value)

    def action_history(self, step: int) -> None:
        position = max(0, min(len(self.sent), self._position + step))
        if position == self._position:
            return
        if self._position == len(self.sent):
            self._draft = self.value  # leaving the unsent text: Down brings it back
        self._position = position
        self.value = self.sent[position] if position < len(self.sent) else self._draft
        self.cursor_position = len(self.value)


class Answer(Vertical):
    """One answer: Markdown streamed as it comes, fully rendered at the end, then a line of
    tokens and latency."""

    def __init__(self) -> None:
        super().__init__(classes="answer")
        from textual.widgets import Markdown  # ~30 ms of imports: not before the first frame

        self.markdown = Markdown()
        self.meta = Static("…", classes="meta")
        self._stream = None
        self._parts: list[str] = []  # what arrived, whatever the stream has drawn yet

    def compose(self):
        yield self.markdown
        yield self.meta

    async def write(self, delta: str) -> None:
        """Append a streamed fragment (batched by Textual's MarkdownStream when it lags)."""
        self._parts.append(delta)
        if self._stream is None:
            self._stream = self.markdown.get_stream(self.markdown)
        await self._stream.write(delta)

    async def finish(self, record: CallRecord) -> None:
        await self._end(record.text, record.ok, answer_meta(record))

    async def cancelled(self, elapsed_s: float) -> None:
        """Esc: what arrived stays; the call's own record has no more to say."""
        meta = Text(f"{compact_duration(elapsed_s)}  ", style="dim")
        meta.append("cancelled", style="bold")
        await self._end("".join(self._parts), False, meta)

    async def _end(self, text: str, ok: bool, meta: Text) -> None:
        if not self.is_attached:  # /clear took it off the screen
            return
        if self._stream is not None:
            await self._stream.stop()  # flush what is queued first, or it would land twice
        if text:  # one full render: streamed parts can differ
            await self.markdown.update(text if ok else closed_markdown(text))
        self.meta.update(meta)
        self.set_class(not ok, "failed")
        if self.parent is not None:  # show the whole answer once it has its final height
            self.parent.call_after_refresh(self.parent.scroll_end, animate=False)


_FENCE = re.compile(r"^\s*(```|~~~)", re.MULTILINE)
_CODE_SPAN = re.compile(r"`[^`]*`")
_LITERAL_STAR = re.compile(r"^\s*\*\s|(?<=\s)\*(?=\s)", re.MULTILINE)  # a bullet, 2 * 3
_DANGLING = re.compile(r"(?:(?<=\s)|^)[*`]+$")


def closed_markdown(text: str) -> str:
    """A cut answer as Markdown that renders: the code fence, code span or emphasis the cut
    left open is closed, so no stray `*` or backtick shows. Only the last paragraph can be
    open (emphasis does not cross a blank line)."""
    text = _DANGLING.sub("", text.rstrip()).rstrip()  # markers the cut left with nothing after
    fences = _FENCE.findall(text)
    if len(fences) % 2:
        return f"{text}\n{fences[-1]}"
    last = re.split(r"\n\s*\n", text)[-1]
    if last.count("`") % 2:
        return text + "`"
    prose = _LITERAL_STAR.sub("", _CODE_SPAN.sub("", last))
    closing = "*" if prose.replace("**", "").count("*") % 2 else ""
    if prose.count("**") % 2:
        closing += "**"
    return text + closing


def answer_meta(record: CallRecord) -> Text:
    parts = []
    if record.usage:
        u = record.usage
        parts.append(f"{count(u.total_tokens)} tokens ({count(u.prompt_tokens)} in, "
                     f"{count(u.completion_tokens)} out)")
    elif record.ok or record.text:  # an answer, whole or cut, that came without its usage
        parts.append("tokens n/a")
    parts.append(compact_duration(record.latency_s))
    if record.ttft_s is not None:
        parts.append(f"first token {compact_duration(record.ttft_s)}")
    if record.throttled:
        parts.append(f"{record.throttled}× 429")
    text = Text(" · ".join(parts), style="dim")
    if record.outcome != Outcome.OK:
        text.append(f"  {record.outcome.text}" + (f": {record.error}" if record.error else ""),
                    style="bold")
    return text


class Transcript(VerticalScroll):
    """One endpoint's questions and answers."""

    def __init__(self) -> None:
        super().__init__(classes="transcript")

    def on_mount(self) -> None:
        self.anchor()  # follow a growing answer to the end, until the user scrolls up

    def add_user(self, text: str) -> None:
        self.mount(Static(Text(f"› {text}"), classes="user"))
        self.scroll_end(animate=False)

    async def add_answer(self) -> Answer:
        answer = Answer()
        await self.mount(answer)
        self.scroll_end(animate=False)
        return answer

    def add_note(self, text: str) -> None:
        self.mount(Static(Text(text, style="dim italic"), classes="note"))
        self.scroll_end(animate=False)


class ChatPanel(Vertical):
    def __init__(self) -> None:
        super().__init__(id="chat")
        self.border_title = "Chat"
        self.transcript = Transcript()  # the shown endpoint's
        self.input = ChatInput()

    def compose(self):
        yield self.transcript
        yield self.input

    def switch(self, transcript: Transcript, title: str) -> None:
        """Show another endpoint's transcript (each keeps its own, answers still coming
        included)."""
        self.border_title = title
        if transcript is self.transcript:
            return
        self.transcript.display = False
        if transcript.parent is None:
            self.mount(transcript, before=self.input)
        transcript.display = True
        self.transcript = transcript
