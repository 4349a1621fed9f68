"""Procedural values in scene files: ``{procedural = NAME, args = {...}}`` → a tensor.

Wherever a scene file takes a large array — a parameter's ``target`` or ``initial`` (a texture
``[Ht, Wt, 3]``, an environment map ``[6, R, R, 3]``, vertex offsets ``[V, 3]``), the mesh's
fixed ``texture`` or the scene's fixed ``environment`` — it may instead name a generator::

    [[parameters]]
    name = "sky"
    kind = "environment"
    [parameters.target]
    procedural = "sky"
    args = { resolution = 16 }
    [parameters.initial]
    procedural = "constant"       # shape taken from the target: a grey map of the same size
    args = { value = 0.5 }

:data:`GENERATORS` lists the names. A generator sees a :class:`ValueContext`: the mesh (vertex
offsets are functions of its vertices) and, when an ``initial`` value is generated, the target
value (so ``constant`` can take its shape).
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable

import torch

from . import deform, environment, texture
from .kinds import KINDS
from .mesh import Mesh


@dataclasses.dataclass(frozen=True)
class ValueContext:
    """What a generator may depend on.

    Attributes:
        mesh: the scene's mesh (object space, after normalisation).
        kind: the parameter kind the value is for, or None for a fixed scene attribute.
        like: the parameter's target value when generating its ``initial`` value, else None.
    """

    mesh: Mesh
    kind: str | None = None
    like: torch.Tensor | None = None


def _constant(ctx: ValueContext, value: float | list = 0.0, shape: list[int] | None = None) -> torch.Tensor:
    """``value`` (a scalar or a trailing-dimension vector, e.g. an RGB) broadcast to ``shape``.

    ``shape`` defaults to the target's shape (for ``initial``), or ``[V, 3]`` for vertex offsets.
    """
    if shape is None:
        if ctx.like is not None:
            shape = list(ctx.like.shape)
        elif ctx.kind in KINDS and KINDS[ctx.kind].implied_shape is not None:
            shape = list(KINDS[ctx.kind].implied_shape(ctx.mesh))
        else:
            raise ValueError("constant: give `shape` (it is only implied for an `initial` value or vertex offsets)")
    v = torch.as_tensor(value, dtype=torch.float32)
    try:
        return v.expand(*shape).clone()
    except RuntimeError as exc:
        raise ValueError(f"constant: value of shape {tuple(v.shape)} does not broadcast to {list(shape)}") from exc


GENERATORS: dict[str, Callable[..., torch.Tensor]] = {
    "constant": _constant,
    "checker": lambda ctx, **a: texture.checker(**a),
    "patchwork": lambda ctx, **a: texture.patchwork(**a),
    "stripes": lambda ctx, **a: texture.stripes(**a),
    "sky": lambda ctx, **a: environment.sky(**a),
    # planar = true: the x-y part only (the [V, 2] value of planar_offsets)
    "rbf_warp": lambda ctx, planar=False, **a: deform.rbf_warp(ctx.mesh.vertices, **a)[..., :2 if planar else 3],
}


def is_spec(value: Any) -> bool:
    """True when ``value`` is a generator table rather than a literal value."""
    return isinstance(value, dict)


def generate(spec: dict[str, Any], ctx: ValueContext, where: str = "value") -> torch.Tensor:
    """The tensor a ``{procedural = NAME, args = {...}}`` table describes.

    Raises:
        ValueError: unknown generator, unknown keys, or arguments the generator rejects
            (the message names ``where``).
    """
    unknown = set(spec) - {"procedural", "args"}
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {sorted(unknown)} in a procedural value (use `procedural` and `args`)")
    name = spec.get("procedural")
    gen = GENERATORS.get(name)
    if gen is None:
        raise ValueError(f"{where}: unknown procedural value {name!r}; choose one of {', '.join(GENERATORS)}")
    args = spec.get("args", {})
    if not isinstance(args, dict):
        raise ValueError(f"{where}: `args` of procedural value {name!r} must be a table")
    try:
        return gen(ctx, **args)
    except TypeError as exc:  # an unexpected or missing keyword argument
        raise ValueError(f"{where}: bad arguments for procedural value {name!r}: {exc}") from exc
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from exc
