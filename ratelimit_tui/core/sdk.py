"""The openai SDK, imported without building its type indexes: `from ratelimit_tui.core.sdk
import openai`.

Each package under `openai.types` has an `__init__.py` that only re-exports its submodules,
and importing `openai` runs them all: about 470 modules of pydantic models (0.35 s of the SDK's
0.55 s import here), of which a chat call uses about 85. A package of `openai.types` imported
through this module is created with its `__path__`, so its submodules import as usual, and runs
its own `__init__.py` the first time anyone asks it for a name it does not yet hold: what a
caller sees is the same, only later. tests/test_sdk.py checks that every such `__init__.py`
still only re-exports, as this relies on.

Where aiohttp is installed (the `[serve]` extra brings it), `import openai` also imports it, for
`DefaultAioHttpClient`, an optional transport this client never uses: 0.2 s, half of what is
left of the SDK's import. Its module is refused while openai is imported, so that the SDK takes
aiohttp for missing, as it does where aiohttp is not installed; afterwards it imports as usual.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import threading
from types import ModuleType

from ratelimit_tui.core.imports import without

TYPES = "openai.types"


class _ReexportsOnAccess(importlib.abc.Loader):
    """Runs a package's `__init__.py` at the first attribute it is asked for, not at import."""

    def __init__(self, real: importlib.abc.Loader) -> None:
        self.real = real

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None  # the default module, with __path__ set from the spec

    def exec_module(self, module: ModuleType) -> None:
        lock = threading.RLock()  # a second thread waits for the first's __init__ to finish
        running = False

        def __getattr__(name: str) -> object:
            nonlocal running
            with lock:
                if module.__dict__.get("__getattr__") is __getattr__ and not running:
                    running = True  # its own `from . import x` asks again: answered below
                    try:
                        self.real.exec_module(module)
                    finally:
                        del module.__getattr__
            try:
                return module.__dict__[name]
            except KeyError:
                raise AttributeError(
                    f"module {module.__name__!r} has no attribute {name!r}") from None

        module.__getattr__ = __getattr__


AIOHTTP_TRANSPORT = "openai._vendor.httpx_aiohttp"


class _TypesFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path, target=None):
        if name != TYPES and not name.startswith(TYPES + "."):
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.submodule_search_locations is not None:  # a package
            spec.loader = _ReexportsOnAccess(spec.loader)
        return spec


if "openai" not in sys.modules:  # imported already (by a caller of its own): as it is
    sys.meta_path.insert(0, _TypesFinder())
    with without(AIOHTTP_TRANSPORT):
        importlib.import_module("openai")

import openai  # noqa: E402

__all__ = ["openai"]
