"""The early phases of a multi-start run at reduced resolution.

While successive halving still has several starts to choose from, each start only has to reach
its basin, not the last pixel of accuracy: the phases before the last halving render, match and
rank at ``coarse_scale`` of the scene's resolution (a quarter of the pixels at 0.5; the dense
matching's cost falls with the square of the point count), and the one surviving start finishes
at full resolution. This module builds the reduced-resolution problem — the scene, the target and
the state to render — from the full one; the loop owns when it is used.
"""
from __future__ import annotations

import dataclasses

from ..render.state import SceneState
from ..scene.scene import Scene
from .multiscale import downsample
from .targets import Goal

#: Short side below which a coarse phase loses the detail that tells a pose (pixels): on
#: benchmarks/any_angle.py (64² scenes) phases at 32² converged 38/40 instead of 40/40, and a
#: teapot start that converges at 64² turned the wrong way at 32² and 48².
MIN_COARSE_SIDE = 64


def coarse_resolution(resolution: tuple[int, int], scale: float) -> tuple[int, int] | None:
    """``(h, w)`` of the coarse phases, or None when ``scale`` is 1 or the result would be smaller than
    :data:`MIN_COARSE_SIDE` on its short side (too little detail left)."""
    if scale >= 1.0:
        return None
    h, w = (max(1, int(round(r * scale))) for r in resolution)
    if min(h, w) < MIN_COARSE_SIDE or (h, w) == tuple(resolution):
        return None
    return h, w


@dataclasses.dataclass(frozen=True)
class CoarseProblem:
    """The scene and target at the coarse resolution (same cameras, parameters and appearance)."""

    scene: Scene
    goal: Goal

    @classmethod
    def of(cls, scene: Scene, goal: Goal, size: tuple[int, int]) -> "CoarseProblem":
        """``scene`` and ``goal`` area-downsampled to ``size = (h, w)``; a foreground mask stays a
        mask (a coarse pixel is foreground when at least half of it was)."""
        background = None if scene.background is None else downsample(scene.background, size)
        coarse_scene = dataclasses.replace(scene, resolution=size, background=background)
        mask = None if goal.mask is None else \
            downsample(goal.mask.to(goal.images.dtype)[..., None], size)[..., 0] >= 0.5
        coarse_goal = dataclasses.replace(goal, images=downsample(goal.images, size), mask=mask)
        return cls(coarse_scene, coarse_goal)

    def state(self, state: SceneState) -> SceneState:
        """``state`` (evaluated by the full scene) ready to render at the coarse resolution: only the
        background image depends on the resolution."""
        if state.background is None:
            return state
        return dataclasses.replace(state, background=self.scene.background.to(state.background))

