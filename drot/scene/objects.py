"""Objects of a scene with several: each its own mesh, material or texture, placement and parameters.

A :class:`SceneObject` holds its mesh in object space, where it sits in the world (``position``),
its Phong material and the parameters that act on it alone (their kinds apply to its vertices
and its appearance: translation, rotation, Euler angles, scale, vertex offsets, texture,
diffuse, specular). :meth:`drot.Scene.with_objects` assembles a scene from objects; its parameter
names are scoped ``"object/parameter"``, and every object is rasterized together with the others,
so occlusion between them is exact.
"""
from __future__ import annotations

import dataclasses

import torch

from ..render.shading import Material
from .kinds import KINDS, scene_wide_kinds
from .mesh import Mesh
from .parameters import Parameter

#: Separator of scoped parameter names: ``"mug/translation"``.
SCOPE = "/"


@dataclasses.dataclass(frozen=True)
class SceneObject:
    """One object of a scene.

    Attributes:
        name: unique within the scene (no ``/``); scopes its parameters' names.
        mesh: the geometry in object space (its texture, if any, is the object's).
        position: float ``[3]`` world position of the object's origin (applied after its parameters).
        material: its Phong material.
        parameters: what is optimised on it (names unique within the object).
    """

    name: str
    mesh: Mesh
    position: torch.Tensor = dataclasses.field(default_factory=lambda: torch.zeros(3))
    material: Material = Material()
    parameters: tuple[Parameter, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name or SCOPE in self.name:
            raise ValueError(f"object name must be a non-empty string without {SCOPE!r}, got {self.name!r}")
        position = torch.as_tensor(self.position, dtype=torch.float32)
        if position.shape != (3,) or not bool(torch.isfinite(position).all()):
            raise ValueError(f"object {self.name!r}: position must be 3 finite numbers, got {self.position!r}")
        object.__setattr__(self, "position", position)
        object.__setattr__(self, "parameters", tuple(self.parameters))
        names = [p.name for p in self.parameters]
        if len(set(names)) != len(names):
            raise ValueError(f"object {self.name!r}: parameter names must be unique, got {names}")
        wide = [p.name for p in self.parameters if KINDS[p.kind].scope == "scene"]
        if wide:
            raise ValueError(f"object {self.name!r}: parameter(s) {wide} act on the whole scene (kinds "
                             f"{', '.join(scene_wide_kinds())}); declare them at the scene level")

    def scoped(self, parameter: Parameter) -> Parameter:
        """``parameter`` under its scene-wide name ``"object/name"``."""
        return dataclasses.replace(parameter, name=f"{self.name}{SCOPE}{parameter.name}")

    def to(self, device) -> "SceneObject":
        return dataclasses.replace(self, mesh=self.mesh.to(device), position=self.position.to(device))
