"""The scene-file schema: every table and key a scene file may have, described in one place.

:data:`SCHEMA` describes the top level of a scene file (see :mod:`drot.scene.loader` for the format)
as nested :class:`Table` objects; :func:`validate` checks a parsed file against it before the loader
builds anything, so that a misspelt key or table, or a value of the wrong type, is an error that
names the file, the table, the key, the value given and what is allowed, e.g.::

    scene file /x/a.toml: unknown key 'resolutoin' at the top level (did you mean 'resolution'?); valid keys: ...
    scene file /x/a.toml [views]: `distance` must be a positive number, got '2' (a string)
    scene file /x/a.toml [[parameters]] #2: unknown parameter kind 'teleport' (...); choose one of model, ...

Names that other modules register are read when a file is checked, so a new registration is
accepted at once: parameter kinds (:data:`drot.scene.kinds.KINDS`), procedural meshes
(``drot.scene.loader.PROCEDURAL``), procedural values (:data:`drot.scene.values.GENERATORS`),
UV projections (:data:`drot.scene.texture.PROJECTIONS`) and metrics
(:data:`drot.metrics.HIGHER_IS_BETTER`). The ``args`` tables of procedural meshes and values are
free-form: the generator checks them. Shapes of parameter values are checked later, by the kinds.
"""
from __future__ import annotations

import dataclasses
import difflib
import math
import numbers
import os
from typing import Any, Callable, Iterable

from .. import metrics
from . import texture, values
from .kinds import KINDS

__all__ = ["SCHEMA", "validate", "check_resolution_argument", "Field", "Table", "ArrayOf"]


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


def _shown(value: Any, limit: int = 80) -> str:
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
        return self.fail(loc, f"`{key}` must be {allowed}, got {_shown(value)}")


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


class NumberArray(Field):
    allowed = "a number or a (nested) array of numbers with rows of equal length"

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
                raise ctx.fail(here, f"must be a table, got {_shown(element)}")
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


# ------------------------------------------------------------------------------------ registries
def _procedural_meshes() -> Iterable[str]:
    from .loader import PROCEDURAL  # the loader imports this module: read its table when checking
    return PROCEDURAL


def _metrics() -> Iterable[str]:
    return getattr(metrics, "HIGHER_IS_BETTER", {"vertex_mae": False, "psnr": True})


RIGS = ("square", "random")
UV_AXES = ("x", "y", "z")


# ---------------------------------------------------------------------------------------- rules
def _one_of(*keys: str) -> Rule:
    def rule(table: dict, ctx: Context, loc: Loc) -> None:
        given = [k for k in keys if k in table]
        if len(given) != 1:
            options = " or ".join(f"`{k}`" for k in keys)
            raise ctx.fail(loc, f"give either {options}" + (f", not both (got {', '.join(given)})" if given else ""))
    return rule


# Keys of [views] by camera rig (None: explicit [[views.cameras]]).
RIG_KEYS = {
    "square": ("rig", "distance", "jitter", "center", "fov", "near", "far", "seed"),
    "random": ("rig", "count", "elevation", "azimuth", "distance", "center", "fov", "near", "far", "seed"),
    None: ("cameras", "fov", "near", "far"),
}


def _views_rule(table: dict, ctx: Context, loc: Loc) -> None:
    if "rig" in table and "cameras" in table:
        raise ctx.fail(loc, "give either `rig` or [[views.cameras]], not both")
    rig = table.get("rig", "square" if "cameras" not in table else None)
    for k in table:
        if k not in RIG_KEYS[rig]:
            which = f"rig = {rig!r}" if rig is not None else "explicit [[views.cameras]]"
            raise ctx.fail(loc, f"`{k}` does not apply to {which} (its keys: {_quoted(RIG_KEYS[rig])})")


def _top_rule(cfg: dict, ctx: Context, loc: Loc) -> None:
    if ("mesh" in cfg) == ("objects" in cfg):
        raise ctx.fail(loc, "give either a [mesh] table or [[objects]] (each with its own [mesh]), "
                            + ("not both" if "mesh" in cfg else "found neither"))
    seen: dict[str, int] = {}
    for i, obj in enumerate(cfg.get("objects", [])):
        if obj["name"] in seen:
            raise ctx.fail(Loc(path=("objects",), item=f"#{i + 1}"),
                           f"object name {obj['name']!r} is already used by [[objects]] #{seen[obj['name']] + 1}; "
                           "object names must be unique")
        seen[obj["name"]] = i
    if not cfg.get("parameters") and not any(obj.get("parameters") for obj in cfg.get("objects", [])):
        raise ctx.fail(loc, "missing required key 'parameters': give at least one [[parameters]] table"
                            + (" (at the top level or in an object)" if "objects" in cfg else ""))


# --------------------------------------------------------------------------------------- schema
VALUE_TABLE = Table({
    "procedural": Choice(lambda: values.GENERATORS, "procedural value"),
    "args": FreeTable(),
}, required=("procedural",), what="a {procedural, args} table")

#: A parameter value or a fixed array: a nested array of numbers or a procedural value.
VALUE = AnyOf((NumberArray(), VALUE_TABLE),
              what="a number, a nested array of numbers or a {procedural = NAME, args = {...}} table")

UV = AnyOf((
    Choice(lambda: texture.PROJECTIONS, "UV projection"),
    Table({"projection": Choice(lambda: texture.PROJECTIONS, "UV projection"),
           "axis": Choice(lambda: UV_AXES, "UV projection axis")}, what="a {projection, axis} table"),
))

MESH = Table({
    "procedural": Choice(_procedural_meshes, "procedural mesh"),
    "file": String(),
    "args": FreeTable(),
    "normalize": Boolean(),
    "scale": POSITIVE,
    "uv": UV,
    "texture": AnyOf((String(), VALUE_TABLE, NumberArray()),
                     what="an image file name, a nested array [Ht, Wt, 3] or a {procedural, args} table"),
    "merge_seams": Boolean(),
}, rules=(_one_of("file", "procedural"),))

_REFLECTANCE = Number(low=0, high=10)
MATERIAL = Table({"ambient": _REFLECTANCE, "diffuse": _REFLECTANCE, "specular": _REFLECTANCE,
                  "shininess": POSITIVE})

_FOV = Number(low=0, high=180, low_open=True, high_open=True)
CAMERA = Table({"eye": Vector(3), "target": Vector(3), "up": Vector(3), "fov": _FOV, "near": POSITIVE,
                "far": POSITIVE}, required=("eye",))

VIEWS = Table({
    "rig": Choice(lambda: RIGS, "camera rig"),
    "distance": POSITIVE,
    "jitter": Number(low=0),
    "center": Vector(3),
    "fov": _FOV,
    "near": POSITIVE,
    "far": POSITIVE,
    "seed": Number(integer=True),
    "count": POSITIVE_INT,
    "elevation": Range(),
    "azimuth": Range(),
    "cameras": ArrayOf(CAMERA),
}, rules=(_views_rule,))

PARAMETER = Table({
    "name": String(),
    "kind": Choice(lambda: KINDS, "parameter kind"),
    "target": VALUE,
    "initial": VALUE,
    "init_range": Range(),
    "axis": Vector(3),
    "pivot": Vector(3),
}, required=("name", "kind", "target"))

BENCHMARK = Table({"metric": Choice(_metrics, "metric"), "success_threshold": NUMBER})

OPTIMIZE = Table({
    "iterations": POSITIVE_INT,
    "lr": POSITIVE,
    "lr_decay": Number(low=0, high=1, low_open=True),
    "seeds": POSITIVE_INT,
    "resolution": POSITIVE_INT,
})

OBJECT = Table({
    "name": String(),
    "mesh": MESH,
    "material": MATERIAL,
    "parameters": ArrayOf(PARAMETER),
}, required=("name", "mesh"))


def _object_label(obj: Any, i: int) -> str:
    name = obj.get("name") if isinstance(obj, dict) else None
    return f"{name!r}".replace("'", '"') if isinstance(name, str) and name else f"#{i + 1}"


#: The top level of a scene file.
SCHEMA = Table({
    "name": String(),
    "description": String(empty=True),
    "resolution": Resolution(),
    "light_position": Vector(3),
    "environment": VALUE,
    "mesh": MESH,
    "objects": ArrayOf(OBJECT, label=_object_label),
    "material": MATERIAL,
    "views": VIEWS,
    "parameters": ArrayOf(PARAMETER),
    "benchmark": BENCHMARK,
    "optimize": OPTIMIZE,
}, rules=(_top_rule,))


def check_resolution_argument(resolution: Any, path: str | os.PathLike) -> None:
    """Raise ValueError unless ``resolution`` (an argument; None: the file's) is a positive int or (H, W)."""
    if resolution is not None and not resolution_ok(resolution):
        raise ValueError(f"scene file {path}: the `resolution` argument must be a positive integer or an (H, W) "
                         f"pair of positive integers (or None for the file's `resolution`), got {resolution!r}")


def validate(cfg: dict, path: str | os.PathLike, resolution: Any = None) -> None:
    """Check a parsed scene file against :data:`SCHEMA` (and a ``resolution`` argument, if given).

    Raises:
        ValueError: the first problem found, naming the file, the table, the key, the value given
            and what is allowed (for an unknown key or table: the closest valid keys).
    """
    check_resolution_argument(resolution, path)
    if not isinstance(cfg, dict):
        raise ValueError(f"scene file {path}: expected a table of keys, got {_shown(cfg)}")
    SCHEMA.check_table(cfg, Context(str(path)), Loc())
