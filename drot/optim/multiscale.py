"""Resolution schedules for the per-pixel L2 baselines of the paper's Table 1 (e).

* ``"fixed"``       — render and compare at the scene resolution (the plain baseline);
* ``"multires"``    — coarse to fine: render *and* compare at a resolution that grows from about
  ``start``² (8² by default) to the scene resolution over the run ("nvd.f.mul.res");
* ``"downsampled"`` — always render at the scene resolution, but compare area-downsampled images
  whose resolution grows from about ``start``² to full ("nvd.f.down.res").

The levels halve the full resolution until it is at most ``start`` (128² → 8², 16², 32², 64², 128²);
the run's iterations are split evenly among them, coarsest first.

With ``supersample = k > 1`` (any schedule) the span's iterations also render at ``k`` times each
level's render resolution: :class:`~drot.optim.steps.StandardStep` takes the loss's derivatives
through that render area-averaged down to the loss resolution (``k²`` samples per pixel, so the
derivatives see where a small object's silhouette sits within a pixel), and its residual from the
render at the level's own resolution.
"""
from __future__ import annotations

import torch

__all__ = ["L2_SCHEDULES", "ResolutionSchedule", "resolution_levels", "downsample"]

L2_SCHEDULES = ("fixed", "multires", "downsampled")


def resolution_levels(full: tuple[int, int], start: int = 8) -> list[tuple[int, int]]:
    """Resolutions from coarse (about ``start`` pixels on the short side) to ``full = (H, W)``,
    each twice the previous one (rounded up)."""
    if start < 1:
        raise ValueError(f"start resolution must be >= 1, got {start}")
    levels = [tuple(int(r) for r in full)]
    while min(levels[-1]) > start:
        h, w = levels[-1]
        levels.append((-(-h // 2), -(-w // 2)))
    return levels[::-1]


class ResolutionSchedule:
    """Which resolution the L2 loss renders at and compares at, per iteration.

    Args:
        mode: one of :data:`L2_SCHEDULES`.
        iterations: length of the run.
        full: ``(H, W)``, the scene resolution.
        start: short side of the coarsest level.
        first: the first iteration of the span (a hybrid run's L2 phase; 0 = the whole run).
        supersample: the span's derivatives come from a render at this multiple of the render resolution.
    """

    def __init__(self, mode: str, iterations: int, full: tuple[int, int], start: int = 8, first: int = 0,
                 supersample: int = 1) -> None:
        if mode not in L2_SCHEDULES:
            raise ValueError(f"unknown L2 schedule {mode!r}; choose one of {', '.join(L2_SCHEDULES)}")
        if isinstance(supersample, bool) or not isinstance(supersample, int) or supersample < 1:
            raise ValueError(f"supersample must be an integer >= 1, got {supersample!r}")
        self.mode = mode
        self.supersample = supersample
        self.first = int(first)  # the schedule spans iterations first .. iterations - 1 (hybrid: its L2 phase)
        self.iterations = int(iterations)
        self.full = tuple(int(r) for r in full)
        self.levels = [self.full] if mode == "fixed" else resolution_levels(self.full, start)

    def level(self, iteration: int) -> tuple[int, int]:
        """The level's resolution at ``iteration`` (0-based)."""
        k = min(len(self.levels) - 1, max(0, iteration - self.first) * len(self.levels)
                // max(1, self.iterations - self.first))
        return self.levels[k]

    def supersampled(self, iteration: int) -> bool:
        """Whether ``iteration`` takes its derivatives from a render at ``supersample`` times the
        resolution: every iteration of the span (those before it, e.g. a hybrid's RGBXY phase, do not)."""
        return self.supersample > 1 and iteration >= self.first

    def at(self, iteration: int) -> tuple[tuple[int, int], tuple[int, int]]:
        """``(render resolution, loss resolution)`` at ``iteration`` (the render the residual comes
        from; a supersampled iteration's derivatives come from ``supersample`` times it)."""
        level = self.level(iteration)
        return (self.full if self.mode == "downsampled" else level), level

    def __repr__(self) -> str:
        extra = f", supersample={self.supersample}" if self.supersample > 1 else ""
        return f"ResolutionSchedule({self.mode!r}, levels={self.levels}{extra})"


def downsample(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Area-average ``images`` ``[B, H, W, C]`` (or ``[H, W, C]``) down to ``size = (h, w)``.

    Identity when the size already matches; differentiable.
    """
    if tuple(images.shape[-3:-1]) == tuple(size):
        return images
    single = images.ndim == 3
    x = (images[None] if single else images).permute(0, 3, 1, 2)
    x = torch.nn.functional.adaptive_avg_pool2d(x, tuple(size)).permute(0, 2, 3, 1)
    return x[0] if single else x
