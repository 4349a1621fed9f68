"""Built-in objects: the CUBE, BOX (room), OUTDOOR (stone) and JOINT (textured box) scenes' models.

Each generator returns a :class:`~drot.scene.mesh.Mesh` normalized to a unit bounding box and
centred at the origin (except :func:`coloured_cube`, already a unit cube), +Y up, facing +Z, with
per-vertex colours (and UVs where a texture is meant to be applied). Same arguments, same tensors:
the only randomness is seeded.

* :func:`coloured_cube`   — CUBE: a cube with six distinctly coloured sides;
* :func:`make_room`       — BOX: an open-fronted room with coloured walls and two objects inside;
* :func:`make_stone`      — OUTDOOR: a lumpy stone (a noise-displaced sphere);
* :func:`textured_box`    — JOINT: a brick whose sides are laid out in a 3 x 2 texture atlas.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..kit import GREY, box, mix, plane, rotation_matrix, segment_count, smoothstep, transform, uv_sphere
from ..mesh import Mesh, mesh_from_arrays


# ------------------------------------------------------------------------------------------ CUBE
# The four sides that a turn about +Y cycles (+x, +z, -x, -z) are red, green, white and blue: the vertices of a
# regular tetrahedron in RGB, pairwise equally far apart, so that an optimal-transport matching of a turned
# cube pairs each colour with itself (moving it) instead of recolouring in place. Top yellow, bottom cyan.
CUBE_COLORS = ((0.90, 0.10, 0.10), (0.90, 0.90, 0.90), (0.95, 0.80, 0.10),
               (0.10, 0.75, 0.85), (0.10, 0.80, 0.10), (0.10, 0.15, 0.90))


def coloured_cube(subdivisions: int = 2, colors: Sequence[Sequence[float]] = CUBE_COLORS) -> Mesh:
    """A unit cube whose six sides (+x, -x, +y, -y, +z, -z) have six distinct colours ``[6, 3]``."""
    return box((1.0, 1.0, 1.0), subdivisions=subdivisions, face_colors=colors)


# ------------------------------------------------------------------------------------------- BOX
WALL_RED = (0.80, 0.15, 0.12)
WALL_GREEN = (0.15, 0.65, 0.20)
WALL_WHITE = (0.85, 0.83, 0.78)
FLOOR = (0.62, 0.57, 0.50)
FLOOR_DARK = (0.30, 0.26, 0.22)


def _tiled_floor(size: float, tiles: int, color_a: Sequence[float], color_b: Sequence[float], y: float) -> Mesh:
    """A ``size`` x ``size`` floor at height ``y`` facing +Y, made of ``tiles``² flat quads in two colours.

    Each tile has its own four vertices, so the colours do not blend across tile borders.
    """
    step = size / tiles
    i, j = np.meshgrid(np.arange(tiles), np.arange(tiles), indexing="ij")
    x0, z0 = (-size / 2 + step * j).ravel(), (-size / 2 + step * i).ravel()
    corners = np.stack([np.stack([x0, np.full_like(x0, y), z0], 1), np.stack([x0, np.full_like(x0, y), z0 + step], 1),
                        np.stack([x0 + step, np.full_like(x0, y), z0 + step], 1),
                        np.stack([x0 + step, np.full_like(x0, y), z0], 1)], 1)           # [T, 4, 3]
    base = 4 * np.arange(tiles * tiles)[:, None]
    faces = np.concatenate([base + [0, 1, 2], base + [0, 2, 3]])    # (x, z) -> (x, z+1) -> (x+1, z+1): normal +Y
    odd = ((i + j) % 2 == 1).ravel()
    colors = np.repeat(np.where(odd[:, None], np.asarray(color_b, float), np.asarray(color_a, float)), 4, axis=0)
    return mesh_from_arrays(corners.reshape(-1, 3), faces, colors)


def make_room(subdivisions: int = 8, floor_tiles: int = 6) -> Mesh:
    """An open-fronted room (a Cornell-box-like interior) seen from +Z: 2 x 2 x 2 before normalisation.

    Red left wall (-x), green right wall (+x), off-white back wall (-z) and ceiling, a floor of
    ``floor_tiles``² light and dark tiles, a framed blue picture on the back wall, a tall yellow block
    at the back left and an orange ball at the front right. The front (+z) is open. Walls are split
    into ``subdivisions``² quads so that a camera near or inside the room loses only small triangles
    to the near plane.
    """
    n = int(subdivisions)
    walls = [
        _tiled_floor(2.0, floor_tiles, FLOOR, FLOOR_DARK, -1.0),
        transform(plane(2.0, n, WALL_WHITE), rotation=rotation_matrix((1, 0, 0), np.pi), translation=(0, 1, 0)),   # ceiling
        transform(plane(2.0, n, WALL_WHITE), rotation=rotation_matrix((1, 0, 0), np.pi / 2), translation=(0, 0, -1)),  # back
        transform(plane(2.0, n, WALL_RED), rotation=rotation_matrix((0, 0, 1), -np.pi / 2), translation=(-1, 0, 0)),   # left
        transform(plane(2.0, n, WALL_GREEN), rotation=rotation_matrix((0, 0, 1), np.pi / 2), translation=(1, 0, 0)),   # right
    ]
    picture = transform(box((0.8, 0.5, 0.04), color=(0.15, 0.30, 0.75)), translation=(0.25, 0.3, -0.97))
    frame = transform(box((0.9, 0.6, 0.02), color=(0.25, 0.15, 0.08)), translation=(0.25, 0.3, -0.985))
    block = transform(box((0.55, 1.2, 0.55), color=(0.92, 0.78, 0.15)), rotation=rotation_matrix((0, 1, 0), 0.35),
                      translation=(-0.4, -0.39, -0.35))  # lifted off the floor: no z-fighting
    ball = uv_sphere(0.32, 16, 32, (0.42, -0.67, 0.3), (0.95, 0.45, 0.10))
    return Mesh.concatenate(walls + [frame, picture, block, ball]).normalized()


# --------------------------------------------------------------------------------------- OUTDOOR
def make_stone(detail: float = 1.0, roughness: float = 0.12, seed: int = 0) -> Mesh:
    """A lumpy grey-brown stone: a flattened sphere displaced along its normals by smooth noise.

    The noise is a sum of 12 sinusoids of the direction with seeded random orientations, phases
    and octaves (``roughness`` scales their amplitude); the colour varies with a second noise
    between two stone greys with a few mossy patches on top. ``V ≈ 1.1k`` at ``detail = 1``.
    """
    if detail <= 0:
        raise ValueError(f"make_stone detail must be positive, got {detail}")
    rng = np.random.default_rng(seed)
    sphere = uv_sphere(1.0, segment_count(24, detail, 6), segment_count(48, detail, 8))
    d = sphere.vertices.double().numpy()

    def noise(k: int, base: float) -> np.ndarray:
        w = rng.normal(size=(k, 3))
        freq = base * 2.0 ** rng.integers(0, 3, size=k)
        phase = rng.uniform(0, 2 * np.pi, size=k)
        return (np.sin((d @ w.T) * freq + phase) / freq).sum(1)

    radius = 1 + roughness * noise(12, 1.5)
    v = d * radius[:, None] * np.array([1.0, 0.7, 0.85])
    shade = smoothstep(-0.4, 0.4, noise(8, 2.0))
    col = mix(np.broadcast_to(np.array([0.45, 0.42, 0.38]), v.shape), np.array([0.68, 0.64, 0.58]), shade)
    moss = smoothstep(0.45, 0.75, d[:, 1]) * smoothstep(0.0, 0.3, noise(6, 3.0))
    col = mix(col, np.array([0.30, 0.45, 0.18]), 0.8 * moss)
    return mesh_from_arrays(v, sphere.faces.numpy(), col).normalized()


# ----------------------------------------------------------------------------------------- JOINT
def textured_box(size: Sequence[float] = (1.0, 0.6, 0.4), subdivisions: int = 4, margin: float = 0.03,
                 color: Sequence[float] = GREY) -> Mesh:
    """A box with UVs: its sides (+x, -x, +y, -y, +z, -z) fill the cells of a 3 x 2 texture atlas.

    Side ``k`` maps to column ``k % 3`` and row ``k // 3`` of the atlas, shrunk by ``margin`` (a
    fraction of the texture) so that bilinear filtering does not bleed between sides. Carries
    ``color`` as vertex colour too (what it shows without a texture).
    """
    n = int(subdivisions)
    m = box(size, subdivisions=n, color=color)
    k = np.arange((n + 1) ** 2)
    s, t = (k // (n + 1)) / n, (k % (n + 1)) / n        # box() lays each side out row-major over (s, t)
    uvs = []
    for side in range(6):
        col, row = side % 3, side // 3
        u = (col + margin * 3 + t * (1 - 6 * margin)) / 3
        v = (row + margin * 2 + s * (1 - 4 * margin)) / 2
        uvs.append(np.stack([u, v], 1))
    return mesh_from_arrays(m.vertices.numpy(), m.faces.numpy(), m.colors.numpy(), np.concatenate(uvs)).normalized()
