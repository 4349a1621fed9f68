"""Triangle meshes: the one geometry type drot renders.

A :class:`Mesh` is an immutable bundle of tensors. Vertex colours, UVs and a texture are
optional appearance attributes; when none is given the mesh renders in a uniform grey albedo.
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import torch


class MeshError(ValueError):
    """A mesh that cannot be rendered (no faces, bad indices, non-finite vertices...)."""


@dataclasses.dataclass(frozen=True)
class Mesh:
    """A triangle mesh.

    Attributes:
        vertices: float32 tensor [V, 3], object-space positions.
        faces: int64 tensor [F, 3], counter-clockwise vertex indices.
        colors: optional float32 tensor [V, 3], per-vertex albedo in [0, 1].
        uvs: optional float32 tensor [V, 2], texture coordinates in [0, 1] (u right, v up).
        texture: optional float32 tensor [Ht, Wt, 3], albedo texture, row 0 = v of 0.
    """

    vertices: torch.Tensor
    faces: torch.Tensor
    colors: torch.Tensor | None = None
    uvs: torch.Tensor | None = None
    texture: torch.Tensor | None = None

    def __post_init__(self) -> None:
        v, f = self.vertices, self.faces
        if v.ndim != 2 or v.shape[1] != 3 or v.shape[0] == 0:
            raise MeshError(f"mesh vertices must have shape [V, 3] with V > 0, got {tuple(v.shape)}")
        if f.ndim != 2 or f.shape[1] != 3:
            raise MeshError(f"mesh faces must have shape [F, 3], got {tuple(f.shape)}")
        if f.shape[0] == 0:
            raise MeshError("mesh has no faces: drot renders triangle meshes, a point cloud cannot be rasterized")
        if not torch.isfinite(v).all():
            raise MeshError("mesh vertices contain NaN or inf")
        if f.min() < 0 or f.max() >= v.shape[0]:
            raise MeshError(f"mesh faces index vertices outside [0, {v.shape[0] - 1}]")
        for name, width in (("colors", 3), ("uvs", 2)):
            a = getattr(self, name)
            if a is not None and (a.ndim != 2 or a.shape != (v.shape[0], width)):
                raise MeshError(f"mesh {name} must have shape [{v.shape[0]}, {width}], got {tuple(a.shape)}")
        if self.texture is not None:
            if self.uvs is None:
                raise MeshError("a mesh texture needs per-vertex uvs")
            if self.texture.ndim != 3 or self.texture.shape[2] != 3:
                raise MeshError(f"mesh texture must have shape [H, W, 3], got {tuple(self.texture.shape)}")

    @property
    def num_vertices(self) -> int:
        return int(self.vertices.shape[0])

    @property
    def num_faces(self) -> int:
        return int(self.faces.shape[0])

    def to(self, device: torch.device | str) -> "Mesh":
        return dataclasses.replace(
            self, **{k.name: (None if getattr(self, k.name) is None else getattr(self, k.name).to(device))
                     for k in dataclasses.fields(self)})

    def normalized(self) -> "Mesh":
        """The same mesh centred at the origin and scaled so its bounding box's longest side is 1."""
        lo, hi = self.vertices.min(0).values, self.vertices.max(0).values
        scale = float((hi - lo).max())
        if scale <= 0:
            raise MeshError("mesh is degenerate: all vertices coincide")
        return dataclasses.replace(self, vertices=(self.vertices - (lo + hi) / 2) / scale)

    @staticmethod
    def concatenate(meshes: "list[Mesh]") -> "Mesh":
        """Merge several meshes into one (vertex colours default to grey where one lacks them)."""
        verts, faces, colors, offset = [], [], [], 0
        for m in meshes:
            verts.append(m.vertices)
            faces.append(m.faces + offset)
            colors.append(m.colors if m.colors is not None else torch.full_like(m.vertices, 0.7))
            offset += m.num_vertices
        return Mesh(torch.cat(verts), torch.cat(faces), torch.cat(colors))


def mesh_from_arrays(vertices, faces, colors=None, uvs=None, texture=None) -> Mesh:
    """Build a :class:`Mesh` from array-likes (numpy or lists), converting dtypes."""
    def f32(a):
        return None if a is None else torch.as_tensor(np.asarray(a), dtype=torch.float32)
    f = np.asarray(faces)
    if f.size == 0:
        f = f.reshape(0, 3)
    return Mesh(f32(vertices), torch.as_tensor(f, dtype=torch.int64), f32(colors), f32(uvs), f32(texture))


def load_mesh(path: str | os.PathLike) -> Mesh:
    """Load a triangle mesh file (OBJ, PLY, GLB/GLTF, STL, OFF... anything trimesh reads).

    Multi-object files (scenes) are merged into one mesh. Per-vertex colours are kept when the
    file has them; textures are baked to vertex colours by trimesh when possible.

    Raises:
        FileNotFoundError: the file does not exist.
        MeshError: the file cannot be parsed or holds no triangles.
    """
    import trimesh

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"mesh file not found: {path}")
    try:
        loaded = trimesh.load(path, process=False, force="mesh")
    except Exception as exc:  # trimesh raises many exception types for corrupt files
        raise MeshError(f"cannot read mesh file {path}: {exc}") from exc
    faces = getattr(loaded, "faces", None)
    if faces is None or len(faces) == 0:
        raise MeshError(f"mesh file {path} contains no triangles (faces)")
    colors = None
    visual = getattr(loaded, "visual", None)
    if visual is not None and getattr(visual, "kind", None) == "vertex":
        vc = np.asarray(visual.vertex_colors)
        if vc.shape[0] == len(loaded.vertices):
            colors = vc[:, :3] / 255.0
    return mesh_from_arrays(loaded.vertices, faces, colors)
