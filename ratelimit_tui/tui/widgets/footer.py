"""Textual's footer, rebuilt only when what it shows has changed."""

from __future__ import annotations

from textual.widgets import Footer as TextualFooter


class Footer(TextualFooter):
    """Textual's footer removes and mounts all its keys again each time its screen says that
    its bindings may have changed (about 20 ms with the dashboard's keys), and a screen says so
    five times in the dashboard's first second (the focus moving to the input, the screen
    resuming, callbacks after a refresh) with the same keys each time: this one rebuilds only
    when a key, its label, its state or the palette's key would look different. Textual is
    pinned: `compose` reads exactly what `_shows` reads."""

    _shown: tuple | None = None

    async def recompose(self) -> None:
        if not self.is_attached:
            return  # its screen went while this waited for a refresh: as Textual's does
        shows = self._shows()
        if shows != self._shown:
            self._shown = shows
            await super().recompose()

    def _shows(self) -> tuple | None:
        if not self._bindings_ready:
            return None  # nothing yet
        app = self.app
        return self.show_command_palette, app.ENABLE_COMMAND_PALETTE, tuple(
            (binding, enabled, tooltip, app.get_key_display(binding))
            for _, binding, enabled, tooltip in self.screen.active_bindings.values())
