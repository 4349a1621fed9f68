"""Which derivatives drive each iteration: the strategy registry and the hybrid-gradient scheduler.

Strategies (paper §5.1.2, Table 1 (d)), each a :class:`Strategy` registered in :data:`STRATEGIES`:

* ``basic``    — RGBXY derivatives (optimal-transport loss on point proxies) at every iteration;
* ``hybrid``   — RGBXY for the first ``rgbxy_fraction`` of the iterations (0.75 by default), then
  standard derivatives (per-pixel L2 through the antialiased image) for fine alignment;
* ``random``   — a fair coin per iteration (seeded);
* ``standard`` — standard derivatives throughout: the differentiable-rasterizer baseline;
* ``softras``  — no RGBXY either: per-pixel L2 on soft-rasterized images (SoftRas-style
  baseline, :mod:`drot.render.soft`).

A new strategy is one :func:`register_strategy` call; the settings validation, ``drot-bench
--methods`` and the Table 1 harness read the registry.
"""
from __future__ import annotations

import dataclasses
import random
from typing import Callable

#: How a strategy chooses RGBXY iterations: ``(iteration, switch_at, coin) -> bool``.
RgbxyRule = Callable[[int, int, bool], bool]


@dataclasses.dataclass(frozen=True)
class Strategy:
    """A way of choosing derivatives per iteration.

    Attributes:
        name: registry key (``OptimizeSettings.strategy``).
        label: name in tables and plots.
        rgbxy: ``(iteration, switch_at, coin) -> bool``: whether an iteration uses RGBXY
            derivatives (``switch_at`` = round(iterations × rgbxy_fraction); ``coin`` a seeded fair coin).
        uses_rgbxy, uses_standard: whether any iteration can use each kind (settings of the
            other kind are then reported as ignored).
        soft: standard iterations render soft (SoftRas-style) images instead of hard ones.
        switches: Adam may restart at the first standard iteration (``reset_at_switch``).
        uses_coins: the rule reads ``coin`` (a coin is drawn per iteration only then).
        ignores: settings the strategy does not read.
        description: one line for help texts.
    """

    name: str
    label: str
    rgbxy: RgbxyRule
    uses_rgbxy: bool = True
    uses_standard: bool = True
    soft: bool = False
    switches: bool = False
    uses_coins: bool = False
    ignores: tuple[str, ...] = ("rgbxy_fraction", "reset_at_switch")
    description: str = ""


#: Registered strategies by name.
STRATEGIES: dict[str, Strategy] = {}


def register_strategy(strategy: Strategy, *, replace: bool = False) -> Strategy:
    """Add ``strategy`` to :data:`STRATEGIES` (``replace=True`` to overwrite a name)."""
    if strategy.name in STRATEGIES and not replace:
        raise ValueError(f"strategy {strategy.name!r} is already registered (pass replace=True to overwrite)")
    STRATEGIES[strategy.name] = strategy
    return strategy


register_strategy(Strategy("basic", "DROT-basic", lambda it, switch, coin: True, uses_standard=False,
                           description="RGBXY derivatives at every iteration"))
register_strategy(Strategy("hybrid", "DROT-hybrid", lambda it, switch, coin: it < switch, switches=True, ignores=(),
                           description="RGBXY for the first rgbxy_fraction of the iterations, then standard"))
register_strategy(Strategy("random", "DROT-random", lambda it, switch, coin: coin, uses_coins=True,
                           description="a seeded fair coin per iteration"))
register_strategy(Strategy("standard", "L2 (standard)", lambda it, switch, coin: False, uses_rgbxy=False,
                           description="per-pixel L2 through analytic antialiasing (the baseline)"))
register_strategy(Strategy("softras", "SoftRas (soft L2)", lambda it, switch, coin: False, uses_rgbxy=False,
                           soft=True, ignores=("rgbxy_fraction", "reset_at_switch", "l2_supersample"),
                           description="per-pixel L2 on soft-rasterized images"))


class GradientSchedule:
    """Decides, per iteration, between RGBXY derivatives and standard derivatives."""

    def __init__(self, strategy: str, iterations: int, rgbxy_fraction: float = 0.75, seed: int = 0) -> None:
        if strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
        if int(iterations) <= 0:
            raise ValueError(f"iterations must be positive, got {iterations}")
        if not 0.0 <= rgbxy_fraction <= 1.0:
            raise ValueError(f"rgbxy_fraction must be in [0, 1], got {rgbxy_fraction}")
        self.strategy = STRATEGIES[strategy]
        self.iterations = int(iterations)
        self.switch_at = round(self.iterations * rgbxy_fraction)
        rng = random.Random(seed)
        self._coins = ([rng.random() < 0.5 for _ in range(self.iterations)] if self.strategy.uses_coins
                       else [False] * self.iterations)

    def uses_rgbxy(self, iteration: int) -> bool:
        """True when ``iteration`` (0-based) uses RGBXY derivatives."""
        return bool(self.strategy.rgbxy(iteration, self.switch_at, self._coins[iteration]))

    def switches_to_standard(self, iteration: int) -> bool:
        """True at the first standard iteration of a switching strategy (``hybrid``), where the loss
        and its gradient scale change."""
        return self.strategy.switches and 0 < self.switch_at == iteration

    def __repr__(self) -> str:
        return f"GradientSchedule({self.strategy.name!r}, iterations={self.iterations}, switch_at={self.switch_at})"
