"""The scene-file schema: every table and key a scene file may have, described in one place.

:data:`SCHEMA` describes the top level of a scene file (see :mod:`drot.scene.loader` for the format)
as nested :class:`Table` objects; :func:`validate` checks a parsed file against it before the loader
builds anything, so that a misspelt key or table, or a value of the wrong type, is an error that
names the file, the table, the key, the value given and what is allowed, e.g.::

    scene file /x/a.toml: unknown key 'resolutoin' at the top level (did you mean 'resolution'?); valid keys: ...
    scene file /x/a.toml [views]: `distance` must be a positive number, got '2' (a string)
    scene file /x/a.toml [[parameters]] #2: `kind`: unknown parameter kind 'translaton' (did you mean
        'translation' or 'rotation'?); choose one of model, vertex_offsets, ...

Names that other modules register are read when a file is checked, so a new registration is
accepted at once: parameter kinds (:data:`drot.scene.kinds.KINDS`), procedural meshes
(:data:`drot.scene.procedural_meshes.PROCEDURAL`), procedural values (:data:`drot.scene.values.GENERATORS`),
UV projections (:data:`drot.scene.texture.PROJECTIONS`) and metrics
(:data:`drot.metrics.HIGHER_IS_BETTER`). The ``args`` tables of procedural meshes and values are
free-form: the generator checks them. Shapes of parameter values are checked later, by the kinds.
"""
from __future__ import annotations

import os
from typing import Any, Iterable

from .. import metrics
from . import texture, values
from .kinds import KINDS
from .procedural_meshes import PROCEDURAL
from .schema_fields import (NUMBER, POSITIVE, POSITIVE_INT, AnyOf, ArrayOf, Boolean, Choice, Context, FreeTable,
                            Loc, Number, NumberArray, Range, Resolution, String, Table, Vector, one_of,
                            resolution_ok, shown)

__all__ = ["SCHEMA", "validate", "check_resolution_argument"]


# ------------------------------------------------------------------------------------ registries
def _metrics() -> Iterable[str]:
    return getattr(metrics, "HIGHER_IS_BETTER", {"vertex_mae": False, "psnr": True})


RIGS = ("square", "random")
UV_AXES = ("x", "y", "z")


# ---------------------------------------------------------------------------------------- rules
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
            raise ctx.fail(loc, f"`{k}` does not apply to {which} (its keys: {', '.join(RIG_KEYS[rig])})")


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
    objects = cfg.get("objects", [])
    if objects and "material" in cfg and all("material" in obj for obj in objects):
        raise ctx.fail(Loc(path=("material",)), "the top-level [material] applies to no object: every [[objects]] "
                       "has its own [material] (the top-level one is the material of objects without one); "
                       "remove it or drop an object's own")
    if not cfg.get("parameters") and not any(obj.get("parameters") for obj in cfg.get("objects", [])):
        raise ctx.fail(loc, "missing required key 'parameters': give at least one [[parameters]] table"
                            + (" (at the top level or in an object)" if "objects" in cfg else ""))


# --------------------------------------------------------------------------------------- schema
VALUE_TABLE = Table({
    "procedural": Choice(lambda: values.GENERATORS, "procedural value"),
    "args": FreeTable(),
}, required=("procedural",), what="a {procedural, args} table")

#: A parameter value or a fixed array: a nested array of numbers or a procedural value.
_VALUE_WHAT = "a number, a nested array of numbers (rows of equal length) or a {procedural = NAME, args = {...}} table"
VALUE = AnyOf((NumberArray(_VALUE_WHAT), VALUE_TABLE), what=_VALUE_WHAT)

UV = AnyOf((
    Choice(lambda: texture.PROJECTIONS, "UV projection"),
    Table({"projection": Choice(lambda: texture.PROJECTIONS, "UV projection"),
           "axis": Choice(lambda: UV_AXES, "UV projection axis")}, what="a {projection, axis} table"),
))

_TEXTURE_WHAT = "an image file name, a nested array [Ht, Wt, 3] of numbers or a {procedural, args} table"
MESH = Table({
    "procedural": Choice(lambda: PROCEDURAL, "procedural mesh"),
    "file": String(),
    "args": FreeTable(),
    "normalize": Boolean(),
    "scale": POSITIVE,
    "uv": UV,
    "texture": AnyOf((String(), VALUE_TABLE, NumberArray(_TEXTURE_WHAT)), what=_TEXTURE_WHAT),
    "merge_seams": Boolean(),
}, rules=(one_of("file", "procedural"),))

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
    "position": Vector(3),
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
        raise ValueError(f"scene file {path}: expected a table of keys, got {shown(cfg)}")
    SCHEMA.check_table(cfg, Context(str(path)), Loc())
