"""The matcher registry: every matcher registers itself, so adding one is one new file.

A matcher module decorates its class with :func:`register_matcher`; the class declares which
settings it reads (``Matcher.options``: constructor argument → setting name). The optimiser builds
matchers with :func:`matcher_from_settings`, and the settings validation and ``drot-bench`` read
:data:`MATCHERS`, so nothing else changes when a matcher is added (import the new module in
``drot/matching/__init__.py``, or anywhere before use, for a matcher of your own).
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, TypeVar

from .base import Matcher

#: Matcher classes by name, in registration order.
MATCHERS: dict[str, type[Matcher]] = {}

M = TypeVar("M", bound=type[Matcher])


def register_matcher(name: str, *, replace: bool = False) -> Callable[[M], M]:
    """Class decorator: register a :class:`Matcher` subclass under ``name`` (also sets ``cls.name``)."""
    def add(cls: M) -> M:
        if not (isinstance(cls, type) and issubclass(cls, Matcher)):
            raise TypeError(f"register_matcher({name!r}) needs a Matcher subclass, got {cls!r}")
        if name in MATCHERS and MATCHERS[name] is not cls and not replace:
            raise ValueError(f"matcher {name!r} is already registered (pass replace=True to overwrite)")
        cls.name = name
        MATCHERS[name] = cls
        return cls
    return add


def _matcher_class(name: str) -> type[Matcher]:
    if name not in MATCHERS:
        raise ValueError(f"unknown matcher {name!r}; valid names: {', '.join(MATCHERS)}")
    return MATCHERS[name]


def make_matcher(name: str, **kwargs: Any) -> Matcher:
    """Build a registered matcher by name with the keyword arguments of its class."""
    return _matcher_class(name)(**kwargs)


def matcher_from_settings(name: str, values: Mapping[str, Any]) -> Matcher:
    """Build matcher ``name`` from a mapping of setting values: each of the class's ``options``
    (constructor argument → setting name) is read from ``values``, the others are not."""
    cls = _matcher_class(name)
    missing = sorted(set(cls.options.values()) - set(values))
    if missing:
        raise ValueError(f"matcher {name!r} needs the setting(s) {missing}")
    return cls(**{arg: values[key] for arg, key in cls.options.items()})
