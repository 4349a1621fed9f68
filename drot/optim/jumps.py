"""Discrete jumps between look-alike poses: leave a basin that gradients cannot.

An object turned by a symmetry of its silhouette (a cube turned 90° about an axis, a figure turned
half-way round) sits in a local minimum of every image loss: the silhouette matches, and the wrong
colours facing a camera are pulled into place by recolouring, not by turning. Gradient steps do not
leave such a pose; a discrete proposal does. Every ``jump_interval`` of the run (up to the end of
the RGBXY phase) each start's rotations are composed with the proposals below, every proposal is
scored by its image loss over every view (one batched render), and a start jumps to its best
proposal when that is lower than where it stands (nvdiffrast's pose sample does a greedy search
with such flips for the first half of its run).

Proposals per rotation parameter (each varied alone, the other parameters kept):

* a 3-D rotation (``rotation`` axis-angle [3], ``euler`` [3]): the current rotation ``M`` composed
  with each of the 23 non-identity rotations ``G`` of the cube group in the object's own frame,
  ``M · G`` (the look-alikes of a box, and the half-turns of any object);
* an angle about a fixed axis (``rotation`` [1]): the angle plus a quarter, a half and three quarters
  of a turn.
"""
from __future__ import annotations

import itertools
import math

import torch

from ..render.backend import RasterBackend
from ..scene.kinds import axis_angle_matrix, euler_matrix
from ..scene.scene import Scene
from .halving import image_losses
from .starts import euler_angles, matrix_quaternion, rotation_vectors
from .targets import Goal


def jump_iterations(iterations: int, interval: float, last: int) -> list[int]:
    """The iterations after whose step proposals are scored: every ``interval`` of the run, up to
    and including iteration ``last`` (the last RGBXY iteration), never the run's last iteration."""
    if interval <= 0:
        return []
    out, k = [], 1
    while True:
        it = int(round(k * interval * iterations)) - 1
        if it > min(last, iterations - 2):
            break
        out.append(max(it, 0))
        k += 1
    return sorted(set(out))


def cube_group(dtype=torch.float32, device=None) -> torch.Tensor:
    """The 24 rotations of the cube group ``[24, 3, 3]`` (signed permutation matrices of determinant
    +1), the identity first."""
    mats = []
    for perm in itertools.permutations(range(3)):
        for signs in itertools.product((1.0, -1.0), repeat=3):
            m = torch.zeros(3, 3, dtype=torch.float64)
            for row, (col, sign) in enumerate(zip(perm, signs)):
                m[row, col] = sign
            if torch.det(m) > 0:
                mats.append(m)
    mats.sort(key=lambda m: -float(torch.trace(m)))  # the identity (trace 3) first
    return torch.stack(mats).to(dtype=dtype, device=device)


def matrix_to_axis_angle(m: torch.Tensor) -> torch.Tensor:
    """Axis-angle ``[..., 3]`` (angle in [0, π]) of rotation matrices ``[..., 3, 3]``."""
    flat = m.double().reshape(-1, 3, 3)
    return rotation_vectors(matrix_quaternion(flat)).reshape(*m.shape[:-2], 3).float()


def matrix_to_euler(m: torch.Tensor) -> torch.Tensor:
    """Euler angles ``[..., 3]`` (x, then y, then z: ``M = Rz Ry Rx``) of rotation matrices ``[..., 3, 3]``."""
    return euler_angles(m.double().reshape(-1, 3, 3)).reshape(*m.shape[:-2], 3).float()


def proposals(kind: str, axis: torch.Tensor | None, value: torch.Tensor) -> torch.Tensor:
    """Look-alike values ``[S, P, *shape]`` of one rotation parameter's values ``value`` ``[S, *shape]``
    (see the module docstring); empty (``P = 0``) for kinds that are not rotations."""
    if kind == "rotation" and axis is not None:
        turns = torch.tensor([0.5, 1.0, 1.5], dtype=value.dtype, device=value.device) * math.pi
        return value[:, None, :] + turns[None, :, None]
    if kind not in ("rotation", "euler"):
        return value[:, :0]
    group = cube_group(torch.float64, value.device)[1:]  # [23, 3, 3]
    current = (axis_angle_matrix(value.double()) if kind == "rotation" else euler_matrix(value.double()))
    composed = current[:, None] @ group[None]  # M · G: G acts in the object's own frame
    out = matrix_to_axis_angle(composed) if kind == "rotation" else matrix_to_euler(composed)
    return out.to(value.dtype)


def propose_jumps(scene: Scene, goal: Goal, backend: RasterBackend, values: dict[str, torch.Tensor],
                  fixed: tuple[str, ...], current: torch.Tensor | None = None, chunk: int = 16
                  ) -> tuple[dict[int, dict[str, torch.Tensor]], torch.Tensor, torch.Tensor]:
    """Each start's best look-alike proposal, where it lowers the image loss.

    Args:
        scene, goal, backend: where to score (the loop's, or its coarse phase's).
        values: name → ``[S, *shape]`` current values of every start (detached).
        fixed: parameters not optimised (never proposed).
        current: the starts' image losses ``[S]`` where known (else rendered here).
        chunk: proposals evaluated per batch (bounds memory: each is every view rendered).

    Returns:
        ``(jumps, current, best)``: start index → its new values (only starts whose best proposal is
        lower than ``current``), the current image losses ``[S]`` and the best proposal's ``[S]``
        (``inf`` where the scene has no rotation to propose for).
    """
    with torch.no_grad():
        if current is None:
            current = image_losses(scene, scene.evaluate(values), goal, backend)
        n = current.shape[0]
        best = torch.full_like(current, math.inf)
        choice: dict[int, dict[str, torch.Tensor]] = {}
        for p in scene.parameters:
            if p.name in fixed:
                continue
            cand = proposals(p.kind, p.axis, values[p.name])  # [S, P, *shape]
            count = cand.shape[1]
            if count == 0:
                continue
            flat = cand.reshape(n * count, *cand.shape[2:])
            losses = []
            for c in range(0, n * count, chunk):
                rows = torch.arange(c, min(c + chunk, n * count), device=flat.device)
                batch = {k: (flat[rows] if k == p.name else v[rows // count]) for k, v in values.items()}
                losses.append(image_losses(scene, scene.evaluate(batch), goal, backend))
            loss = torch.cat(losses).view(n, count)
            low, arg = loss.min(1)
            for s in range(n):
                if low[s] < best[s]:
                    best[s] = low[s]
                    choice[s] = {**{k: v[s] for k, v in values.items()}, p.name: cand[s, arg[s]]}
        jumps = {s: v for s, v in choice.items() if best[s] < current[s]}
        return jumps, current, best
