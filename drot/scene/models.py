"""The evaluation scenes' models, built from drot's procedural primitives (no model files).

Each generator returns a :class:`~drot.scene.mesh.Mesh` normalized to a unit bounding box and
centred at the origin, +Y up, facing +Z, with per-vertex colours (and UVs where a texture is
meant to be applied). Same arguments, same tensors: the only randomness is seeded.

* :func:`make_buddha`     — BUDDHA: a seated figure on a lotus pedestal (no rotational symmetry);
* :func:`coloured_cube`   — CUBE: a cube with six distinctly coloured sides;
* :func:`make_gingerbread`— GINGER: a flat gingerbread-man cookie with icing (an open surface facing +Z);
* :func:`make_room`       — BOX: an open-fronted room with coloured walls and two objects inside;
* :func:`make_stone`      — OUTDOOR: a lumpy stone (a noise-displaced sphere);
* :func:`textured_box`    — JOINT: a brick whose sides are laid out in a 3 x 2 texture atlas.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from .mesh import Mesh, mesh_from_arrays
from .procedural import (GREY, _count, _grid_faces, _mix, _rotation, _smoothstep, box, cylinder,
                         ellipsoid, plane, transform, tube, uv_sphere)


# ----------------------------------------------------------------------------------------- BUDDHA
GOLD = np.array([0.88, 0.68, 0.28])
ROBE = np.array([0.80, 0.28, 0.10])
HAIR = np.array([0.10, 0.12, 0.32])
LOTUS = np.array([0.92, 0.58, 0.64])
LEAF = np.array([0.25, 0.55, 0.25])
BOWL = np.array([0.20, 0.38, 0.70])
DARK = np.array([0.08, 0.06, 0.05])


def make_buddha(detail: float = 1.0) -> Mesh:
    """A seated Buddha-like figure on a lotus pedestal, facing +Z.

    Crossed legs and knees in front, a saffron robe leaving the right shoulder bare, the right hand
    reaching down over the right knee (earth-touching gesture) and a blue alms bowl in the left
    hand, a golden face with dark closed eyes, blue hair and top-knot, on a round pink pedestal
    over a green leaf disc. Nothing in it repeats under a rotation about +Y (the pedestal is round
    rather than petalled for that reason: petals would make every petal step a false minimum), so
    a rotation angle is observable from every side. About 6k triangles at ``detail = 1``.
    """
    if detail <= 0:
        raise ValueError(f"make_buddha detail must be positive, got {detail}")

    def dn(base: int, minimum: int = 3) -> int:
        return _count(base, detail, minimum)

    parts: list[Mesh] = []
    # -- pedestal: a leaf-green disc under a pink drum (round: no angle looks alike because of it)
    # narrower than the crossed legs, so that the legs and knees are seen from below too
    parts.append(cylinder(0.78, 0.12, dn(40), (0.0, 0.06, 0.0), LEAF))
    parts.append(cylinder(0.70, 0.24, dn(40), (0.0, 0.24, 0.0),
                          lambda v: _mix(np.broadcast_to(LOTUS, v.shape), np.array([0.97, 0.85, 0.88]),
                                         _smoothstep(0.2, 0.36, v[:, 1]))))

    # -- crossed legs: a wide flattened lap, two knees, the soles of the feet on top
    parts.append(ellipsoid((0.88, 0.24, 0.55), dn(16), dn(28), (0.0, 0.56, 0.12), ROBE))
    for sx in (-1, 1):
        parts.append(ellipsoid((0.30, 0.22, 0.32), dn(10), dn(16), (sx * 0.62, 0.55, 0.33), ROBE))
        parts.append(ellipsoid((0.16, 0.06, 0.10), dn(6), dn(12), (sx * 0.28, 0.77, 0.42), GOLD))

    # -- torso: robe over the left shoulder, bare right shoulder and chest
    def robe_color(v):
        bare = _smoothstep(0.05, 0.2, v[:, 0] - 0.55 * (v[:, 1] - 1.05)) * _smoothstep(1.05, 1.2, v[:, 1])
        return _mix(np.broadcast_to(ROBE, v.shape), GOLD, bare)

    parts.append(ellipsoid((0.50, 0.68, 0.34), dn(18), dn(28), (0.0, 1.25, 0.0), robe_color))
    parts.append(ellipsoid((0.40, 0.32, 0.30), dn(12), dn(20), (0.0, 1.02, 0.10), ROBE))  # belly
    parts.append(cylinder(0.14, 0.25, dn(16), (0.0, 1.90, 0.0), GOLD))                    # neck

    # -- head: golden face, blue hair cap and top-knot, long ears, nose, closed eyes
    head_c = np.array([0.0, 2.17, 0.02])

    def head_color(v):
        rel = v - head_c
        hair = _smoothstep(0.06, 0.12, rel[:, 1] - 0.25 * rel[:, 2])
        return _mix(np.broadcast_to(GOLD, v.shape), HAIR, hair)

    parts.append(ellipsoid((0.27, 0.32, 0.28), dn(18), dn(28), head_c, head_color))
    parts.append(uv_sphere(0.13, dn(10), dn(16), head_c + (0.0, 0.34, -0.04), HAIR))
    for sx in (-1, 1):
        parts.append(ellipsoid((0.05, 0.17, 0.08), dn(8), dn(10), head_c + (sx * 0.27, -0.08, 0.0), GOLD))
        parts.append(ellipsoid((0.07, 0.018, 0.03), dn(4), dn(8), head_c + (sx * 0.1, 0.04, 0.255), DARK))
    parts.append(ellipsoid((0.045, 0.08, 0.06), dn(6), dn(8), head_c + (0.0, -0.04, 0.27), GOLD))
    parts.append(ellipsoid((0.07, 0.015, 0.03), dn(4), dn(8), head_c + (0.0, -0.17, 0.25), ROBE))  # lips

    # -- arms: left hand in the lap holding a bowl, right hand down over the right knee
    left = np.array([[-0.50, 1.62, 0.0], [-0.62, 1.30, 0.06], [-0.58, 1.02, 0.22], [-0.25, 0.86, 0.40]])
    right = np.array([[0.50, 1.62, 0.0], [0.64, 1.30, 0.10], [0.66, 1.00, 0.36], [0.70, 0.72, 0.62]])
    parts.append(tube(left, [0.14, 0.12, 0.11, 0.09], dn(12), ROBE))
    parts.append(tube(right, [0.12, 0.10, 0.09, 0.08], dn(12), GOLD))
    parts.append(ellipsoid((0.20, 0.06, 0.14), dn(8), dn(12), (-0.1, 0.84, 0.42), GOLD))     # left hand
    parts.append(ellipsoid((0.08, 0.14, 0.07), dn(8), dn(12), (0.70, 0.64, 0.66), GOLD))     # right hand
    bowl = cylinder(0.16, 0.10, dn(20), (0.0, 0.0, 0.0), BOWL)
    parts.append(transform(bowl, translation=(-0.1, 0.93, 0.42)))
    return Mesh.concatenate(parts).normalized()


# ------------------------------------------------------------------------------------------ CUBE
# The four sides that a turn about +Y cycles (+x, +z, -x, -z) are red, green, white and blue: the vertices of a
# regular tetrahedron in RGB, pairwise equally far apart, so that an optimal-transport matching of a turned
# cube pairs each colour with itself (moving it) instead of recolouring in place. Top yellow, bottom cyan.
CUBE_COLORS = ((0.90, 0.10, 0.10), (0.90, 0.90, 0.90), (0.95, 0.80, 0.10),
               (0.10, 0.75, 0.85), (0.10, 0.80, 0.10), (0.10, 0.15, 0.90))


def coloured_cube(subdivisions: int = 2, colors: Sequence[Sequence[float]] = CUBE_COLORS) -> Mesh:
    """A unit cube whose six sides (+x, -x, +y, -y, +z, -z) have six distinct colours ``[6, 3]``."""
    return box((1.0, 1.0, 1.0), subdivisions=subdivisions, face_colors=colors)


# ---------------------------------------------------------------------------------------- GINGER
DOUGH = np.array([0.72, 0.42, 0.18])
ICING = np.array([0.97, 0.96, 0.92])
BUTTONS = (np.array([0.85, 0.12, 0.12]), np.array([0.15, 0.65, 0.20]), np.array([0.95, 0.80, 0.10]))


def _flat_part(sdf: Callable[[np.ndarray], np.ndarray], center: Sequence[float], reach: float, rings: int,
               segments: int, dome: float, z: float) -> tuple[np.ndarray, np.ndarray]:
    """A domed disc-topology patch filling a convex 2-D outline, facing +Z.

    ``sdf`` maps points ``[N, 2]`` to negative inside the outline; rays from ``center`` find the
    outline by bisection up to ``reach``. Ring ``i`` of ``rings`` sits at fraction ``i / rings`` of
    the outline radius, at height ``z + dome · sqrt(1 - s²)``. Returns vertices, faces (CCW from +Z).
    """
    c = np.asarray(center, dtype=np.float64)
    theta = 2 * np.pi * np.arange(segments) / segments
    d = np.stack([np.cos(theta), np.sin(theta)], 1)
    lo, hi = np.zeros(segments), np.full(segments, reach)
    for _ in range(40):
        mid = (lo + hi) / 2
        inside = sdf(c + mid[:, None] * d) < 0
        lo, hi = np.where(inside, mid, lo), np.where(inside, hi, mid)
    s = np.arange(1, rings + 1) / rings
    xy = c + s[:, None, None] * lo[None, :, None] * d[None]          # [rings, segments, 2]
    h = z + dome * np.sqrt(np.clip(1 - s ** 2, 0, 1))
    ring = np.concatenate([xy, np.broadcast_to(h[:, None, None], (rings, segments, 1))], -1).reshape(-1, 3)
    v = np.concatenate([[[c[0], c[1], z + dome]], ring])
    nxt = np.roll(np.arange(segments), -1)
    fan = np.stack([np.zeros(segments, np.int64), 1 + np.arange(segments), 1 + nxt], 1)
    # (ring i, angle j) -> (i+1, j) -> (i+1, j+1) runs outward then counter-clockwise: faces +Z
    bands = 1 + _grid_faces(rings, segments, wrap=True)
    return v, np.concatenate([fan, bands])


def _capsule(a: Sequence[float], b: Sequence[float], r: float) -> Callable[[np.ndarray], np.ndarray]:
    a, b = np.asarray(a, float), np.asarray(b, float)

    def sdf(p: np.ndarray) -> np.ndarray:
        t = np.clip(((p - a) @ (b - a)) / ((b - a) @ (b - a)), 0, 1)
        return np.linalg.norm(p - (a + t[:, None] * (b - a)), axis=1) - r
    return sdf


def _ellipse(c: Sequence[float], radii: Sequence[float]) -> Callable[[np.ndarray], np.ndarray]:
    c, radii = np.asarray(c, float), np.asarray(radii, float)
    return lambda p: np.linalg.norm((p - c) / radii, axis=1) - 1


def make_gingerbread(detail: float = 1.0) -> Mesh:
    """A gingerbread-man cookie: a flat, slightly domed open surface facing +Z, about 1.9 tall.

    Head, body, arms and legs are separate domed patches that overlap at the joints (the head and
    body on top), all in one dough colour, with white icing: eyes, a smile, zigzag cuffs at the
    wrists and ankles, and three coloured buttons. Every vertex is visible from the front. About
    6.7k triangles at ``detail = 1`` (the GINGER scene uses ``detail = 0.5``: 2k).
    """
    if detail <= 0:
        raise ValueError(f"make_gingerbread detail must be positive, got {detail}")
    rings, seg = _count(10, detail, 3), _count(48, detail, 12)
    head_c = np.array([0.0, 0.62])
    arms = [((sx * 0.25, 0.24), (sx * 0.80, 0.10)) for sx in (-1, 1)]
    legs = [((sx * 0.16, -0.30), (sx * 0.40, -0.95)) for sx in (-1, 1)]
    buttons = [np.array([0.0, y]) for y in (0.16, -0.04, -0.24)]

    def icing(v: np.ndarray) -> np.ndarray:
        p = v[:, :2]
        col = np.broadcast_to(DOUGH, v.shape).copy()
        # zigzag cuffs across each limb, 80 % of the way to its tip
        for a, b in arms + legs:
            a, b = np.asarray(a), np.asarray(b)
            axis = (b - a) / np.linalg.norm(b - a)
            t = (p - a) @ axis / np.linalg.norm(b - a)
            across = (p - a) @ np.array([-axis[1], axis[0]])
            zig = 0.03 * np.abs(((across / 0.06) % 2) - 1)
            band = np.abs(t - 0.78 - zig / np.linalg.norm(b - a)) < 0.035 / np.linalg.norm(b - a)
            col[band] = ICING
        rel = p - head_c
        for sx in (-1, 1):  # eyes
            col[np.linalg.norm(rel - (sx * 0.1, 0.07), axis=1) < 0.05] = ICING
        r = np.linalg.norm(rel - (0.0, 0.06), axis=1)  # smile: an arc below the eyes
        col[(np.abs(r - 0.17) < 0.025) & (rel[:, 1] < -0.02)] = ICING
        for bc, colour in zip(buttons, BUTTONS):
            col[np.linalg.norm(p - bc, axis=1) < 0.06] = colour
        return col

    parts = []
    for a, b in arms:
        parts.append(_flat_part(_capsule(a, b, 0.14), np.mean([a, b], 0), 1.0, rings, seg, 0.05, -0.02))
    for a, b in legs:
        parts.append(_flat_part(_capsule(a, b, 0.16), np.mean([a, b], 0), 1.0, rings, seg, 0.05, -0.02))
    parts.append(_flat_part(_ellipse((0.0, -0.05), (0.36, 0.46)), (0.0, -0.05), 1.0, rings + 4, seg + 16, 0.08, 0.0))
    parts.append(_flat_part(_ellipse(head_c, (0.30, 0.29)), head_c, 1.0, rings + 2, seg + 8, 0.08, 0.0))
    verts, faces, off = [], [], 0
    for v, f in parts:
        verts.append(v)
        faces.append(f + off)
        off += len(v)
    v = np.concatenate(verts)
    return mesh_from_arrays(v, np.concatenate(faces), icing(v)).normalized()


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
        transform(plane(2.0, n, WALL_WHITE), rotation=_rotation((1, 0, 0), np.pi), translation=(0, 1, 0)),   # ceiling
        transform(plane(2.0, n, WALL_WHITE), rotation=_rotation((1, 0, 0), np.pi / 2), translation=(0, 0, -1)),  # back
        transform(plane(2.0, n, WALL_RED), rotation=_rotation((0, 0, 1), -np.pi / 2), translation=(-1, 0, 0)),   # left
        transform(plane(2.0, n, WALL_GREEN), rotation=_rotation((0, 0, 1), np.pi / 2), translation=(1, 0, 0)),   # right
    ]
    picture = transform(box((0.8, 0.5, 0.04), color=(0.15, 0.30, 0.75)), translation=(0.25, 0.3, -0.97))
    frame = transform(box((0.9, 0.6, 0.02), color=(0.25, 0.15, 0.08)), translation=(0.25, 0.3, -0.985))
    block = transform(box((0.55, 1.2, 0.55), color=(0.92, 0.78, 0.15)), rotation=_rotation((0, 1, 0), 0.35),
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
    sphere = uv_sphere(1.0, _count(24, detail, 6), _count(48, detail, 8))
    d = sphere.vertices.double().numpy()

    def noise(k: int, base: float) -> np.ndarray:
        w = rng.normal(size=(k, 3))
        freq = base * 2.0 ** rng.integers(0, 3, size=k)
        phase = rng.uniform(0, 2 * np.pi, size=k)
        return (np.sin((d @ w.T) * freq + phase) / freq).sum(1)

    radius = 1 + roughness * noise(12, 1.5)
    v = d * radius[:, None] * np.array([1.0, 0.7, 0.85])
    shade = _smoothstep(-0.4, 0.4, noise(8, 2.0))
    col = _mix(np.broadcast_to(np.array([0.45, 0.42, 0.38]), v.shape), np.array([0.68, 0.64, 0.58]), shade)
    moss = _smoothstep(0.45, 0.75, d[:, 1]) * _smoothstep(0.0, 0.3, noise(6, 3.0))
    col = _mix(col, np.array([0.30, 0.45, 0.18]), 0.8 * moss)
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
