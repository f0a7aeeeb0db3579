"""A small name -> object registry, filled by a decorator where each thing is defined.

    ARCHITECTURES = Registry("architecture")

    @ARCHITECTURES.register("wrn{d}_{k}", pattern=r"wrn(?P<depth>\\d+)_(?P<widen>\\d+)")
    def _wrn(num_classes, in_chans, *, depth, widen, **kwargs): ...

Names are exact (`register("cifar10")`) or families (`pattern=`: a regular expression that must match the
whole name; its named groups come back in `Entry.args`). Exact names win over families; families are tried
in the order they were registered. An unknown name raises `UnknownName` (a KeyError) listing the known ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Iterator, TypeVar

T = TypeVar("T")


class UnknownName(KeyError):
    """A name no registry entry matches; the message lists the known names."""

    def __init__(self, what: str, name: str, known: list[str]):
        super().__init__(name)
        self.what, self.name, self.known = what, name, known

    def __str__(self) -> str:
        return f"unknown {self.what} {self.name!r}; known: {', '.join(self.known)}"


@dataclass(frozen=True)
class Entry(Generic[T]):
    name: str                 # the registered name (a family's display name, e.g. "wrn{d}_{k}")
    obj: T
    meta: dict[str, Any] = field(default_factory=dict)
    args: dict[str, str] = field(default_factory=dict)  # a family's named groups for the looked-up name


class Registry(Generic[T]):
    """name -> object. `error` is the UnknownName subclass raised for unknown names."""

    def __init__(self, what: str, *, error: type[UnknownName] = UnknownName,
                 make: Callable[[str, Any, dict[str, Any]], T] | None = None):
        self.what = what
        self.error = error
        self._make = make  # builds the stored object from (name, decorated object, meta)
        self._entries: dict[str, Entry[T]] = {}
        self._patterns: list[tuple[re.Pattern[str], str]] = []

    def register(self, name: str, *, pattern: str | None = None, **meta: Any) -> Callable[[Any], Any]:
        """Decorator storing the decorated object under `name` (and `meta`); returns it unchanged."""
        def deco(obj: Any) -> Any:
            self.add(name, obj, pattern=pattern, **meta)
            return obj
        return deco

    def add(self, name: str, obj: Any, *, pattern: str | None = None, **meta: Any) -> None:
        if name in self._entries:
            raise ValueError(f"{self.what} {name!r} is registered twice")
        stored = self._make(name, obj, meta) if self._make else obj
        self._entries[name] = Entry(name, stored, dict(meta))
        if pattern is not None:
            self._patterns.append((re.compile(pattern), name))

    def entry(self, name: str) -> Entry[T]:
        """The entry for `name`, with a family's named groups in `args`."""
        exact = self._entries.get(name)
        if exact is not None and not any(key == name for _, key in self._patterns):
            return exact
        for regex, key in self._patterns:
            if m := regex.fullmatch(name):
                e = self._entries[key]
                return Entry(e.name, e.obj, e.meta, {k: v for k, v in m.groupdict().items() if v is not None})
        raise self.error(self.what, name, self.names())

    def get(self, name: str) -> T:
        return self.entry(name).obj

    def meta(self, name: str) -> dict[str, Any]:
        return self.entry(name).meta

    def names(self) -> list[str]:
        """Registered names in registration order (families by their display name)."""
        return list(self._entries)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        try:
            self.entry(name)
        except UnknownName:
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.what!r}: {', '.join(self.names())})"
