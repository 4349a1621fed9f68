"""Parameter kinds: how each kind of optimisable parameter acts on the scene, registered in one place.

A :class:`ParameterKind` says what shape a value must have, what it needs from the scene, whether
it acts on one object or on the whole scene (``scope``), and how it changes the scene's evaluation
(:meth:`drot.Scene.evaluate` applies the kinds of a scene's parameters in ``order``: geometry first
— model, vertex offsets, scale, rotation, translation — then cameras, then appearance). Adding a kind is one :func:`register_kind` call in this file (or
in your own module); :class:`drot.Parameter`, :class:`drot.Scene`, the scene-file loader and
the documentation read :data:`KINDS`.

This module sits below :mod:`~drot.scene.parameters` and :mod:`~drot.scene.scene` (both read the
registry), so a kind sees a parameter through :class:`ParameterFields` and the scene through
:class:`SceneContext`, not through those classes.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Protocol

import torch

from .mesh import Mesh

#: Application stages, in the order :meth:`Scene.evaluate` runs them.
STAGES = ("geometry", "camera", "appearance")
#: What a kind acts on: one object of a scene of several (or the one mesh), or the whole scene.
SCOPES = ("object", "scene")

#: A scene's geometry model ``geometry(values, vertices) -> vertices`` (see :attr:`drot.Scene.geometry`).
GeometryModel = Callable[[dict[str, torch.Tensor], torch.Tensor], torch.Tensor]


class ParameterFields(Protocol):
    """What a kind reads of a :class:`drot.Parameter`."""

    @property
    def name(self) -> str: ...

    @property
    def target(self) -> torch.Tensor: ...

    @property
    def axis(self) -> torch.Tensor | None: ...

    @property
    def pivot(self) -> torch.Tensor | None: ...


@dataclasses.dataclass(frozen=True)
class SceneContext:
    """What a kind knows of the scene it acts in: its name (for messages) and its geometry model."""

    name: str
    geometry: GeometryModel | None = None


@dataclasses.dataclass
class Evaluation:
    """The scene being evaluated, as the kinds change it (see :meth:`drot.Scene.evaluate`).

    Attributes:
        scene: the scene's name and geometry model; device, dtype: of the evaluation.
        vertices: ``[V, 3]`` vertices so far (object space until translated to world space).
        eye_shift, target_shift: ``[3]`` displacements of every view's eye and look-at point.
        diffuse, specular, texture, environment: appearance overrides (None: the scene's own).
        rest: ``[V, 3]`` the unchanged object-space vertices (centroid pivots).
        parts: for a scene of several objects, each object's own evaluation.
        starts: ``S`` when the values carry a leading start axis (``[S, *shape]`` each), else None;
            then ``vertices`` is ``[S, V, 3]`` once a geometry value has acted (``[V, 3]`` before) and
            the shifts and overrides are ``[S, ...]``.
    """

    scene: SceneContext
    device: torch.device
    dtype: torch.dtype
    vertices: torch.Tensor
    eye_shift: torch.Tensor
    target_shift: torch.Tensor
    diffuse: torch.Tensor | None = None
    specular: torch.Tensor | None = None
    texture: torch.Tensor | None = None
    environment: torch.Tensor | None = None
    rest: torch.Tensor | None = None
    parts: "list[Evaluation] | None" = None
    starts: int | None = None

    def per_vertex(self, value: torch.Tensor) -> torch.Tensor:
        """A value ``[*shape]`` (or ``[S, *shape]`` with a start axis) shaped to act on every vertex
        ``[V, 3]`` (or ``[S, V, 3]``): a start's value gets a vertex axis after the start axis."""
        return value if self.starts is None else value.unsqueeze(1)


#: ``apply(evaluation, [(parameter, value), ...])`` for all parameters of one kind, in declaration order;
#: called for every registered kind, with an empty list when the scene has no parameter of it.
Apply = Callable[[Evaluation, "list[tuple[ParameterFields, torch.Tensor]]"], None]


@dataclasses.dataclass(frozen=True)
class ParameterKind:
    """One kind of optimisable parameter.

    Attributes:
        name: the kind's name (``Parameter.kind``, ``kind = "..."`` in scene files).
        description: one line, with the value's shape.
        stage, order: when it applies (:data:`STAGES`, then ascending ``order`` within a stage).
        apply: how its values change the :class:`Evaluation`.
        shapes: the allowed target shapes, or None for any; ``check`` may refine it.
        check: optional ``check(parameter) -> message or None`` for rules beyond ``shapes``.
        check_in_scene: optional ``check(parameter, scene, mesh) -> message or None`` (``scene`` a
            :class:`SceneContext`), ``mesh`` being the one the parameter acts on (its object's, or the
            scene's).
        implied_shape: optional ``shape(mesh)`` of a value when a scene file does not give one.
        scope: ``"object"`` (default): in a scene of several objects it is declared on an object and
            acts on that object; ``"scene"``: it acts on the whole scene and is declared at the scene
            level (cameras, the environment, the geometry model).
    """

    name: str
    description: str
    stage: str
    order: int
    apply: Apply
    shapes: tuple[tuple[int, ...], ...] | None = None
    check: Callable[[ParameterFields], str | None] | None = None
    check_in_scene: Callable[[ParameterFields, SceneContext, Mesh], str | None] | None = None
    implied_shape: Callable[[Mesh], tuple[int, ...]] | None = None
    scope: str = "object"

    def validate(self, parameter: ParameterFields) -> None:
        """Raise ValueError naming the parameter when its target shape does not fit this kind."""
        shape = tuple(parameter.target.shape)
        if self.shapes is not None and shape not in self.shapes:
            allowed = " or ".join(str(s) for s in self.shapes)
            raise ValueError(f"parameter {parameter.name!r} of kind {self.name} must have shape {allowed} "
                             f"(its target, initial value and start range), got a target of shape {shape}")
        message = self.check(parameter) if self.check is not None else None
        if message:
            raise ValueError(f"parameter {parameter.name!r}: {message}")

    def validate_in_scene(self, parameter: ParameterFields, scene: SceneContext, mesh: Mesh) -> None:
        message = self.check_in_scene(parameter, scene, mesh) if self.check_in_scene is not None else None
        if message:
            raise ValueError(message)


#: Registered kinds by name.
KINDS: dict[str, ParameterKind] = {}


def register_kind(kind: ParameterKind, *, replace: bool = False) -> ParameterKind:
    """Add ``kind`` to :data:`KINDS` (``replace=True`` to overwrite a name)."""
    if kind.stage not in STAGES:
        raise ValueError(f"kind {kind.name!r}: stage must be one of {STAGES}, got {kind.stage!r}")
    if kind.scope not in SCOPES:
        raise ValueError(f"kind {kind.name!r}: scope must be one of {SCOPES}, got {kind.scope!r}")
    if kind.name in KINDS and not replace:
        raise ValueError(f"parameter kind {kind.name!r} is already registered (pass replace=True to overwrite)")
    KINDS[kind.name] = kind
    return kind


def scene_wide_kinds() -> list[str]:
    """Names of the registered kinds of scope ``"scene"``."""
    return [name for name, kind in KINDS.items() if kind.scope == "scene"]


def kinds_in_order(stages: tuple[str, ...] = STAGES) -> list[ParameterKind]:
    """The registered kinds of ``stages``, in application order."""
    return sorted((k for k in KINDS.values() if k.stage in stages), key=lambda k: (STAGES.index(k.stage), k.order))


def axis_angle_matrix(rotvec: torch.Tensor) -> torch.Tensor:
    """Rodrigues' formula: axis-angle ``[..., 3]`` → rotation matrices ``[..., 3, 3]`` (differentiable,
    safe at 0)."""
    theta2 = (rotvec * rotvec).sum(-1, keepdim=True)
    theta = torch.sqrt(theta2 + 1e-24)
    k = rotvec / theta
    zero = torch.zeros_like(k[..., 0])
    kx = torch.stack([
        torch.stack([zero, -k[..., 2], k[..., 1]], -1),
        torch.stack([k[..., 2], zero, -k[..., 0]], -1),
        torch.stack([-k[..., 1], k[..., 0], zero], -1),
    ], -2)
    eye = torch.eye(3, dtype=rotvec.dtype, device=rotvec.device)
    theta = theta[..., None]
    return eye + torch.sin(theta) * kx + (1 - torch.cos(theta)) * (kx @ kx)


# ----------------------------------------------------------------------------- geometry
def _model(ev: Evaluation, items: list) -> None:
    scene = ev.scene
    if scene.geometry is None:
        return
    values = {p.name: v for p, v in items}
    if ev.starts is None:
        ev.vertices = scene.geometry(values, ev.vertices)
    else:  # a geometry model is written for one start: call it per start
        vertices = ev.vertices.expand(ev.starts, *ev.vertices.shape[-2:])
        ev.vertices = torch.stack([scene.geometry({k: v[i] for k, v in values.items()}, vertices[i])
                                   for i in range(ev.starts)])
    count = ev.rest.shape[-2]  # the mesh's vertices (a geometry model acts on a scene of one mesh)
    if ev.vertices.shape[-2:] != (count, 3):
        raise ValueError(f"scene {scene.name!r}: the geometry model returned shape {tuple(ev.vertices.shape)}, "
                         f"expected [{count}, 3]")


def _offsets(ev: Evaluation, items: list) -> None:
    for _, off in items:
        ev.vertices = ev.vertices + off


def _planar_offsets(ev: Evaluation, items: list) -> None:
    for _, off in items:
        ev.vertices = ev.vertices + torch.cat([off, torch.zeros_like(off[..., :1])], -1)


def _scale(ev: Evaluation, items: list) -> None:
    for _, s in items:
        ev.vertices = ev.vertices * ev.per_vertex(s)


def _turn(ev: Evaluation, matrix: torch.Tensor, pivot: torch.Tensor | None) -> None:
    """Rotate the vertices by ``matrix`` ``[3, 3]`` (``[S, 3, 3]`` with a start axis) about ``pivot``."""
    if pivot is None:
        ev.vertices = ev.vertices @ matrix.transpose(-1, -2)
    else:
        pivot = pivot.to(device=ev.device, dtype=ev.vertices.dtype)
        ev.vertices = (ev.vertices - pivot) @ matrix.transpose(-1, -2) + pivot


def _rotate(ev: Evaluation, items: list) -> None:
    for p, r in items:
        rotvec = r * p.axis.to(ev.device) if p.axis is not None else r
        _turn(ev, axis_angle_matrix(rotvec), p.pivot)


def euler_matrix(angles: torch.Tensor) -> torch.Tensor:
    """Rotations ``[..., 3, 3]`` of Euler angles ``[..., 3]`` (radians) about x, then y, then z: ``Rz Ry Rx``."""
    c, s = torch.cos(angles), torch.sin(angles)
    one, zero = torch.ones_like(c[..., 0]), torch.zeros_like(c[..., 0])

    def matrix(rows):
        return torch.stack([torch.stack(row, -1) for row in rows], -2)

    cx, cy, cz, sx, sy, sz = c[..., 0], c[..., 1], c[..., 2], s[..., 0], s[..., 1], s[..., 2]
    rx = matrix([[one, zero, zero], [zero, cx, -sx], [zero, sx, cx]])
    ry = matrix([[cy, zero, sy], [zero, one, zero], [-sy, zero, cy]])
    rz = matrix([[cz, -sz, zero], [sz, cz, zero], [zero, zero, one]])
    return rz @ ry @ rx


def _euler(ev: Evaluation, items: list) -> None:
    for p, angles in items:
        _turn(ev, euler_matrix(angles), p.pivot if p.pivot is not None else ev.rest.mean(-2))


def _translate(ev: Evaluation, items: list) -> None:
    for _, t in items:
        ev.vertices = ev.vertices + ev.per_vertex(t)


def _rotation_check(p: ParameterFields) -> str | None:
    if tuple(p.target.shape) != ((1,) if p.axis is not None else (3,)):
        return "rotation is an angle [1] with `axis`, or axis-angle [3] without"
    return None


def _needs_geometry(p: ParameterFields, scene: SceneContext, mesh: Mesh) -> str | None:
    if scene.geometry is None:
        return f"scene {scene.name!r}: parameters of kind 'model' need a geometry model (Scene.geometry)"
    return None


def _per_vertex(columns: int, what: str):
    """The check that a parameter is ``[V, columns]`` for the scene's mesh (``what`` names it)."""
    def check(p: ParameterFields, scene: SceneContext, mesh: Mesh) -> str | None:
        if tuple(p.target.shape) != (mesh.num_vertices, columns):
            return f"parameter {p.name!r}: {what} must be [{mesh.num_vertices}, {columns}]"
        return None
    return check


register_kind(ParameterKind("model", "any shape: an input of the scene's geometry model (joint angles, blendshape "
                            "weights, item poses, ...)", "geometry", 0, _model, check_in_scene=_needs_geometry,
                            scope="scene"))
register_kind(ParameterKind("vertex_offsets", "per-vertex displacement [V, 3]", "geometry", 1, _offsets,
                            check_in_scene=_per_vertex(3, "vertex offsets"),
                            implied_shape=lambda mesh: (mesh.num_vertices, 3)))
# A flat shape facing a frontal camera (the paper's GINGER) has no observable depth: its vertices move in the
# x-y plane only, or the unconstrained z of 3-D offsets drifts.
register_kind(ParameterKind("planar_offsets", "per-vertex displacement in the x-y plane [V, 2] (a flat shape facing "
                            "±z)", "geometry", 1, _planar_offsets, check_in_scene=_per_vertex(2, "planar vertex offsets"),
                            implied_shape=lambda mesh: (mesh.num_vertices, 2)))
register_kind(ParameterKind("scale", "object scale, uniform [1] or per axis [3]", "geometry", 2, _scale,
                            shapes=((1,), (3,))))
register_kind(ParameterKind("rotation", "object rotation: axis-angle [3], or an angle [1] about `axis`", "geometry", 3,
                            _rotate, check=_rotation_check))
register_kind(ParameterKind("euler", "object rotation as Euler angles [3] (x, then y, then z; radians) about the "
                            "mesh's vertex centroid or `pivot`", "geometry", 3, _euler, shapes=((3,),)))
register_kind(ParameterKind("translation", "object translation [3]", "geometry", 4, _translate, shapes=((3,),)))


# ------------------------------------------------------------------------------- camera
def _shift(field: str) -> Apply:
    def apply(ev: Evaluation, items: list) -> None:
        for _, t in items:
            setattr(ev, field, getattr(ev, field) + t)
    return apply


register_kind(ParameterKind("camera_eye", "displacement of every view's eye [3]", "camera", 0, _shift("eye_shift"),
                            shapes=((3,),), scope="scene"))
register_kind(ParameterKind("camera_target", "displacement of every view's look-at point [3] (changes the view "
                            "direction)", "camera", 1, _shift("target_shift"), shapes=((3,),),
                            scope="scene"))


# --------------------------------------------------------------------------- appearance
def _override(field: str) -> Apply:
    def apply(ev: Evaluation, items: list) -> None:
        if items:
            setattr(ev, field, items[0][1])  # one parameter of the kind sets it
    return apply


def _texture_check(p: ParameterFields, scene: SceneContext, mesh: Mesh) -> str | None:
    if p.target.ndim != 3 or p.target.shape[-1] != 3 or mesh.uvs is None:
        return f"parameter {p.name!r}: a texture must be [Ht, Wt, 3] on a mesh with uvs"
    return None


def _environment_check(p: ParameterFields, scene: SceneContext, mesh: Mesh) -> str | None:
    if p.target.ndim != 4 or p.target.shape[0] != 6 or p.target.shape[-1] != 3:
        return f"parameter {p.name!r}: an environment map must be [6, R, R, 3]"
    return None


register_kind(ParameterKind("diffuse", "diffuse reflectance, scalar [1] or RGB [3]", "appearance", 0,
                            _override("diffuse"), shapes=((1,), (3,))))
register_kind(ParameterKind("specular", "specular reflectance [1]", "appearance", 1, _override("specular"),
                            shapes=((1,),)))
register_kind(ParameterKind("texture", "albedo texture [Ht, Wt, 3]", "appearance", 2, _override("texture"),
                            check_in_scene=_texture_check))
register_kind(ParameterKind("environment", "environment cube map [6, R, R, 3]", "appearance", 3,
                            _override("environment"), check_in_scene=_environment_check, scope="scene"))


def describe() -> dict[str, Any]:
    """Kind name → description, in registration order (for help texts and docs)."""
    return {name: kind.description for name, kind in KINDS.items()}
