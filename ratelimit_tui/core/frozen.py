"""Frozen dataclasses that are cheap to make, for the values a call makes on every response.

A frozen dataclass's __init__ sets each field through a Python call of object.__setattr__
(about seven bytecodes a field): the buckets, the snapshot, the quota's states, the event and
the record of every call cost a client more than half a thousand bytecodes that way. `frozen`
makes the same dataclass (same fields, equality, repr, hash, `dataclasses.replace`) with an
__init__ of the same signature that sets all the fields in one pass in C.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from itertools import repeat
from typing import Any, TypeVar

T = TypeVar("T")
_FACTORY = object()  # the default of a field made by a factory: made when it is not given


def frozen(cls: type[T]) -> type[T]:
    """`@dataclass(frozen=True, slots=True)`, with a quicker __init__."""
    cls = dataclasses.dataclass(frozen=True, slots=True)(cls)
    fields = dataclasses.fields(cls)
    if hasattr(cls, "__post_init__") or not all(f.init for f in fields):
        raise TypeError(f"{cls.__name__}: frozen() makes only plain fields")
    names = tuple(f.name for f in fields)
    params, values = [], []
    for f in fields:
        if f.default_factory is not dataclasses.MISSING:
            params.append(f"{f.name}=_FACTORY")
            values.append(f"_factories[{f.name!r}]() if {f.name} is _FACTORY else {f.name}")
        elif f.default is not dataclasses.MISSING:
            params.append(f"{f.name}=_defaults[{f.name!r}]")
            values.append(f.name)
        else:
            params.append(f.name)
            values.append(f.name)
    scope: dict[str, Any] = {
        "_consume": deque(maxlen=0).extend, "_map": map, "_repeat": repeat,
        "_set": object.__setattr__, "_names": names, "_FACTORY": _FACTORY,
        "_defaults": {f.name: f.default for f in fields},
        "_factories": {f.name: f.default_factory for f in fields}}
    exec(f"def __init__(self, {', '.join(params)}):\n"  # as dataclasses makes its own
         f"    _consume(_map(_set, _repeat(self), _names, ({', '.join(values)},)))\n", scope)
    init = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = init
    return cls
