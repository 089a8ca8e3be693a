"""Completion in the chat box: a slash command as it is typed, and after `/model ` one of
the endpoint's models (listed once, when first wanted)."""

from __future__ import annotations

from collections.abc import Callable

from textual.suggester import Suggester

from ratelimit_tui.tui.commands import HELP

# '/model ', '/clear': a command that takes an argument completes with the space before it
COMMANDS = tuple(usage.split()[0] + (" " if " " in usage else "") for usage in HELP)


class CommandSuggester(Suggester):
    def __init__(self, models: Callable[[], tuple[str, ...] | None],
                 wanted: Callable[[], None]) -> None:
        """`models`: the shown endpoint's, None until listed; `wanted`: list them."""
        super().__init__(use_cache=False, case_sensitive=True)
        self.models, self.wanted = models, wanted

    async def get_suggestion(self, value: str) -> str | None:
        if not value.startswith("/"):
            return None
        models = self.models()
        if models is None:
            self.wanted()  # on the first '/': listed by the time a name is typed
        if value.startswith("/model "):
            if models is None:
                return None
            typed = value[len("/model "):].lower()
            return next((f"/model {m}" for m in models
                         if m.lower().startswith(typed) and len(m) > len(typed)), None)
        if " " not in value:
            return next((c for c in COMMANDS if c.startswith(value.lower()) and c != value),
                        None)
        return None

    def ask_again(self, requester) -> None:
        """The models came after the text was typed: suggest for it now."""
        if requester.value:
            requester.run_worker(self._get_suggestion(requester, requester.value))
