"""Building blocks of the scene-file schema (:mod:`drot.scene.schema`): typed fields, tables and messages.

A :class:`Field` checks one key's value and raises :class:`Invalid` (a ValueError) whose message
names the scene file, the table (:class:`Loc`: ``[views]``, ``[[parameters]] #2``,
``[[objects]] "mug" [mesh]``), the key, the value given and what is allowed. A :class:`Table`
rejects unknown keys with the closest valid ones (:func:`difflib.get_close_matches`).
"""
from __future__ import annotations

import dataclasses
import difflib
import math
import numbers
from typing import Any, Callable, Iterable

# ------------------------------------------------------------------------------------- messages
def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, numbers.Integral):
        return "an integer"
    if isinstance(value, numbers.Real):
        return "a number"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return f"a {type(value).__name__}"


def shown(value: Any, limit: int = 80) -> str:
    text = repr(value)
    text = text if len(text) <= limit else text[: limit - 5] + " ...]"
    return f"{text} ({_kind_of(value)})"


def _quoted(names: Iterable[str]) -> str:
    return ", ".join(names)


def suggestions(word: Any, choices: Iterable[str]) -> list[str]:
    """The valid names closest to ``word`` (difflib), best first."""
    if not isinstance(word, str):
        return []
    return difflib.get_close_matches(word, list(choices), n=3, cutoff=0.5)


def _did_you_mean(word: Any, choices: Iterable[str]) -> str:
    close = suggestions(word, choices)
    if not close:
        return ""
    names = [repr(c) for c in close]
    return f" (did you mean {names[0] if len(names) == 1 else ', '.join(names[:-1]) + ' or ' + names[-1]}?)"


@dataclasses.dataclass(frozen=True)
class Loc:
    """Where a table sits in the file, for messages: ``[views]``, ``[[parameters]] #2``,
    ``[[objects]] "mug" [mesh]``, ``[[parameters]] #1 [target]``; the top level is ``""``."""

    prefix: str = ""
    path: tuple[str, ...] = ()
    item: str | None = None  # "#2" or '"mug"' for an element of an array of tables

    def __str__(self) -> str:
        if not self.path:
            return self.prefix
        header = ".".join(self.path)
        own = f"[{header}]" if self.item is None else f"[[{header}]] {self.item}"
        return f"{self.prefix} {own}" if self.prefix else own

    def child(self, key: str, item: str | None = None) -> "Loc":
        if self.item is None:  # a plain table: [views] -> [views.cameras]
            return Loc(self.prefix, self.path + (key,), item)
        return Loc(str(self), (key,), item)  # an array element: [[parameters]] #1 -> ... [target]


class Invalid(ValueError):
    """A scene file that does not fit the schema (a ValueError)."""


@dataclasses.dataclass
class Context:
    file: str

    def fail(self, loc: Loc, message: str) -> Invalid:
        where = str(loc)
        return Invalid(f"scene file {self.file}{' ' + where if where else ''}: {message}")

    def bad(self, loc: Loc, key: str, value: Any, allowed: str) -> Invalid:
        return self.fail(loc, f"`{key}` must be {allowed}, got {shown(value)}")


# --------------------------------------------------------------------------------------- fields
class Field:
    """A key's value: :meth:`check` raises :class:`Invalid` naming the key; ``allowed`` says what fits."""

    allowed = "a value"

    def fits_type(self, value: Any) -> bool:
        """Whether ``value`` is of this field's type at all (to choose among :class:`AnyOf` alternatives)."""
        return True

    def check(self, value: Any, ctx: Context, loc: Loc, key: str) -> None:
        raise NotImplementedError


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


@dataclasses.dataclass
class Number(Field):
    """A finite number (never a boolean), optionally an integer, within optional bounds."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    integer: bool = False
    allowed: str = ""

    def __post_init__(self) -> None:
        if not self.allowed:
            noun = "integer" if self.integer else "number"
            if self.low == 0 and self.low_open and self.high is None:
                self.allowed = f"a positive {noun}"
            elif self.low == 0 and not self.low_open and self.high is None:
                self.allowed = f"a non-negative {noun}"
            elif self.low is None and self.high is None:
                self.allowed = f"an {noun}" if self.integer else f"a {noun}"
            else:
                lo = "(" if self.low_open else "["
                hi = ")" if self.high_open else "]"
                self.allowed = (f"a {noun} in {lo}{'-inf' if self.low is None else _num(self.low)}, "
                                f"{'inf' if self.high is None else _num(self.high)}{hi}")

    def fits_type(self, value: Any) -> bool:
        return _is_number(value)

    def ok(self, value: Any) -> bool:
        if not (_is_int(value) if self.integer else _is_number(value)) or not math.isfinite(value):
            return False
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        if self.high is not None and (value >= self.high if self.high_open else value > self.high):
            return False
        return True

    def check(self, value, ctx, loc, key):
        if not self.ok(value):
            raise ctx.bad(loc, key, value, self.allowed)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


POSITIVE = Number(low=0, low_open=True)
POSITIVE_INT = Number(low=0, low_open=True, integer=True)
NUMBER = Number()


class Boolean(Field):
    allowed = "true or false"

    def fits_type(self, value):
        return isinstance(value, bool)

    def check(self, value, ctx, loc, key):
        if not isinstance(value, bool):
            raise ctx.bad(loc, key, value, self.allowed)


@dataclasses.dataclass
class String(Field):
    """A string (by default a non-empty one)."""

    empty: bool = False

    @property
    def allowed(self) -> str:  # type: ignore[override]
        return "a string" if self.empty else "a non-empty string"

    def fits_type(self, value):
        return isinstance(value, str)

    def check(self, value, ctx, loc, key):
        if not isinstance(value, str) or not (value or self.empty):
            raise ctx.bad(loc, key, value, self.allowed)


@dataclasses.dataclass
class Choice(Field):
    """One of a fixed set of names; ``names()`` is read at check time (registries may grow)."""

    names: Callable[[], Iterable[str]]
    noun: str  # "parameter kind": messages say "unknown parameter kind 'x'"

    @property
    def allowed(self) -> str:  # type: ignore[override]
        return f"a {self.noun}: one of {_quoted(self.names())}"

    def fits_type(self, value):
        return isinstance(value, str)

    def check(self, value, ctx, loc, key):
        names = list(self.names())
        if not isinstance(value, str):
            raise ctx.bad(loc, key, value, f"a {self.noun} name (one of {_quoted(names)})")
        if value not in names:
            raise ctx.fail(loc, f"`{key}`: unknown {self.noun} {value!r}{_did_you_mean(value, names)}; "
                                f"choose one of {_quoted(names)}")


@dataclasses.dataclass
class Vector(Field):
    """An array of ``n`` numbers."""

    n: int = 3

    @property
    def allowed(self) -> str:  # type: ignore[override]
        return f"an array of {self.n} numbers"

    def fits_type(self, value):
        return isinstance(value, list)

    def check(self, value, ctx, loc, key):
        if not (isinstance(value, list) and len(value) == self.n and all(NUMBER.ok(v) for v in value)):
            raise ctx.bad(loc, key, value, self.allowed)


class Range(Field):
    """``[low, high]``: two numbers with low <= high."""

    allowed = "a [low, high] pair of numbers with low <= high"

    def fits_type(self, value):
        return isinstance(value, list)

    def check(self, value, ctx, loc, key):
        if not (isinstance(value, list) and len(value) == 2 and all(NUMBER.ok(v) for v in value)
                and value[0] <= value[1]):
            raise ctx.bad(loc, key, value, self.allowed)


class Resolution(Field):
    """A positive integer (square) or an ``[H, W]`` pair of positive integers."""

    allowed = "a positive integer or an [H, W] pair of positive integers"

    def fits_type(self, value):
        return isinstance(value, (list, numbers.Integral))

    def check(self, value, ctx, loc, key):
        if not resolution_ok(value):
            raise ctx.bad(loc, key, value, self.allowed)


def resolution_ok(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return len(value) == 2 and all(POSITIVE_INT.ok(v) for v in value)
    return POSITIVE_INT.ok(value)


def _array_shape(value: Any) -> tuple[int, ...] | None:
    """The shape of a rectangular nested array of numbers, or None."""
    if _is_number(value):
        return () if math.isfinite(value) else None
    if not isinstance(value, list):
        return None
    shapes = {_array_shape(v) for v in value}
    if None in shapes or len(shapes) > 1:
        return None
    return (len(value),) + (shapes.pop() if shapes else ())


@dataclasses.dataclass
class NumberArray(Field):
    """A number or a rectangular nested array of numbers."""

    allowed: str = "a number or a nested array of numbers (rows of equal length)"

    def fits_type(self, value):
        return isinstance(value, list) or _is_number(value)

    def check(self, value, ctx, loc, key):
        if _array_shape(value) is None:
            raise ctx.bad(loc, key, value, self.allowed)


class FreeTable(Field):
    """Any table (``args`` of a generator: the generator checks its keys)."""

    allowed = "a table"

    def fits_type(self, value):
        return isinstance(value, dict)

    def check(self, value, ctx, loc, key):
        if not isinstance(value, dict):
            raise ctx.bad(loc, key, value, self.allowed)


# A table's extra rule: rule(table, ctx, loc) raises Invalid when the keys do not fit together.
Rule = Callable[[dict, Context, Loc], None]


@dataclasses.dataclass
class Table(Field):
    """A table with a fixed set of keys (unknown keys are errors); ``required`` keys must be there."""

    fields: dict[str, Field]
    required: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = ()
    what: str = "a table"

    @property
    def allowed(self) -> str:  # type: ignore[override]
        return f"{self.what} with keys {_quoted(self.fields)}"

    def fits_type(self, value):
        return isinstance(value, dict)

    def check(self, value, ctx, loc, key):
        if not isinstance(value, dict):
            raise ctx.bad(loc, key, value, self.allowed)
        self.check_table(value, ctx, loc.child(key))

    def check_table(self, table: dict, ctx: Context, loc: Loc) -> None:
        for k in table:
            if k not in self.fields:
                where = " at the top level" if not str(loc) else ""
                raise ctx.fail(loc, f"unknown key {k!r}{where}{_did_you_mean(k, self.fields)}; "
                                    f"valid keys: {_quoted(self.fields)}")
        for k in self.required:
            if k not in table:
                raise ctx.fail(loc, f"missing required key {k!r}")
        for k, v in table.items():
            self.fields[k].check(v, ctx, loc, k)
        for rule in self.rules:
            rule(table, ctx, loc)


@dataclasses.dataclass
class ArrayOf(Field):
    """An array of tables (``[[key]]``); ``label(element, index)`` names an element in messages."""

    table: Table
    label: Callable[[Any, int], str] = lambda element, i: f"#{i + 1}"

    @property
    def allowed(self) -> str:  # type: ignore[override]
        return "an array of tables"

    def fits_type(self, value):
        return isinstance(value, list)

    def check(self, value, ctx, loc, key):
        if not isinstance(value, list):
            raise ctx.bad(loc, key, value, f"an array of tables (written [[{'.'.join(loc.child(key).path)}]])")
        for i, element in enumerate(value):
            here = loc.child(key, self.label(element, i))
            if not isinstance(element, dict):
                raise ctx.fail(here, f"must be a table, got {shown(element)}")
            self.table.check_table(element, ctx, here)


@dataclasses.dataclass
class AnyOf(Field):
    """One of several fields, chosen by the value's type (a string, an array, a table)."""

    options: tuple[Field, ...]
    what: str = ""

    @property
    def allowed(self) -> str:  # type: ignore[override]
        return self.what or " or ".join(o.allowed for o in self.options)

    def fits_type(self, value):
        return any(o.fits_type(value) for o in self.options)

    def check(self, value, ctx, loc, key):
        for option in self.options:
            if option.fits_type(value):
                option.check(value, ctx, loc, key)
                return
        raise ctx.bad(loc, key, value, self.allowed)


def one_of(*keys: str) -> Rule:
    def rule(table: dict, ctx: Context, loc: Loc) -> None:
        given = [k for k in keys if k in table]
        if len(given) != 1:
            options = " or ".join(f"`{k}`" for k in keys)
            raise ctx.fail(loc, f"give either {options}" + (f", not both (got {', '.join(given)})" if given else ""))
    return rule
