"""Checks of a run that the settings alone cannot make, before and after the loop.

* :func:`check_run_settings` — settings that depend on the scene (``frame_view`` within its views, a
  resolution the final scores can be computed at — refused before the loop, not after it);
* :func:`check_foreground` — a target that shows nothing is refused (it would be "matched" by any
  render that also shows nothing, and scored PSNR inf / SSIM 1); views without foreground are
  reported (a warning, and ``OptimizationResult.empty_target_views``);
* :func:`run_report` — what the loop actually did: iterations by mode, and notes where the
  strategy could not be applied as asked (e.g. ``hybrid`` without a single RGBXY iteration),
  each also issued as a warning.
"""
from __future__ import annotations

import collections
import warnings
from typing import Any, Sequence

from .. import metrics
from ..scene.scene import Scene
from .schedule import GradientSchedule
from .settings import OptimizeSettings
from .targets import Goal

#: Why a target rendered from parameter values can show nothing.
EMPTY_RENDER_CAUSES = ("the cameras look away from the object; the near/far planes exclude it (far closer than the "
                       "object, or near beyond it); the mesh's triangles have zero area (e.g. an OBJ file whose "
                       "faces count vertices from 0: OBJ counts from 1); the object is scaled or moved out of view")


def check_run_settings(settings: OptimizeSettings, scene: Scene) -> None:
    """Refuse settings that are out of range for ``scene``."""
    h, w = scene.resolution
    if min(h, w) < metrics.SSIM_MIN_SIDE:
        raise ValueError(f"scene {scene.name!r} renders at {h}x{w} pixels; a run needs at least "
                         f"{metrics.SSIM_MIN_SIDE}x{metrics.SSIM_MIN_SIDE} (the result's SSIM window): pass "
                         f"resolution >= {metrics.SSIM_MIN_SIDE}")
    view = settings.recording.frame_view
    if view >= scene.num_views:
        raise ValueError(f"frame_view={view} is out of range: scene {scene.name!r} has {scene.num_views} view(s), "
                         f"numbered 0 to {scene.num_views - 1}")


def _views(views: Sequence[int]) -> str:
    return ", ".join(str(v) for v in views)


def check_foreground(goal: Goal, scene: Scene, stacklevel: int = 3) -> tuple[int, ...]:
    """The views whose target shows no foreground (warned about); raises when no view shows any."""
    shown = goal.foreground().flatten(1).any(1).tolist()
    empty = tuple(v for v, s in enumerate(shown) if not s)
    n = len(shown)
    if len(empty) == n:
        if goal.source == "rendered":
            why = (f"the target render of scene {scene.name!r} covers no pixel in any of its {n} view(s). "
                   f"Possible causes: {EMPTY_RENDER_CAUSES}")
        elif goal.source == "alpha":
            why = f"the alpha channel of every target image is below 0.5 everywhere ({n} view(s))"
        else:
            why = (f"every target image is black ({n} view(s)): without an alpha channel the foreground is the "
                   f"non-black pixels; give RGBA images whose alpha marks the object")
        raise ValueError(f"the target shows nothing to match: {why}")
    if empty:
        what = {"rendered": "the target render covers no pixel", "alpha": "the target's alpha is zero",
                "images": "the target image is black"}[goal.source]
        warnings.warn(f"drot.optimize: target view(s) {_views(empty)} of {n} show no foreground ({what}); RGBXY "
                      f"iterations that draw them fall back to standard derivatives", UserWarning,
                      stacklevel=stacklevel)
    return empty


def run_report(history: Sequence[dict[str, Any]], schedule: GradientSchedule, empty_views: tuple[int, ...],
               stacklevel: int = 3, rgbxy_moves: bool = True) -> tuple[dict[str, int], tuple[str, ...]]:
    """``(iterations by mode, notes)`` of a finished run; each note about the loop is also warned about.
    ``rgbxy_moves=False``: no free parameter takes RGBXY derivatives (``appearance_gradients="standard"``
    with appearance parameters only), so no RGBXY iteration was planned."""
    by_mode = dict(collections.Counter(h["mode"] for h in history))
    planned = sum(schedule.uses_rgbxy(it) for it in range(len(history))) if rgbxy_moves else 0
    ran = by_mode.get("rgbxy", 0)
    name = schedule.strategy.name
    notes = []
    if planned and not ran:
        notes.append(f"strategy {name!r} ran no RGBXY iteration (no view could be matched: the drawn views' "
                     f"renders or targets showed nothing); all {len(history)} iterations used standard derivatives")
    elif ran < planned / 2:
        notes.append(f"strategy {name!r} ran {ran} of its {planned} RGBXY iterations; the other {planned - ran} "
                     f"fell back to standard derivatives (no view could be matched)")
    for note in notes:
        warnings.warn(f"drot.optimize: {note}", UserWarning, stacklevel=stacklevel)
    if not rgbxy_moves and schedule.strategy.uses_rgbxy:
        notes.append("appearance_gradients='standard' and every free parameter is an appearance one: every "
                     "iteration used standard derivatives")
    if empty_views:
        notes.append(f"target view(s) {_views(empty_views)} show no foreground")
    return by_mode, tuple(notes)
