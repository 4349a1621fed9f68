"""A gradient-free baseline on the real renderer: SciPy's Nelder–Mead over the continuous slots
(discrete blocks held at the start's argmax), with a budget of renderer calls."""
from __future__ import annotations

from typing import Callable

import numpy as np
import scipy.optimize
import torch

from .blackbox import BlackBoxRenderer
from .losses import perceptual_loss

__all__ = ["nelder_mead"]


@torch.no_grad()
def nelder_mead(renderer: BlackBoxRenderer, target: torch.Tensor, start: torch.Tensor,
                source: torch.Tensor | None = None, calls: int = 50,
                loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = perceptual_loss,
                seed: int = 0) -> tuple[torch.Tensor, int]:
    """Minimise ``loss(R(g), target)`` from ``start`` ``[D]`` with at most ``calls`` renders.

    Args:
        target: float ``[H, W, 3]``; source: ``[H, W, 3]`` for a source renderer.
        calls: renderer-call budget (Nelder–Mead's ``maxfev``); at least 1.

    Returns:
        ``(best vector [D], renderer calls used)``.
    """
    if calls < 1:
        raise ValueError(f"nelder_mead: calls must be >= 1, got {calls}")
    space = renderer.space
    base = space.project(start)[0]
    idx = space.continuous_index
    src = None if source is None else source[None]
    used, best = [0], [float("inf"), base.clone()]

    def f(x):
        v = base.clone()
        v[idx] = torch.as_tensor(np.clip(x, 0, 1), dtype=v.dtype)
        used[0] += 1
        value = float(loss(renderer(v[None], src, seed=seed), target[None]))
        if value < best[0]:
            best[0], best[1] = value, v
        return value
    x0 = base[idx].numpy().astype(np.float64)
    simplex = np.vstack([x0] + [np.clip(x0 + 0.1 * np.eye(len(x0))[k] * (1 if x0[k] < 0.9 else -1), 0, 1)
                                for k in range(len(x0))])
    scipy.optimize.minimize(f, x0, method="Nelder-Mead",
                            options={"maxfev": calls, "initial_simplex": simplex, "xatol": 1e-4, "fatol": 1e-7})
    return best[1], used[0]
