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
    """A scene evaluated at given parameter values (``V`` vertices, ``N`` views).

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

    def clip_positions(self, views: torch.Tensor | list[int]) -> torch.Tensor:
        """Clip-space positions ``[B, V, 4]`` of the vertices in the given views."""
        homo = torch.cat([self.vertices, torch.ones_like(self.vertices[:, :1])], 1)
        return torch.einsum("vj,bij->bvi", homo, self.clip_matrices[views].to(homo.dtype))


def vertex_normals(vertices: torch.Tensor, faces: torch.Tensor, groups: torch.Tensor | None = None) -> torch.Tensor:
    """Area-weighted vertex normals ``[V, 3]`` (differentiable).

    ``groups``: optional int64 ``[V]`` group id per vertex, in [0, V) (``Mesh.normal_groups``); the
    vertices of a group share one normal, the area-weighted sum over all of the group's faces (so
    vertices split at a UV seam shade smoothly). None: each vertex's own faces only.
    """
    v0, v1, v2 = vertices[faces[:, 0]], vertices[faces[:, 1]], vertices[faces[:, 2]]
    face_n = torch.linalg.cross(v1 - v0, v2 - v0)
    n = torch.zeros_like(vertices)
    for k in range(3):
        n = n.index_add(0, faces[:, k], face_n)
    if groups is not None:
        n = torch.zeros_like(n).index_add(0, groups, n)[groups]
    return n / n.norm(dim=1, keepdim=True).clamp_min(1e-12)
