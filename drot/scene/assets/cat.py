"""The KITTY scene's cat: a stylised ginger tabby built from the mesh kit's primitives.

Like every kit generator it reads no file and uses no randomness; it faces +Z, +Y up, and its
stripes come from ``color`` callables of the vertex positions.
"""
from __future__ import annotations

import numpy as np

from ..kit import cone, ellipsoid, mix, paint, rotation_matrix, segment_count, smoothstep, transform, tube, uv_sphere
from ..mesh import Mesh

GINGER = np.array([0.93, 0.55, 0.20])
STRIPE = np.array([0.62, 0.28, 0.07])
WHITE = np.array([0.97, 0.95, 0.91])
PINK = np.array([0.95, 0.62, 0.66])
NOSE = np.array([0.55, 0.25, 0.28])
IRIS = np.array([0.40, 0.55, 0.10])
PUPIL = np.array([0.03, 0.03, 0.03])


def _bands(x: np.ndarray, period: float, width: float = 0.35) -> np.ndarray:
    """Soft stripes in [0, 1]: 1 on a band of relative ``width`` every ``period`` along ``x``."""
    s = 0.5 + 0.5 * np.cos(2 * np.pi * x / period)
    return smoothstep(1 - width, 1 - width + 0.15, s)


def _catmull_rom(ctrl: np.ndarray, n: int) -> np.ndarray:
    """``n`` points [n, 3] on the uniform Catmull-Rom spline through the points ``ctrl`` [m, 3]."""
    c = np.concatenate([2 * ctrl[:1] - ctrl[1:2], ctrl, 2 * ctrl[-1:] - ctrl[-2:-1]])
    u = np.linspace(0.0, len(ctrl) - 1, n)
    i = np.minimum(u.astype(int), len(ctrl) - 2)
    s = (u - i)[:, None]
    p0, p1, p2, p3 = c[i], c[i + 1], c[i + 2], c[i + 3]
    return 0.5 * (2 * p1 + (-p0 + p2) * s + (2 * p0 - 5 * p1 + 4 * p2 - p3) * s ** 2
                  + (-p0 + 3 * p1 - 3 * p2 + p3) * s ** 3)


def make_cat(detail: float = 1.0) -> Mesh:
    """The KITTY scene's stylised ginger tabby cat, standing on four legs, facing +Z, up +Y.

    Built from primitives (ellipsoid body, head, flattened-cone ears with pink insides, white
    muzzle, chest and paws, striped legs, a curled striped tube tail, dark eyes and nose) and
    normalized (bounding box longest side 1, centred at the origin). ``detail`` scales every
    tessellation count: about 6k triangles at 1, roughly ``detail**2`` times that above.
    """
    if detail <= 0:
        raise ValueError(f"make_cat detail must be positive, got {detail}")

    def dn(base: int, minimum: int = 3) -> int:
        return segment_count(base, detail, minimum)

    parts: list[Mesh] = []

    # -- body: an ellipsoid with its poles along Z so latitude rings run across the stripes
    body_c, body_r = np.array([0.0, 1.0, 0.0]), np.array([0.42, 0.40, 0.88])

    def body_color(v):
        rel = (v - body_c) / body_r
        stripes = _bands(v[:, 2] + 0.12 * rel[:, 1], 0.34) * smoothstep(-0.2, 0.3, rel[:, 1])
        c = mix(np.broadcast_to(GINGER, v.shape), STRIPE, 0.85 * stripes)
        belly = smoothstep(-0.55, -0.8, rel[:, 1])                         # white underside
        chest = smoothstep(0.55, 0.8, rel[:, 2]) * smoothstep(0.45, 0.0, rel[:, 1])
        return mix(c, WHITE, np.maximum(belly, chest))

    body = transform(uv_sphere(1.0, dn(32), dn(28)), scale=body_r[[0, 2, 1]],
                     rotation=rotation_matrix((1, 0, 0), np.pi / 2), translation=body_c)
    parts.append(paint(body, body_color))
    # haunches: bulges over the back legs
    for sx in (-1, 1):
        parts.append(ellipsoid((0.17, 0.30, 0.32), dn(10), dn(14), (sx * 0.24, 0.88, -0.50), body_color))

    # -- neck and head
    head_c, head_r = np.array([0.0, 1.62, 1.0]), np.array([0.40, 0.35, 0.36])

    def neck_color(v):
        front = smoothstep(0.75, 0.95, v[:, 2]) * smoothstep(1.45, 1.2, v[:, 1])
        return mix(np.broadcast_to(GINGER, v.shape), WHITE, front)

    parts.append(ellipsoid((0.30, 0.34, 0.30), dn(12), dn(16), (0.0, 1.32, 0.72), neck_color))

    def head_color(v):
        rel = (v - head_c) / head_r
        # tabby "M": three forehead stripes running front to back across the crown
        forehead = smoothstep(0.3, 0.55, rel[:, 1]) * smoothstep(-0.4, 0.2, rel[:, 2])
        lines = _bands(v[:, 0] + 0.055, 0.11, 0.3) * (np.abs(v[:, 0]) < 0.16)
        # side stripes on the cheeks
        cheek = _bands(v[:, 1] - 1.6, 0.1, 0.3) * smoothstep(0.8, 0.95, np.abs(rel[:, 0]))
        c = mix(np.broadcast_to(GINGER, v.shape), STRIPE, 0.9 * np.maximum(forehead * lines, cheek))
        chin = smoothstep(-0.35, -0.75, rel[:, 1]) * smoothstep(0.0, 0.5, rel[:, 2])
        return mix(c, WHITE, chin)

    parts.append(ellipsoid(head_r, dn(20), dn(30), head_c, head_color))

    # -- muzzle: two white cheek lobes and a chin, a dark pink nose on top
    for sx in (-1, 1):
        parts.append(ellipsoid((0.12, 0.09, 0.09), dn(8), dn(12), (sx * 0.085, 1.50, 1.29), WHITE))
    parts.append(ellipsoid((0.08, 0.06, 0.07), dn(8), dn(12), (0.0, 1.43, 1.26), WHITE))
    parts.append(ellipsoid((0.05, 0.035, 0.03), dn(6), dn(10), (0.0, 1.575, 1.37), NOSE))

    # -- eyes: a green iris sphere sunk into the head surface with a black slit pupil in front
    for sx in (-1, 1):
        d = np.array([sx * 0.42, 0.22, 0.88])
        d /= np.linalg.norm(d)
        surf = head_c + head_r * d
        nrm = d / head_r
        nrm /= np.linalg.norm(nrm)
        parts.append(uv_sphere(0.075, dn(6), dn(10), surf - 0.045 * nrm, IRIS))
        parts.append(ellipsoid((0.022, 0.05, 0.022), dn(4), dn(8), surf + 0.022 * nrm, PUPIL))

    # -- ears: flattened cones tilted outwards, a smaller pink cone on the front face
    for sx in (-1, 1):
        rot = rotation_matrix((0, 0, 1), -sx * 0.38) @ rotation_matrix((1, 0, 0), -0.12)
        base = head_c + np.array([sx * 0.21, 0.22, -0.04])
        outer = cone(0.16, 0.34, dn(16), (0.0, 0.17, 0.0), GINGER)
        inner = cone(0.11, 0.25, dn(16), (0.0, 0.14, 0.0), PINK)
        parts.append(transform(outer, (1.0, 1.0, 0.38), rot, base))
        parts.append(transform(inner, (1.0, 1.0, 0.25), rot, base + rot @ np.array([0.0, 0.0, 0.035])))

    # -- legs: tapered tubes with bands, white socks, white paws
    def leg_color(v):
        c = mix(np.broadcast_to(GINGER, v.shape), STRIPE, 0.8 * _bands(v[:, 1] - 0.12, 0.24, 0.3))
        return mix(c, WHITE, smoothstep(0.3, 0.2, v[:, 1]))

    for sx in (-1, 1):
        for z in (0.55, -0.52):
            top = 0.95 if z > 0 else 0.85
            ys = np.linspace(top, 0.08, dn(12))
            pts = np.stack([np.full_like(ys, sx * 0.22), ys, np.full_like(ys, z)], 1)
            parts.append(tube(pts, np.linspace(0.125, 0.1, len(ys)), dn(12), leg_color))
            parts.append(ellipsoid((0.12, 0.07, 0.16), dn(6), dn(12), (sx * 0.22, 0.07, z + 0.04), WHITE))

    # -- tail: a curling tube from the rump, ringed with stripes, tapering to a rounded tip
    ctrl = np.array([[0.0, 1.05, -0.70], [0.0, 1.10, -1.02], [0.0, 1.40, -1.30],
                     [0.02, 1.85, -1.38], [0.06, 2.20, -1.22], [0.10, 2.32, -0.98]])
    path = _catmull_rom(ctrl, dn(32, 8))
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(path, axis=0), axis=1))])
    radii = np.linspace(0.09, 0.055, len(path))
    tail_cols = mix(np.broadcast_to(GINGER, path.shape), STRIPE, 0.85 * _bands(arc - 0.25, 0.26, 0.35))
    parts.append(tube(path, radii, dn(12), tail_cols))
    parts.append(uv_sphere(radii[-1], dn(6), dn(12), path[-1], tail_cols[-1]))  # rounded tip

    return Mesh.concatenate(parts).normalized()
