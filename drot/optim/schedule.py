"""Which derivatives drive each iteration: the hybrid-gradient scheduler shared by every optimizer.

Strategies (paper §5.1.2, Table 1 (d)):

* ``basic``    — RGBXY derivatives (optimal-transport loss on point proxies) at every iteration;
* ``hybrid``   — RGBXY for the first ``rgbxy_fraction`` of the iterations (0.75 by default), then
  standard derivatives (per-pixel L2 through the antialiased image) for fine alignment;
* ``random``   — a fair coin per iteration (seeded);
* ``standard`` — standard derivatives throughout: the differentiable-rasterizer baseline;
* ``softras``  — no RGBXY either: per-pixel L2 on soft-rasterized images (SoftRas-style
  baseline, :mod:`drot.render.soft`).
"""
from __future__ import annotations

import random

STRATEGIES = ("basic", "hybrid", "random", "standard", "softras")
#: Strategies that never use RGBXY derivatives (no matching is set up for them).
L2_ONLY_STRATEGIES = ("standard", "softras")


class GradientSchedule:
    """Decides, per iteration, between RGBXY derivatives and standard derivatives."""

    def __init__(self, strategy: str, iterations: int, rgbxy_fraction: float = 0.75, seed: int = 0) -> None:
        if strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
        if int(iterations) <= 0:
            raise ValueError(f"iterations must be positive, got {iterations}")
        if not 0.0 <= rgbxy_fraction <= 1.0:
            raise ValueError(f"rgbxy_fraction must be in [0, 1], got {rgbxy_fraction}")
        self.strategy = strategy
        self.iterations = int(iterations)
        self.switch_at = round(self.iterations * rgbxy_fraction)
        rng = random.Random(seed)
        self._coins = [rng.random() < 0.5 for _ in range(self.iterations)] if strategy == "random" else None

    def uses_rgbxy(self, iteration: int) -> bool:
        """True when ``iteration`` (0-based) uses RGBXY derivatives."""
        if self.strategy == "basic":
            return True
        if self.strategy in L2_ONLY_STRATEGIES:
            return False
        if self.strategy == "hybrid":
            return iteration < self.switch_at
        return self._coins[iteration]

    def switches_to_standard(self, iteration: int) -> bool:
        """True at the first standard iteration of ``hybrid`` (where the loss, and its gradient scale, change)."""
        return self.strategy == "hybrid" and 0 < self.switch_at == iteration

    def __repr__(self) -> str:
        return f"GradientSchedule({self.strategy!r}, iterations={self.iterations}, switch_at={self.switch_at})"
