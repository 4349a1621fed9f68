"""The evaluated state the renderer consumes: a scene at given parameter values.

:class:`SceneState` is everything rasterization, shading and the point proxies need — world-space
geometry, appearance and per-view camera matrices. It lives below the scene model
(:mod:`drot.scene`), which produces it (``Scene.evaluate``), so the renderer never imports the
scene layer. Every tensor in it is a differentiable function of the parameter values.
"""
from __future__ import annotations

import dataclasses

import torch


@dataclasses.dataclass(frozen=True)
class ObjectAppearance:
    """Per-vertex appearance of a scene of several objects, each with its own material and colours
    or texture (``V`` vertices of all objects).

    Attributes:
        colors: float ``[V, 3]`` vertex albedo (unused where a texture applies).
        uvs: float ``[V, 2]`` texture coordinates (zero where none).
        texture_slot: float ``[V, 1]``: 0 = the vertex colour, ``k`` = ``textures[k - 1]``.
        material: float ``[V, 6]``: ambient, diffuse RGB, specular, shininess.
        textures: albedo textures ``[Ht, Wt, 3]`` (sizes may differ).
    """

    colors: torch.Tensor
    uvs: torch.Tensor
    texture_slot: torch.Tensor
    material: torch.Tensor
    textures: tuple[torch.Tensor, ...] = ()


@dataclasses.dataclass(frozen=True)
class SceneState:
    """A scene evaluated at given parameter values (``V`` vertices, ``N`` views), for one start or
    for ``S`` starts at once.

    With a start axis (``Scene.evaluate`` of stacked values, :meth:`stack`), the geometry and camera
    fields carry a leading ``S``: ``vertices``/``normals`` ``[S, V, 3]``, ``clip_matrices``
    ``[S, N, 4, 4]``, ``eyes``/``lights`` ``[S, N, 3]``; an appearance field carries it only where it
    differs per start (an optimised material, texture or environment: ``diffuse`` ``[S, 1|3]``,
    ``texture`` ``[S, Ht, Wt, 3]``, ...) and is shared otherwise. ``faces`` and ``uvs`` are always
    shared. :attr:`starts` is ``S`` (None without the axis); :meth:`start` takes one start out.

    Attributes:
        vertices: float ``[V, 3]`` world-space positions.
        normals: float ``[V, 3]`` unit vertex normals.
        faces: int64 ``[F, 3]``.
        colors: float ``[V, 3]`` albedo, or None when a texture is used.
        uvs, texture: ``[V, 2]`` and ``[Ht, Wt, 3]``, or None.
        clip_matrices: float ``[N, 4, 4]`` world → clip per view.
        eyes: float ``[N, 3]`` camera positions (the point light sits at the eye unless ``lights`` says otherwise).
        lights: float ``[N, 3]`` point-light position per view.
        ambient, diffuse, specular: tensors ``[1]`` or ``[3]``; shininess: float.
        environment: cube map ``[6, R, R, 3]`` or None.
        background: image ``[H, W, 3]`` (top row first) behind the geometry, or None for black.
        objects: per-vertex appearance when the scene has several objects (then ``colors``,
            ``uvs``, ``texture`` are None and the scalar material fields are not used).
    """

    vertices: torch.Tensor
    normals: torch.Tensor
    faces: torch.Tensor
    colors: torch.Tensor | None
    uvs: torch.Tensor | None
    texture: torch.Tensor | None
    clip_matrices: torch.Tensor
    eyes: torch.Tensor
    lights: torch.Tensor
    ambient: torch.Tensor
    diffuse: torch.Tensor
    specular: torch.Tensor
    shininess: float
    environment: torch.Tensor | None
    background: torch.Tensor | None = None
    objects: ObjectAppearance | None = None

    @property
    def starts(self) -> int | None:
        """Number of starts ``S`` of a state with a start axis, None without one."""
        return self.vertices.shape[0] if self.vertices.ndim == 3 else None

    def clip_positions(self, views: torch.Tensor | list[int], starts: torch.Tensor | None = None) -> torch.Tensor:
        """Clip-space positions ``[B, V, 4]`` of the vertices in the given views; with a start axis, entry
        ``b`` is start ``starts[b]`` (default: every entry start 0) seen from ``views[b]``."""
        if self.starts is None:
            homo = torch.cat([self.vertices, torch.ones_like(self.vertices[:, :1])], 1)
            return torch.einsum("vj,bij->bvi", homo, self.clip_matrices[views].to(homo.dtype))
        views = torch.as_tensor(views, dtype=torch.long, device=self.vertices.device).reshape(-1)
        starts = entry_starts(self, views, starts)
        homo = torch.cat([self.vertices, torch.ones_like(self.vertices[..., :1])], -1)
        if self.starts == 1:  # one mesh: the same vertices in every entry
            return torch.einsum("vj,bij->bvi", homo[0], self.clip_matrices[0, views].to(homo.dtype))
        return torch.einsum("bvj,bij->bvi", homo[starts], self.clip_matrices[starts, views].to(homo.dtype))

    def with_start_axis(self) -> "SceneState":
        """This state with a start axis (``S = 1`` if it had none)."""
        if self.starts is not None:
            return self
        return dataclasses.replace(self, vertices=self.vertices[None], normals=self.normals[None],
                                   clip_matrices=self.clip_matrices[None], eyes=self.eyes[None],
                                   lights=self.lights[None])

    def start(self, index: int) -> "SceneState":
        """Start ``index`` of a state with a start axis, without the axis."""
        if self.starts is None:
            raise ValueError("start(): this state has no start axis")
        pick = lambda value, ndim: value if value is None or value.ndim == ndim else value[index]  # noqa: E731
        objects = self.objects
        if objects is not None:
            objects = ObjectAppearance(pick(objects.colors, 2), objects.uvs, objects.texture_slot,
                                       pick(objects.material, 2), tuple(pick(t, 3) for t in objects.textures))
        return dataclasses.replace(
            self, vertices=self.vertices[index], normals=self.normals[index], clip_matrices=self.clip_matrices[index],
            eyes=self.eyes[index], lights=self.lights[index], colors=pick(self.colors, 2),
            texture=pick(self.texture, 3), ambient=pick(self.ambient, 1), diffuse=pick(self.diffuse, 1),
            specular=pick(self.specular, 1), environment=pick(self.environment, 4),
            background=pick(self.background, 3), objects=objects)

    #: The fields that place geometry on the screen (the rest is appearance).
    GEOMETRY_FIELDS = ("vertices", "normals", "clip_matrices", "eyes", "lights")

    def detached(self, part: str) -> "SceneState":
        """This state with the tensors of ``part`` (``"geometry"``: :data:`GEOMETRY_FIELDS`;
        ``"appearance"``: colours, textures, materials, environment, background) cut from autograd,
        so that a render of it differentiates the other part only."""
        if part not in ("geometry", "appearance"):
            raise ValueError(f"part must be 'geometry' or 'appearance', got {part!r}")
        cut = lambda value: value.detach() if isinstance(value, torch.Tensor) else value  # noqa: E731
        if part == "geometry":
            return dataclasses.replace(self, **{f: cut(getattr(self, f)) for f in self.GEOMETRY_FIELDS})
        objects = self.objects
        if objects is not None:
            objects = ObjectAppearance(cut(objects.colors), cut(objects.uvs), objects.texture_slot,
                                       cut(objects.material), tuple(cut(t) for t in objects.textures))
        return dataclasses.replace(self, **{f: cut(getattr(self, f)) for f in (
            "colors", "uvs", "texture", "ambient", "diffuse", "specular", "environment", "background")},
            objects=objects)

    @staticmethod
    def stack(states: "list[SceneState]") -> "SceneState":
        """One state with a start axis from states of one scene without one (appearance fields that are
        the same object, or equal and without gradient, in every state stay shared)."""
        first = states[0]

        def join(field, values):
            if values[0] is None:
                return None
            if all(_same(v, values[0]) for v in values[1:]):
                return values[0]
            return torch.stack(values)

        objects = first.objects
        if objects is not None:
            objs = [s.objects for s in states]
            objects = ObjectAppearance(join("colors", [o.colors for o in objs]), objects.uvs, objects.texture_slot,
                                       join("material", [o.material for o in objs]),
                                       tuple(join("texture", [o.textures[k] for o in objs])
                                             for k in range(len(objects.textures))))
        return dataclasses.replace(
            first, vertices=torch.stack([s.vertices for s in states]), normals=torch.stack([s.normals for s in states]),
            clip_matrices=torch.stack([s.clip_matrices for s in states]), eyes=torch.stack([s.eyes for s in states]),
            lights=torch.stack([s.lights for s in states]),
            **{f: join(f, [getattr(s, f) for s in states])
               for f in ("colors", "texture", "ambient", "diffuse", "specular", "environment", "background")},
            objects=objects)


def _same(a, b) -> bool:
    if a is b:
        return True
    # Equal values are shared only when no gradient flows through them (else each start needs its own).
    return (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and not a.requires_grad
            and not b.requires_grad and a.shape == b.shape and a.device == b.device and bool(torch.equal(a, b)))


def entry_starts(state: SceneState, views: torch.Tensor, starts: torch.Tensor | None) -> torch.Tensor:
    """The start of every entry ``[B]`` (``views`` ``[B]``) of a state with a start axis."""
    if starts is None:
        if state.starts != 1:
            raise ValueError(f"the state has {state.starts} starts: say which start each entry shows (starts=[B])")
        return torch.zeros_like(views)
    starts = torch.as_tensor(starts, dtype=torch.long, device=views.device).reshape(-1)
    if starts.shape != views.shape:
        raise ValueError(f"starts {tuple(starts.shape)} and views {tuple(views.shape)} must give one start per view")
    return starts


def vertex_normals(vertices: torch.Tensor, faces: torch.Tensor, groups: torch.Tensor | None = None) -> torch.Tensor:
    """Area-weighted vertex normals ``[..., V, 3]`` of vertices ``[..., V, 3]`` (differentiable).

    ``groups``: optional int64 ``[V]`` group id per vertex, in [0, V) (``Mesh.normal_groups``); the
    vertices of a group share one normal, the area-weighted sum over all of the group's faces (so
    vertices split at a UV seam shade smoothly). None: each vertex's own faces only.
    """
    v0, v1, v2 = vertices[..., faces[:, 0], :], vertices[..., faces[:, 1], :], vertices[..., faces[:, 2], :]
    face_n = torch.linalg.cross(v1 - v0, v2 - v0)
    # Sums over the vertex axis moved first ([V, lead * 3]): index_add along dim 0 of a 2-D tensor is
    # torch's fast path (about 1.3x faster with a start axis, forward and backward; same sums, same order).
    lead, num_vertices = vertices.shape[:-2], vertices.shape[-2]
    flat = face_n.movedim(-2, 0).reshape(face_n.shape[-2], -1)
    n = flat.new_zeros(num_vertices, flat.shape[1])
    for k in range(3):
        n = n.index_add(0, faces[:, k], flat)
    n = n.reshape(num_vertices, *lead, 3).movedim(0, -2)
    if groups is not None:
        n = torch.zeros_like(n).index_add(-2, groups, n)[..., groups, :]
    return n / n.norm(dim=-1, keepdim=True).clamp_min(1e-12)
