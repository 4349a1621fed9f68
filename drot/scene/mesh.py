"""Triangle meshes: the one geometry type drot renders.

A :class:`Mesh` is an immutable bundle of tensors. Vertex colours, UVs and a texture are
optional appearance attributes; when none is given the mesh renders in a uniform grey albedo.
Files are read by :func:`drot.scene.mesh_files.load_mesh` (``drot.load_mesh``).
"""
from __future__ import annotations

import dataclasses
import os

import numpy as np
import torch

from .image_files import load_texture


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
        texture: optional float32 tensor [Ht, Wt, 3], albedo texture, row 0 = v of 0 (an image
            file's last row; :func:`drot.scene.mesh_files.image_to_texture` flips it).
        normal_groups: optional int64 tensor [V]: vertices with the same id share one normal (the
            area-weighted sum over the group), e.g. vertices split at UV seams that sit at the same
            position (:func:`weld_groups`). Ids lie in [0, V). None (the default): every vertex
            has its own normal, from the faces that use it.
    """

    vertices: torch.Tensor
    faces: torch.Tensor
    colors: torch.Tensor | None = None
    uvs: torch.Tensor | None = None
    texture: torch.Tensor | None = None
    normal_groups: torch.Tensor | None = None

    def __post_init__(self) -> None:
        v, f = self.vertices, self.faces
        if v.ndim != 2 or v.shape[1] != 3 or v.shape[0] == 0:
            raise MeshError(f"mesh vertices must have shape [V, 3] with V > 0, got {tuple(v.shape)}")
        if f.ndim != 2 or f.shape[1] != 3:
            raise MeshError(f"mesh faces must have shape [F, 3], got {tuple(f.shape)}")
        if f.shape[0] == 0:
            raise MeshError("mesh has no faces: drot renders triangle meshes, a point cloud cannot be rasterized")
        if not v.is_floating_point():
            raise MeshError(f"mesh vertices must be floating point (float32), got {v.dtype}")
        if f.is_floating_point() or f.is_complex() or f.dtype == torch.bool:
            raise MeshError(f"mesh faces must be integer vertex indices (int64), got {f.dtype}")
        if not torch.isfinite(v).all():
            bad = ~torch.isfinite(v).all(1)
            raise MeshError(f"mesh vertices contain NaN or inf: {int(bad.sum())} of {v.shape[0]} vertices, first: "
                            f"vertex {int(bad.nonzero()[0])} = {v[int(bad.nonzero()[0])].tolist()}")
        if f.min() < 0 or f.max() >= v.shape[0]:
            bad = (f < 0) | (f >= v.shape[0])
            i = int(bad.any(1).nonzero()[0])
            raise MeshError(f"mesh faces index vertices outside [0, {v.shape[0] - 1}]: {int(bad.any(1).sum())} of "
                            f"{f.shape[0]} faces, first: face {i} = {f[i].tolist()}")
        for name, width in (("colors", 3), ("uvs", 2)):
            a = getattr(self, name)
            if a is not None and (a.ndim != 2 or a.shape != (v.shape[0], width)):
                raise MeshError(f"mesh {name} must have shape [{v.shape[0]}, {width}], got {tuple(a.shape)}")
        if self.texture is not None:
            if self.uvs is None:
                raise MeshError("a mesh texture needs per-vertex uvs")
            if self.texture.ndim != 3 or self.texture.shape[2] != 3:
                raise MeshError(f"mesh texture must have shape [H, W, 3], got {tuple(self.texture.shape)}")
        g = self.normal_groups
        if g is not None:
            if g.shape != (v.shape[0],) or g.dtype != torch.int64:
                raise MeshError(f"mesh normal_groups must be int64 [{v.shape[0]}], got {g.dtype} {tuple(g.shape)}")
            if g.min() < 0 or g.max() >= v.shape[0]:
                raise MeshError(f"mesh normal_groups must lie in [0, {v.shape[0] - 1}]")

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

    def with_texture(self, texture, projection: str | None = None, axis: str = "z") -> "Mesh":
        """The same mesh with the albedo ``texture`` (a ``[Ht, Wt, 3]`` tensor, row 0 = v of 0, or an
        image file's path), on its own UVs or, with ``projection`` (``"planar"``, ``"spherical"``,
        ``"cylindrical"`` about ``axis``), on projected ones — what a scene file's ``uv`` and
        ``texture`` keys do."""
        from .texture import project_uvs

        if isinstance(texture, (str, os.PathLike)):
            texture = load_texture(texture)
        uvs = self.uvs if projection is None else project_uvs(self.vertices, projection, axis)
        if uvs is None:
            raise MeshError("with_texture: this mesh has no UVs; give a projection, e.g. projection=\"planar\"")
        return dataclasses.replace(self, uvs=uvs, texture=torch.as_tensor(texture, dtype=torch.float32))

    @staticmethod
    def concatenate(meshes: "list[Mesh]") -> "Mesh":
        """Merge several meshes into one (vertex colours default to grey where one lacks them).

        ``normal_groups`` are kept (offset; a mesh without them keeps one group per vertex) when any
        of the meshes has them; UVs and textures are not carried.
        """
        verts, faces, colors, groups, offset = [], [], [], [], 0
        for m in meshes:
            verts.append(m.vertices)
            faces.append(m.faces + offset)
            colors.append(m.colors if m.colors is not None else torch.full_like(m.vertices, 0.7))
            groups.append((m.normal_groups if m.normal_groups is not None else
                           torch.arange(m.num_vertices, device=m.faces.device)) + offset)
            offset += m.num_vertices
        keep = any(m.normal_groups is not None for m in meshes)
        return Mesh(torch.cat(verts), torch.cat(faces), torch.cat(colors),
                    normal_groups=torch.cat(groups) if keep else None)


def mesh_from_arrays(vertices, faces, colors=None, uvs=None, texture=None) -> Mesh:
    """Build a :class:`Mesh` from array-likes (numpy or lists), converting dtypes."""
    def f32(a):
        return None if a is None else torch.as_tensor(np.asarray(a), dtype=torch.float32)
    f = np.asarray(faces)
    if f.size == 0:
        f = f.reshape(0, 3)
    return Mesh(f32(vertices), torch.as_tensor(f, dtype=torch.int64), f32(colors), f32(uvs), f32(texture))


def weld_groups(vertices, tolerance: float | None = None) -> torch.Tensor:
    """Group the vertices that sit at the same position: int64 ``[V]``, each vertex's group id.

    Vertices closer than ``tolerance`` (chained: a-b and b-c close puts a, b, c together) share a
    group, whose id is its smallest vertex index. ``tolerance`` is in the mesh's units; None means
    1e-6 times the longest side of the bounding box. Use it as :attr:`Mesh.normal_groups` to give
    vertices split at UV or patch seams one shared normal (UVs and colours stay split).
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    v = np.asarray(vertices.detach().cpu() if isinstance(vertices, torch.Tensor) else vertices, dtype=np.float64)
    if tolerance is None:
        tolerance = 1e-6 * float(np.ptp(v, axis=0).max()) if len(v) else 0.0
    pairs = cKDTree(v).query_pairs(r=max(float(tolerance), 0.0), output_type="ndarray")
    n = len(v)
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    first = np.full(label.max() + 1 if n else 0, n, dtype=np.int64)
    np.minimum.at(first, label, np.arange(n))
    return torch.as_tensor(first[label], dtype=torch.int64)
