"""The procedural meshes a scene file may name (``[mesh] procedural = "cat"``): name -> generator.

The kit's primitives (:mod:`drot.scene.kit`) and the built-in models (:mod:`drot.scene.assets`).
The loader builds the mesh from here and the schema checks the name against here, both at the
time they run, so an entry added to :data:`PROCEDURAL` is accepted at once.
"""
from __future__ import annotations

from typing import Callable

from . import assets, kit
from .mesh import Mesh

__all__ = ["PROCEDURAL"]

PROCEDURAL: dict[str, Callable[..., Mesh]] = {
    "cat": assets.make_cat,
    "sphere": kit.uv_sphere,
    "ellipsoid": kit.ellipsoid,
    "box": kit.box,
    "cylinder": kit.cylinder,
    "cone": kit.cone,
    "plane": kit.plane,
    "teapot": assets.make_teapot,
    "buddha": assets.make_buddha,
    "coloured_cube": assets.coloured_cube,
    "gingerbread": assets.make_gingerbread,
    "room": assets.make_room,
    "stone": assets.make_stone,
    "textured_box": assets.textured_box,
}
