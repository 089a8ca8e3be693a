"""Importing a package without one module it would load and the product never uses."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def without(name: str) -> Iterator[None]:
    """Imports made inside take module `name` for missing (ModuleNotFoundError), as where it
    is not installed; afterwards it imports as usual. If it is loaded already, it stays."""
    refused = name not in sys.modules
    if refused:
        sys.modules[name] = None  # "import halted": what `except ImportError` expects
    try:
        yield
    finally:
        if refused and sys.modules.get(name, False) is None:
            del sys.modules[name]
