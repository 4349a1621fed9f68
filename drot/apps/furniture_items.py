"""Furniture items for :mod:`drot.apps.furniture`: the procedural catalogue and user mesh files.

Each item is stored in its object space: footprint centred on the origin, standing on ``y = 0``,
its front facing +Z. :func:`table`, :func:`chair`, :func:`sofa`, :func:`bed` and :func:`shelves`
are built from the mesh kit's boxes and cylinders in distinct saturated colours;
:func:`item_from_file` turns a user's mesh file (OBJ, PLY, GLB, STL...) into an item.
"""
from __future__ import annotations

import dataclasses
import math
import os
from typing import Sequence

import numpy as np

from ..scene.kit import box, cylinder, rotation_matrix
from ..scene.mesh import Mesh, mesh_from_arrays
from ..scene.mesh_files import load_mesh
from .inputs import check_color, check_positive


# ------------------------------------------------------------------------------------- the items
@dataclasses.dataclass(frozen=True)
class FurnitureItem:
    """One piece of furniture.

    Attributes:
        name: unique name; it is also the name of the item's ``"model"`` parameter.
        mesh: object-space mesh (footprint centred on the origin, standing on ``y = 0``, front +Z).
        symmetry: order of its rotational symmetry about +Y (1: none, 2: looks the same turned by π);
            the angle error is measured modulo ``2π / symmetry``.
    """

    name: str
    mesh: Mesh
    symmetry: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"furniture item name must be a non-empty string, got {self.name!r}")
        if not isinstance(self.mesh, Mesh):
            raise TypeError(f"furniture item {self.name!r}: mesh must be a drot Mesh, got {type(self.mesh).__name__}")
        if not isinstance(self.symmetry, int) or self.symmetry < 1:
            raise ValueError(f"furniture item {self.name!r}: symmetry must be an integer >= 1, got {self.symmetry!r}")

    @property
    def radius(self) -> float:
        """Footprint radius: the largest distance of a vertex from the item's vertical axis (metres)."""
        return float(self.mesh.vertices[:, [0, 2]].norm(dim=1).max())


def _legs(width: float, depth: float, height: float, inset: float, radius: float, color) -> list[Mesh]:
    """Four cylindrical legs under a ``width`` x ``depth`` top, from the floor up to ``height``."""
    x, z = width / 2 - inset, depth / 2 - inset
    return [cylinder(radius, height, 10, (sx * x, height / 2, sz * z), color) for sx in (-1, 1) for sz in (-1, 1)]


def table(color=(0.92, 0.10, 0.08)) -> FurnitureItem:
    """A red 1.2 x 0.7 m dining table, 0.75 m high (symmetric under a half turn)."""
    top = box((1.2, 0.06, 0.7), (0.0, 0.72, 0.0), color)
    legs = _legs(1.2, 0.7, 0.69, 0.07, 0.035, (0.55, 0.05, 0.04))
    return FurnitureItem("table", Mesh.concatenate([top] + legs), symmetry=2)


def chair(color=(0.10, 0.25, 0.95)) -> FurnitureItem:
    """A blue 0.5 x 0.5 m chair, seat at 0.45 m, a backrest on its -Z side (it faces +Z)."""
    seat = box((0.5, 0.06, 0.5), (0.0, 0.45, 0.0), color)
    back = box((0.5, 0.5, 0.06), (0.0, 0.73, -0.22), (0.05, 0.12, 0.60))
    legs = _legs(0.5, 0.5, 0.42, 0.05, 0.025, (0.05, 0.12, 0.60))
    return FurnitureItem("chair", Mesh.concatenate([seat, back] + legs))


def sofa(color=(0.10, 0.72, 0.15)) -> FurnitureItem:
    """A green 1.9 x 0.85 m sofa: a base with lighter cushions, a backrest on -Z and two arms."""
    base = box((1.9, 0.25, 0.85), (0.0, 0.125, 0.0), color)
    cushions = [box((0.74, 0.14, 0.62), (sx * 0.39, 0.32, 0.08), (0.45, 0.92, 0.40)) for sx in (-1, 1)]
    back = box((1.9, 0.55, 0.2), (0.0, 0.525, -0.325), color)
    arms = [box((0.16, 0.35, 0.85), (sx * 0.87, 0.425, 0.0), (0.05, 0.45, 0.08)) for sx in (-1, 1)]
    return FurnitureItem("sofa", Mesh.concatenate([base, back] + cushions + arms))


def bed(color=(0.80, 0.12, 0.82)) -> FurnitureItem:
    """A 1.5 x 2.1 m bed along Z: a magenta blanket, a pink pillow and a dark headboard on -Z."""
    dark = (0.42, 0.05, 0.40)
    frame = box((1.5, 0.3, 2.1), (0.0, 0.15, 0.0), dark)
    blanket = box((1.44, 0.16, 1.5), (0.0, 0.38, 0.27), color)
    sheet = box((1.44, 0.12, 0.58), (0.0, 0.36, -0.74), (0.98, 0.70, 0.92))
    pillow = box((1.0, 0.1, 0.34), (0.0, 0.47, -0.78), (1.0, 0.85, 0.98))
    head = box((1.5, 0.9, 0.08), (0.0, 0.45, -1.09), dark)
    return FurnitureItem("bed", Mesh.concatenate([frame, blanket, sheet, pillow, head]))


def shelves(color=(0.98, 0.88, 0.05)) -> FurnitureItem:
    """A yellow 1.0 m wide, 0.35 m deep, 1.3 m tall open shelf unit with cyan books; its dark back panel
    (on -Z) rises above the top, so that its back shows from above too."""
    dark = (0.45, 0.38, 0.02)
    parts = [box((1.0, 1.45, 0.04), (0.0, 0.725, -0.155), dark)]                     # back panel
    parts += [box((0.04, 1.3, 0.35), (sx * 0.48, 0.65, 0.0), color) for sx in (-1, 1)]  # sides
    parts += [box((0.92, 0.04, 0.33), (0.0, y, 0.0), color) for y in (0.04, 0.45, 0.87, 1.28)]
    parts += [box((0.5, 0.3, 0.24), (sx * 0.18, y, 0.02), (0.05, 0.75, 0.80))                # books, off-centre
              for sx, y in ((-1, 0.21), (1, 0.62), (-1, 1.03))]
    return FurnitureItem("shelves", Mesh.concatenate(parts))


#: The procedural items by name.
CATALOGUE = {"table": table, "chair": chair, "sofa": sofa, "bed": bed, "shelves": shelves}
DEFAULT_ITEMS = ("bed", "sofa", "table", "chair", "shelves")

#: Palette for user items without vertex colours (saturated, unlike the room).
PALETTE = ((0.85, 0.15, 0.15), (0.15, 0.40, 0.90), (0.15, 0.65, 0.25), (0.60, 0.25, 0.80),
           (0.95, 0.60, 0.05), (0.05, 0.70, 0.75), (0.90, 0.30, 0.60))


def item_from_file(path: str | os.PathLike, name: str | None = None, footprint: float | None = 1.0,
                   color: Sequence[float] | None = None, up: str = "y", symmetry: int = 1) -> FurnitureItem:
    """A furniture item from a mesh file (anything :func:`drot.load_mesh` reads).

    The mesh is placed in item space: its footprint centred on the origin, its lowest point on the
    floor (``y = 0``); its front is taken to be +Z.

    Args:
        path: the mesh file.
        name: item (and parameter) name; default the file's stem.
        footprint: scale so that the longer side of its X–Z bounding box is this many metres;
            None keeps the file's units (metres).
        color: uniform RGB colour; default: the file's vertex colours, or a palette colour if it has none.
        up: the file's up axis, ``"y"`` or ``"z"`` (Z-up files are turned to Y-up).
        symmetry: see :class:`FurnitureItem`.

    Raises:
        FileNotFoundError, drot.MeshError: from :func:`drot.load_mesh` (naming the file: unreadable, no
            faces, NaN / inf vertices, bad or all-degenerate faces, too large).
        TypeError, ValueError: bad ``up``, ``footprint``, ``name`` or ``color`` (named), or a mesh flat in X–Z.
    """
    if up not in ("y", "z"):
        raise ValueError(f"item_from_file: up must be 'y' or 'z', got {up!r}")
    if footprint is not None:
        check_positive(footprint, "item_from_file: footprint")
    if name is not None and (not isinstance(name, str) or not name):
        raise ValueError(f"item_from_file: name must be a non-empty string, got {name!r}")
    if color is not None:
        color = check_color(color, "item_from_file: color")
    mesh = load_mesh(path)
    name = name or os.path.splitext(os.path.basename(os.fspath(path)))[0]
    v = mesh.vertices.double().numpy()
    if up == "z":
        v = v @ rotation_matrix((1, 0, 0), -math.pi / 2).T  # +Z up -> +Y up
    lo, hi = v.min(0), v.max(0)
    v = v - np.array([(lo[0] + hi[0]) / 2, lo[1], (lo[2] + hi[2]) / 2])
    if footprint is not None:
        side = max(hi[0] - lo[0], hi[2] - lo[2])
        if side <= 0:
            raise ValueError(f"mesh file {path} is flat in X-Z (no footprint to scale)")
        v = v * (footprint / side)
    if color is not None:
        colors = np.tile(np.asarray(color, dtype=np.float64), (len(v), 1))
    elif mesh.colors is not None:
        colors = mesh.colors.numpy()
    else:
        colors = np.tile(np.asarray(PALETTE[sum(map(ord, name)) % len(PALETTE)], dtype=np.float64), (len(v), 1))
    return FurnitureItem(name, mesh_from_arrays(v, mesh.faces.numpy(), colors), symmetry)
