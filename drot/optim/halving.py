"""Successive halving of a multi-start batch: when to rank the starts, how, and which go on.

Every ``halving_interval`` of the iterations the starts are ranked by their image loss over every
view (one render of every ``(start, view)`` entry) and the better ``keep_fraction`` go on, until one
is left, so ``S = 8`` starts at an interval of 0.25 cost 8·0.25 + 4·0.25 + 2·0.25 + 0.25 = 3.75 runs
of work before batching.
"""
from __future__ import annotations

import math

import torch

from ..render.backend import RasterBackend
from ..render.renderer import render
from ..render.state import SceneState
from ..scene.scene import Scene
from .targets import Goal

#: Renders per batch when ranking starts (starts x views), to bound memory.
RANK_CHUNK = 64


def halving_iterations(iterations: int, starts: int, interval: float, keep: float) -> list[int]:
    """The iterations after whose step the starts are ranked and thinned (until one is left)."""
    if interval <= 0 or starts <= 1:
        return []
    out, alive, k = [], starts, 1
    while alive > 1:
        it = int(round(k * interval * iterations)) - 1
        if it >= iterations - 1:
            break
        out.append(max(it, 0))
        alive, k = max(1, math.ceil(alive * keep)), k + 1
    return sorted(set(out))


def image_losses(scene: Scene, state: SceneState, goal: Goal, backend: RasterBackend) -> torch.Tensor:
    """Mean squared error over every view of each start's renders against the target images ``[S]``
    (``state`` with a start axis)."""
    views, starts = scene.num_views, state.starts
    entries = [(s, v) for s in range(starts) for v in range(views)]
    out = []
    with torch.no_grad():
        for c in range(0, len(entries), RANK_CHUNK):
            chunk = entries[c: c + RANK_CHUNK]
            images = render(state, [v for _, v in chunk], scene.resolution, backend,
                            starts=[s for s, _ in chunk]).image
            out.append((images.clamp(0, 1) - goal.images[[v for _, v in chunk]].clamp(0, 1)).square().flatten(1).mean(1))
    return torch.cat(out).view(starts, views).mean(1)


def keep_best(loss: torch.Tensor, keep: float, last: bool) -> tuple[list[int], int]:
    """The starts ordered best first (stable) and how many go on: the better ``keep`` share (at
    least one), or all of them at the end of the run."""
    order = torch.argsort(loss, stable=True).tolist()
    return order, len(order) if last else max(1, math.ceil(len(order) * keep))
