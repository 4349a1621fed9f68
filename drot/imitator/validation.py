"""Checking the imitator's settings where they enter: a training option that makes no sense
(``steps=-5``, a zero batch, a negative weight) is an error naming the option, not a quietly untrained
network."""
from __future__ import annotations

import math
from typing import Any

__all__ = ["check_options"]


def check_options(settings: Any, positive: tuple[str, ...] = (), nonnegative: tuple[str, ...] = (),
                  integers: tuple[str, ...] = ()) -> None:
    """ValueError / TypeError naming the first option of ``settings`` that is not a finite number, an
    integer where ``integers`` lists it, > 0 where ``positive`` lists it or >= 0 where ``nonnegative`` does."""
    cls = type(settings).__name__
    for name in (*positive, *nonnegative):
        value = getattr(settings, name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{cls}.{name} must be a number, got {value!r}")
        if name in integers and not isinstance(value, int):
            raise TypeError(f"{cls}.{name} must be an integer, got {value!r}")
        if not math.isfinite(value):
            raise ValueError(f"{cls}.{name} must be finite, got {value!r}")
        if name in positive and value <= 0:
            raise ValueError(f"{cls}.{name} must be > 0, got {value!r}")
        if name in nonnegative and value < 0:
            raise ValueError(f"{cls}.{name} must be >= 0, got {value!r}")
