"""The mesh kit: procedural primitives and the helpers to build meshes of your own.

Every generator returns a :class:`~drot.scene.mesh.Mesh` with counter-clockwise faces seen from
outside (so closed shapes have positive signed volume) and per-vertex colours in [0, 1]. Nothing
here reads a file or uses randomness: the same arguments always give the same tensors. The
built-in models made from these parts live in :mod:`drot.scene.assets`.

Conventions: +Y is up; cylinders, cones and the sphere's poles lie along +Y.

A ``color`` argument (:data:`ColorSpec`) is either an RGB triple (uniform colour) or a callable
mapping vertex positions ``[N, 3]`` (numpy, after placement) to colours ``[N, 3]``, which is how
the cat gets its stripes. :func:`tube` also accepts one colour per path point ``[K, 3]``.

* primitives: :func:`uv_sphere`, :func:`ellipsoid`, :func:`box`, :func:`plane`, :func:`cylinder`,
  :func:`cone`, :func:`tube`;
* placing and colouring a mesh: :func:`transform`, :func:`rotation_matrix`, :func:`paint`;
* building blocks for generators: :func:`build_mesh` (positions, faces and a colour spec → a mesh),
  :func:`vertex_colors`, :func:`grid_faces`, :func:`ring_fan`, :func:`grid_patch`, :func:`lathe`,
  :func:`segment_count` (tessellation counts scaled by a ``detail`` factor);
* colour helpers for ``color`` callables: :func:`smoothstep`, :func:`mix`.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence, Union

import numpy as np

from .mesh import Mesh, mesh_from_arrays

#: A colour: an RGB triple, or a callable of vertex positions [N, 3] → colours [N, 3].
ColorSpec = Union[Sequence[float], np.ndarray, Callable[[np.ndarray], np.ndarray]]

GREY = (0.7, 0.7, 0.7)


# ----------------------------------------------------------------------------------------------
# building blocks


def vertex_colors(v: np.ndarray, color: ColorSpec) -> np.ndarray:
    """Per-vertex colours [N, 3] for positions ``v`` [N, 3] from a triple or a callable."""
    if callable(color):
        c = np.asarray(color(v), dtype=np.float64)
        c = np.broadcast_to(c, v.shape)
    else:
        c = np.broadcast_to(np.asarray(color, dtype=np.float64).reshape(1, 3), v.shape)
    return np.clip(c, 0.0, 1.0)


def build_mesh(v: np.ndarray, f: np.ndarray, color: ColorSpec) -> Mesh:
    """Mesh from float positions [V, 3], int faces [F, 3] and a colour spec (evaluated on ``v``)."""
    return mesh_from_arrays(v, f, vertex_colors(v, color))


def segment_count(base: int, detail: float, minimum: int) -> int:
    """A tessellation count scaled by ``detail``, never below ``minimum``."""
    return max(minimum, int(round(base * detail)))


def grid_faces(rows: int, cols: int, wrap: bool) -> np.ndarray:
    """Quads between ``rows`` rows of ``cols`` vertices (row-major indices), two triangles each.

    Row ``i`` and column ``j`` form a quad a=(i,j), b=(i+1,j), c=(i+1,j+1), d=(i,j+1) split as
    (a,b,c), (a,c,d); with ``wrap`` the last column connects back to column 0 (a closed ring).
    Returns int64 [2 * (rows-1) * cols', 3].
    """
    i, j = np.meshgrid(np.arange(rows - 1), np.arange(cols if wrap else cols - 1), indexing="ij")
    i, j = i.ravel(), j.ravel()
    j1 = (j + 1) % cols if wrap else j + 1
    a, b, c, d = i * cols + j, (i + 1) * cols + j, (i + 1) * cols + j1, i * cols + j1
    return np.concatenate([np.stack([a, b, c], 1), np.stack([a, c, d], 1)]).astype(np.int64)


def ring_fan(center: int, ring: np.ndarray, flip: bool) -> np.ndarray:
    """Triangle fan [n, 3] joining vertex ``center`` to the closed ring of indices ``ring`` [n]."""
    nxt = np.roll(ring, -1)
    c = np.full_like(ring, center)
    return np.stack([c, nxt, ring] if flip else [c, ring, nxt], 1).astype(np.int64)


def rotation_matrix(axis: Sequence[float], angle: float) -> np.ndarray:
    """Rotation matrix [3, 3] of ``angle`` radians about ``axis`` (right-hand rule)."""
    a = np.asarray(axis, dtype=np.float64)
    a = a / np.linalg.norm(a)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + math.sin(angle) * k + (1 - math.cos(angle)) * (k @ k)


def transform(mesh: Mesh, scale: float | Sequence[float] = 1.0, rotation: np.ndarray | None = None,
              translation: Sequence[float] = (0.0, 0.0, 0.0)) -> Mesh:
    """``mesh`` with vertices mapped to ``R @ (scale * v) + translation`` (colours kept).

    ``scale`` is a scalar or per-axis [3] (positive: a mirror would flip the winding);
    ``rotation`` is a [3, 3] matrix.
    """
    s = np.broadcast_to(np.asarray(scale, dtype=np.float64), (3,))
    if (s <= 0).any():
        raise ValueError(f"transform scale must be positive (a mirror flips the winding), got {s}")
    v = mesh.vertices.double().numpy() * s
    if rotation is not None:
        v = v @ np.asarray(rotation, dtype=np.float64).T
    v = v + np.asarray(translation, dtype=np.float64)
    return mesh_from_arrays(v, mesh.faces.numpy(), None if mesh.colors is None else mesh.colors.numpy())


def paint(mesh: Mesh, color: ColorSpec) -> Mesh:
    """``mesh`` recoloured: ``color`` is a triple or a callable of its (current) positions."""
    v = mesh.vertices.double().numpy()
    return mesh_from_arrays(v, mesh.faces.numpy(), vertex_colors(v, color))


# ----------------------------------------------------------------------------------------------
# primitives


def uv_sphere(radius: float = 1.0, rings: int = 16, segments: int = 32,
              center: Sequence[float] = (0.0, 0.0, 0.0), color: ColorSpec = GREY,
              scale: Sequence[float] = (1.0, 1.0, 1.0)) -> Mesh:
    """A closed UV sphere with poles on ±Y.

    ``rings`` latitude bands (>= 2) and ``segments`` longitude slices (>= 3) give
    ``V = (rings-1) * segments + 2`` vertices and ``F = 2 * segments * (rings-1)`` triangles.
    ``scale`` stretches it per axis (an ellipsoid of radii ``radius * scale``).
    """
    if rings < 2 or segments < 3:
        raise ValueError(f"uv_sphere needs rings >= 2 and segments >= 3, got {rings}, {segments}")
    theta = np.pi * np.arange(1, rings) / rings               # polar angle from +Y
    phi = 2 * np.pi * np.arange(segments) / segments          # from +Z towards +X
    st, ct = np.sin(theta)[:, None], np.cos(theta)[:, None]
    ring = np.stack([st * np.sin(phi), np.broadcast_to(ct, (rings - 1, segments)), st * np.cos(phi)],
                    -1).reshape(-1, 3)
    v = np.concatenate([[[0.0, 1.0, 0.0]], ring, [[0.0, -1.0, 0.0]]])
    v = v * radius * np.asarray(scale, dtype=np.float64) + np.asarray(center, dtype=np.float64)
    south = len(v) - 1
    f = np.concatenate([
        ring_fan(0, 1 + np.arange(segments), flip=False),                       # north cap
        1 + grid_faces(rings - 1, segments, wrap=True),                         # bands
        ring_fan(south, 1 + (rings - 2) * segments + np.arange(segments), flip=True),  # south cap
    ])
    return build_mesh(v, f, color)


def ellipsoid(radii: Sequence[float] = (1.0, 1.0, 1.0), rings: int = 16, segments: int = 32,
              center: Sequence[float] = (0.0, 0.0, 0.0), color: ColorSpec = GREY) -> Mesh:
    """A closed ellipsoid with semi-axes ``radii`` [3] along X, Y, Z (a scaled :func:`uv_sphere`)."""
    return uv_sphere(1.0, rings, segments, center, color, scale=radii)


def grid_patch(origin: np.ndarray, u: np.ndarray, w: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """An n x n grid of quads spanning ``origin + s*u + t*w`` (s, t in [0, 1]), facing ``u x w``.

    Returns vertices [(n+1)^2, 3] and faces [2 n^2, 3].
    """
    s = np.linspace(0.0, 1.0, n + 1)
    # rows advance along u, columns along w: quad (a, b, c) has normal u x (u + w) = u x w
    si, ti = np.meshgrid(s, s, indexing="ij")
    v = origin + si.reshape(-1, 1) * u + ti.reshape(-1, 1) * w
    return v, grid_faces(n + 1, n + 1, wrap=False)


BOX_SIDES = ("+x", "-x", "+y", "-y", "+z", "-z")


def box(size: Sequence[float] = (1.0, 1.0, 1.0), center: Sequence[float] = (0.0, 0.0, 0.0),
        color: ColorSpec = GREY, subdivisions: int = 1,
        face_colors: Sequence[Sequence[float]] | None = None) -> Mesh:
    """An axis-aligned box, each face split into a ``subdivisions`` x ``subdivisions`` quad grid.

    Faces are flat: each of the 6 sides has its own vertices (duplicated along the edges), so
    ``V = 6 (n+1)^2`` and ``F = 12 n^2``. Welding duplicates (trimesh does) makes it watertight.
    The sides come in the order of :data:`BOX_SIDES` (+x, -x, +y, -y, +z, -z), each a block of
    ``(n+1)^2`` vertices; ``face_colors`` ``[6, 3]`` (in that order) gives each side its own
    uniform colour and overrides ``color``.
    """
    n = int(subdivisions)
    if n < 1:
        raise ValueError(f"box subdivisions must be >= 1, got {subdivisions}")
    if face_colors is not None:
        fc = np.asarray(face_colors, dtype=np.float64)
        if fc.shape != (6, 3):
            raise ValueError(f"box face_colors must be [6, 3] (sides {', '.join(BOX_SIDES)}), got {fc.shape}")
        per_side = np.repeat(fc, (n + 1) ** 2, axis=0)
        color = lambda v: per_side  # noqa: E731  (positions are laid out side by side)
    h = np.asarray(size, dtype=np.float64) / 2
    verts, faces, off = [], [], 0
    for axis in range(3):
        for sign in (1.0, -1.0):
            normal = np.zeros(3)
            normal[axis] = sign
            # two in-plane axes with u x w = normal
            u = np.zeros(3)
            u[(axis + 1) % 3] = 1.0
            w = np.cross(normal, u)
            origin = normal * h - u * h - w * h
            v, f = grid_patch(origin, 2 * u * h, 2 * w * h, n)
            verts.append(v)
            faces.append(f + off)
            off += len(v)
    v = np.concatenate(verts) + np.asarray(center, dtype=np.float64)
    return build_mesh(v, np.concatenate(faces), color)


def plane(size: float | Sequence[float] = 1.0, subdivisions: int = 1,
          color: ColorSpec = GREY, center: Sequence[float] = (0.0, 0.0, 0.0)) -> Mesh:
    """A flat square (or ``size`` = (sx, sz) rectangle) in the XZ plane, normal +Y.

    ``V = (n+1)^2``, ``F = 2 n^2`` for ``n = subdivisions``.
    """
    n = int(subdivisions)
    if n < 1:
        raise ValueError(f"plane subdivisions must be >= 1, got {subdivisions}")
    sx, sz = np.broadcast_to(np.asarray(size, dtype=np.float64), (2,))
    u, w = np.array([0.0, 0.0, sz]), np.array([sx, 0.0, 0.0])   # Z x X = +Y
    v, f = grid_patch(-(u + w) / 2, u, w, n)
    return build_mesh(v + np.asarray(center, dtype=np.float64), f, color)


def lathe(profile_r: np.ndarray, profile_y: np.ndarray, segments: int, cap_top: bool,
           cap_bottom: bool) -> tuple[np.ndarray, np.ndarray]:
    """Surface of revolution about +Y through profile points listed top to bottom.

    A radius of 0 at the first/last profile point is an apex (a single vertex). Returns
    vertices [V, 3] and faces [F, 3].
    """
    phi = 2 * np.pi * np.arange(segments) / segments
    top_apex, bottom_apex = profile_r[0] == 0, profile_r[-1] == 0
    rows = slice(1 if top_apex else 0, len(profile_r) - 1 if bottom_apex else len(profile_r))
    r, y = profile_r[rows, None], profile_y[rows, None]
    ring = np.stack([r * np.sin(phi), np.broadcast_to(y, (len(r), segments)), r * np.cos(phi)],
                    -1).reshape(-1, 3)
    nrows = len(r)
    verts, faces = [ring], [grid_faces(nrows, segments, wrap=True)]
    n = len(ring)
    first, last = np.arange(segments), (nrows - 1) * segments + np.arange(segments)
    if top_apex or cap_top:
        verts.append([[0.0, profile_y[0] if top_apex else profile_y[rows][0], 0.0]])
        faces.append(ring_fan(n, first, flip=False))
        n += 1
    if bottom_apex or cap_bottom:
        verts.append([[0.0, profile_y[-1] if bottom_apex else profile_y[rows][-1], 0.0]])
        faces.append(ring_fan(n, last, flip=True))
    return np.concatenate(verts), np.concatenate(faces)


def cylinder(radius: float = 0.5, height: float = 1.0, segments: int = 32,
             center: Sequence[float] = (0.0, 0.0, 0.0), color: ColorSpec = GREY,
             capped: bool = True) -> Mesh:
    """A cylinder along +Y centred on ``center`` (closed by two flat caps when ``capped``)."""
    if segments < 3:
        raise ValueError(f"cylinder needs segments >= 3, got {segments}")
    v, f = lathe(np.array([radius, radius], float), np.array([height / 2, -height / 2]),
                  segments, capped, capped)
    return build_mesh(v + np.asarray(center, dtype=np.float64), f, color)


def cone(radius: float = 0.5, height: float = 1.0, segments: int = 32,
         center: Sequence[float] = (0.0, 0.0, 0.0), color: ColorSpec = GREY) -> Mesh:
    """A closed cone along +Y: base disc at ``center.y - height/2``, apex at ``center.y + height/2``."""
    if segments < 3:
        raise ValueError(f"cone needs segments >= 3, got {segments}")
    v, f = lathe(np.array([0.0, radius]), np.array([height / 2, -height / 2]), segments, False, True)
    return build_mesh(v + np.asarray(center, dtype=np.float64), f, color)


def tube(path_points, radius: float | Sequence[float] = 0.1, segments: int = 16,
         color: ColorSpec = GREY, capped: bool = True) -> Mesh:
    """A tube swept along a polyline, closed by flat caps at both ends when ``capped``.

    Args:
        path_points: [K, 3] centre-line points (K >= 2, consecutive points distinct).
        radius: a scalar or one radius per path point [K].
        segments: vertices around each cross-section ring.
        color: a triple, a callable of positions, or one colour per path point [K, 3].
    Returns: a mesh with ``K * segments (+2)`` vertices.
    """
    p = np.asarray(path_points, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 3 or len(p) < 2:
        raise ValueError(f"tube path must be [K >= 2, 3], got {p.shape}")
    k = len(p)
    r = np.broadcast_to(np.asarray(radius, dtype=np.float64), (k,))
    seg = np.diff(p, axis=0)
    if (np.linalg.norm(seg, axis=1) == 0).any():
        raise ValueError("tube path has repeated consecutive points")
    # tangents: averaged neighbouring segment directions
    d = seg / np.linalg.norm(seg, axis=1, keepdims=True)
    t = np.concatenate([d[:1], d[:-1] + d[1:], d[-1:]])
    tn = np.linalg.norm(t, axis=1, keepdims=True)
    if (tn < 1e-9).any():
        raise ValueError("tube path doubles back on itself (a 180 degree turn has no tangent)")
    t /= tn
    # rotation-minimising frames by projecting the previous normal (no twist for smooth paths)
    ref = np.eye(3)[np.argmin(np.abs(t[0]))]
    nrm = np.empty_like(t)
    nrm[0] = np.cross(t[0], ref)
    for i in range(k):
        prev = nrm[i - 1] if i else nrm[0]
        q = prev - (prev @ t[i]) * t[i]
        if np.linalg.norm(q) < 1e-9:  # a kink of 90 degrees or more: restart the frame
            q = np.cross(t[i], np.eye(3)[np.argmin(np.abs(t[i]))])
        nrm[i] = q / np.linalg.norm(q)
    bin_ = np.cross(nrm, t)                     # n x t keeps the quads counter-clockwise outside
    phi = 2 * np.pi * np.arange(segments) / segments
    ring = (p[:, None] + r[:, None, None] * (np.cos(phi)[None, :, None] * nrm[:, None]
                                             + np.sin(phi)[None, :, None] * bin_[:, None]))
    v = ring.reshape(-1, 3)
    f = [grid_faces(k, segments, wrap=True)]
    per_point = (not callable(color)) and np.asarray(color).ndim == 2
    cols = np.repeat(np.asarray(color, dtype=np.float64), segments, 0) if per_point else None
    if capped:
        n = len(v)
        v = np.concatenate([v, p[:1], p[-1:]])
        f += [ring_fan(n, np.arange(segments), flip=False),
              ring_fan(n + 1, (k - 1) * segments + np.arange(segments), flip=True)]
        if per_point:
            cols = np.concatenate([cols, np.asarray(color, dtype=np.float64)[[0, -1]]])
    f = np.concatenate(f)
    if per_point:
        if cols.shape[0] != len(v):
            raise ValueError(f"tube per-point colours must be [K={k}, 3], got {np.shape(color)}")
        return mesh_from_arrays(v, f, np.clip(cols, 0.0, 1.0))
    return build_mesh(v, f, color)


# ----------------------------------------------------------------------------------------------
# colour helpers (for ``color`` callables)


def smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    """Smooth step ``3t² - 2t³`` of ``t = clip((x - e0) / (e1 - e0), 0, 1)``, elementwise.

    0 at and beyond ``e0``, 1 at and beyond ``e1``, smooth in between; ``e0 > e1`` gives a
    falling step (1 below ``e1``, 0 above ``e0``).
    """
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def mix(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Blend colours a -> b by weights t [N] (rows)."""
    return a * (1 - t[:, None]) + b * t[:, None]
