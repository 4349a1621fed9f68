"""Where the starts of a multi-start run begin: start 0 is the single run's seeded random start, the
others cover the parameter space.

With ``start_set="sobol"`` the other starts are a scrambled Sobol sequence (seeded): a 3-D
rotation (``rotation`` without an axis, ``euler``) gets three Sobol coordinates turned into a
uniformly distributed rotation (Shoemake's map of the unit cube onto unit quaternions), so the
starts cover SO(3) — every orientation, not only the ``init_range`` box, since the local minima
that defeat a single start are the far-away ones (an object turned ~90° or ~180°); an angle about
a fixed axis gets one coordinate spread over [-π, π] (or its ``init_range`` when that is
narrower); every other drawn parameter gets one coordinate per element, scaled to its
``init_range`` box. Rotations are spread even when their start is fixed (a manual start, as in
the paper's JOINT): start 0 keeps the manual value, the others turn the object every way. Other
fixed starts (``initial``) are the same in every start. Parameters with more than
:data:`MAX_SOBOL_DIMS` elements (textures, vertex offsets) are drawn at random, as are all
parameters with ``start_set="random"``.
"""
from __future__ import annotations

import math

import torch

from ..scene.scene import Scene

#: A parameter with more elements than this is drawn at random rather than from the Sobol set.
MAX_SOBOL_DIMS = 64


def _is_rotation3(p) -> bool:
    return p.kind == "euler" or (p.kind == "rotation" and p.axis is None and tuple(p.target.shape) == (3,))


def _is_angle(p) -> bool:
    return p.kind == "rotation" and p.axis is not None


def _box(p) -> tuple[float, float]:
    """Where a Sobol coordinate of ``p`` is scaled to: its init_range, or [-π, π] for a fixed angle."""
    if _is_angle(p):
        lo, hi = p.init_range if p.init_range is not None else (-math.pi, math.pi)
        return max(lo, -math.pi), min(hi, math.pi)
    return p.init_range


def uniform_rotations(u: torch.Tensor) -> torch.Tensor:
    """Unit quaternions ``[K, 4]`` (w, x, y, z; w >= 0) from points ``[K, 3]`` of the unit cube
    (Shoemake 1992: uniform points map to uniformly distributed rotations)."""
    u = u.double()
    a, b = torch.sqrt(1 - u[:, 0]), torch.sqrt(u[:, 0])
    t1, t2 = 2 * math.pi * u[:, 1], 2 * math.pi * u[:, 2]
    q = torch.stack([b * torch.cos(t2), a * torch.sin(t1), a * torch.cos(t1), b * torch.sin(t2)], 1)
    return torch.where(q[:, :1] < 0, -q, q)


def quaternion_matrix(q: torch.Tensor) -> torch.Tensor:
    """Rotation matrices ``[K, 3, 3]`` of unit quaternions ``[K, 4]`` (w, x, y, z)."""
    w, x, y, z = q.unbind(1)
    return torch.stack([
        torch.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], 1),
        torch.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], 1),
        torch.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], 1)], 1)


def euler_angles(matrix: torch.Tensor) -> torch.Tensor:
    """Euler angles ``[K, 3]`` (x, then y, then z: ``R = Rz Ry Rx``, the inverse of
    :func:`drot.scene.kinds.euler_matrix`; round trip tested) of ``[K, 3, 3]``."""
    r = matrix
    x = torch.atan2(r[:, 2, 1], r[:, 2, 2])
    y = torch.asin((-r[:, 2, 0]).clamp(-1, 1))
    z = torch.atan2(r[:, 1, 0], r[:, 0, 0])
    # Gimbal lock (y = ±π/2, exact for quarter turns such as the jumps' cube group): only x ∓ z is
    # defined and the atan2s above read 0/0; put it all in x.
    locked = r[:, 2, 0].abs() > 1 - 1e-9
    x = torch.where(locked, torch.atan2(-r[:, 1, 2], r[:, 1, 1]), x)
    z = torch.where(locked, torch.zeros_like(z), z)
    return torch.stack([x, y, z], 1)


def matrix_quaternion(m: torch.Tensor) -> torch.Tensor:
    """Unit quaternions ``[K, 4]`` (w, x, y, z; w >= 0) of rotation matrices ``[K, 3, 3]`` (the
    inverse of :func:`quaternion_matrix`; Shepperd's method — the largest component is computed
    first — so it stays accurate near a half-turn)."""
    trace = m[:, 0, 0] + m[:, 1, 1] + m[:, 2, 2]
    cands = torch.stack([1 + trace, 1 + 2 * m[:, 0, 0] - trace, 1 + 2 * m[:, 1, 1] - trace,
                         1 + 2 * m[:, 2, 2] - trace], -1)
    r = torch.sqrt(cands.clamp_min(1e-30))
    d = 2 * r
    sym = lambda i, j: m[:, i, j] + m[:, j, i]  # noqa: E731
    skew = lambda i, j: m[:, i, j] - m[:, j, i]  # noqa: E731
    rows = torch.stack([
        torch.stack([r[:, 0] / 2, skew(2, 1) / d[:, 0], skew(0, 2) / d[:, 0], skew(1, 0) / d[:, 0]], -1),
        torch.stack([skew(2, 1) / d[:, 1], r[:, 1] / 2, sym(0, 1) / d[:, 1], sym(0, 2) / d[:, 1]], -1),
        torch.stack([skew(0, 2) / d[:, 2], sym(0, 1) / d[:, 2], r[:, 2] / 2, sym(1, 2) / d[:, 2]], -1),
        torch.stack([skew(1, 0) / d[:, 3], sym(0, 2) / d[:, 3], sym(1, 2) / d[:, 3], r[:, 3] / 2], -1)], 1)
    q = rows[torch.arange(m.shape[0], device=m.device), cands.argmax(-1)]
    q = q / q.norm(dim=-1, keepdim=True)
    return torch.where(q[:, :1] < 0, -q, q)


def rotation_vectors(q: torch.Tensor) -> torch.Tensor:
    """Axis-angle vectors ``[K, 3]`` (angle in [0, π]) of unit quaternions ``[K, 4]`` with w >= 0."""
    angle = 2 * torch.acos(q[:, 0].clamp(-1, 1))
    sin_half = torch.sqrt((1 - q[:, 0] ** 2).clamp_min(0))
    axis = q[:, 1:] / sin_half.clamp_min(1e-12)[:, None]
    return axis * angle[:, None]


def start_set(scene: Scene, seed: int, count: int, kind: str = "sobol") -> list[dict[str, torch.Tensor]]:
    """``count`` start values (name → tensor) for ``scene``; the first is ``scene.initial_values(seed)``."""
    first = scene.initial_values(seed)
    if count == 1:
        return [first]
    starts = [dict(first) for _ in range(count - 1)]
    drawn = [p for p in scene.parameters if p.initial is None or _is_rotation3(p) or _is_angle(p)]
    rng = torch.Generator().manual_seed(int(seed) * 7919 + 17)
    sobol_params = [] if kind == "random" else [
        p for p in drawn if _is_rotation3(p) or p.target.numel() <= MAX_SOBOL_DIMS]
    dims = sum(3 if _is_rotation3(p) else p.target.numel() for p in sobol_params)
    points = (torch.quasirandom.SobolEngine(dims, scramble=True, seed=int(seed)).draw(count - 1).double()
              if dims else None)
    column = 0
    for p in drawn:
        if p in sobol_params:
            width = 3 if _is_rotation3(p) else p.target.numel()
            u = points[:, column: column + width]
            column += width
            if _is_rotation3(p):
                q = uniform_rotations(u)
                values = euler_angles(quaternion_matrix(q)) if p.kind == "euler" else rotation_vectors(q)
            else:
                lo, hi = _box(p)
                values = lo + (hi - lo) * u
            for k in range(count - 1):
                starts[k][p.name] = values[k].to(torch.float32).reshape(p.target.shape)
        elif p.initial is None:
            for k in range(count - 1):
                starts[k][p.name] = p.sample_initial(rng)
    return [first, *starts]
