"""Built-in figures: the BUDDHA scene's seated figure and the GINGER scene's gingerbread man.

Each generator returns a :class:`~drot.scene.mesh.Mesh` normalized to a unit bounding box and
centred at the origin, +Y up, facing +Z, with per-vertex colours. Same arguments, same tensors.

* :func:`make_buddha`     — BUDDHA: a seated figure on a lotus pedestal (no rotational symmetry);
* :func:`make_gingerbread`— GINGER: a flat gingerbread-man cookie with icing (an open surface facing +Z).
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from ..kit import cylinder, ellipsoid, grid_faces, mix, segment_count, smoothstep, transform, tube, uv_sphere
from ..mesh import Mesh, mesh_from_arrays


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
        return segment_count(base, detail, minimum)

    parts: list[Mesh] = []
    # -- pedestal: a leaf-green disc under a pink drum (round: no angle looks alike because of it)
    # narrower than the crossed legs, so that the legs and knees are seen from below too
    parts.append(cylinder(0.78, 0.12, dn(40), (0.0, 0.06, 0.0), LEAF))
    parts.append(cylinder(0.70, 0.24, dn(40), (0.0, 0.24, 0.0),
                          lambda v: mix(np.broadcast_to(LOTUS, v.shape), np.array([0.97, 0.85, 0.88]),
                                         smoothstep(0.2, 0.36, v[:, 1]))))

    # -- crossed legs: a wide flattened lap, two knees, the soles of the feet on top
    parts.append(ellipsoid((0.88, 0.24, 0.55), dn(16), dn(28), (0.0, 0.56, 0.12), ROBE))
    for sx in (-1, 1):
        parts.append(ellipsoid((0.30, 0.22, 0.32), dn(10), dn(16), (sx * 0.62, 0.55, 0.33), ROBE))
        parts.append(ellipsoid((0.16, 0.06, 0.10), dn(6), dn(12), (sx * 0.28, 0.77, 0.42), GOLD))

    # -- torso: robe over the left shoulder, bare right shoulder and chest
    def robe_color(v):
        bare = smoothstep(0.05, 0.2, v[:, 0] - 0.55 * (v[:, 1] - 1.05)) * smoothstep(1.05, 1.2, v[:, 1])
        return mix(np.broadcast_to(ROBE, v.shape), GOLD, bare)

    parts.append(ellipsoid((0.50, 0.68, 0.34), dn(18), dn(28), (0.0, 1.25, 0.0), robe_color))
    parts.append(ellipsoid((0.40, 0.32, 0.30), dn(12), dn(20), (0.0, 1.02, 0.10), ROBE))  # belly
    parts.append(cylinder(0.14, 0.25, dn(16), (0.0, 1.90, 0.0), GOLD))                    # neck

    # -- head: golden face, blue hair cap and top-knot, long ears, nose, closed eyes
    head_c = np.array([0.0, 2.17, 0.02])

    def head_color(v):
        rel = v - head_c
        hair = smoothstep(0.06, 0.12, rel[:, 1] - 0.25 * rel[:, 2])
        return mix(np.broadcast_to(GOLD, v.shape), HAIR, hair)

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
    bands = 1 + grid_faces(rings, segments, wrap=True)
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


def make_gingerbread(detail: float = 1.0, flat: bool = False) -> Mesh:
    """A gingerbread-man cookie: a flat, slightly domed open surface facing +Z, about 1.9 tall
    (``flat=True``: no dome, a 2-D shape whose parts lie in planes 0.02 apart, head and body on top).

    Head, body, arms and legs are separate domed patches that overlap at the joints (the head and
    body on top), all in one dough colour, with white icing: eyes, a smile, zigzag cuffs at the
    wrists and ankles, and three coloured buttons. Every vertex is visible from the front. About
    6.7k triangles at ``detail = 1`` (the GINGER scene uses ``detail = 0.5``: 2k).
    """
    if detail <= 0:
        raise ValueError(f"make_gingerbread detail must be positive, got {detail}")
    rings, seg = segment_count(10, detail, 3), segment_count(48, detail, 12)
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

    dome = 0.0 if flat else 1.0
    parts = []
    for a, b in arms:
        parts.append(_flat_part(_capsule(a, b, 0.14), np.mean([a, b], 0), 1.0, rings, seg, 0.05 * dome, -0.02))
    for a, b in legs:
        parts.append(_flat_part(_capsule(a, b, 0.16), np.mean([a, b], 0), 1.0, rings, seg, 0.05 * dome, -0.02))
    parts.append(_flat_part(_ellipse((0.0, -0.05), (0.36, 0.46)), (0.0, -0.05), 1.0, rings + 4, seg + 16,
                            0.08 * dome, 0.0))
    parts.append(_flat_part(_ellipse(head_c, (0.30, 0.29)), head_c, 1.0, rings + 2, seg + 8, 0.08 * dome, 0.0))
    verts, faces, off = [], [], 0
    for v, f in parts:
        verts.append(v)
        faces.append(f + off)
        off += len(v)
    v = np.concatenate(verts)
    return mesh_from_arrays(v, np.concatenate(faces), icing(v)).normalized()
