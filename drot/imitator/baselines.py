"""Gradient-free baselines on the real renderer, over the continuous slots (discrete blocks held at
the start's argmax), each with a budget of renderer calls:

* :func:`nelder_mead` — SciPy's Nelder–Mead (initial simplex: steps of 0.1 along each slot);
* :func:`cma_es` — CMA-ES (the ``cma`` package, ``pip install cma``; σ₀ 0.1, bounds [0, 1]);
* :func:`random_search` — local random search: Gaussian proposals around the best point so far,
  the step adapted by the 1/5th success rule.

:func:`baseline_search` runs one of them on a batch of targets and returns the same
:class:`~drot.imitator.search.SearchResult` (every call's loss and vector) as
:func:`~drot.imitator.search.imitator_search`, so all methods draw the same calls-vs-error curves.
"""
from __future__ import annotations

import numpy as np
import scipy.optimize
import torch

from .blackbox import BlackBoxRenderer
from .discrete import ImageLoss, search_choices
from .losses import perceptual_loss
from .search import SearchResult

__all__ = ["nelder_mead", "cma_es", "random_search", "baseline_search", "BASELINES"]


class _Objective:
    """``loss(R(x), target)`` of continuous values ``x`` with a call budget and a log of every call."""

    def __init__(self, renderer, target, start, source, calls, loss, seed):
        if calls < 1:
            raise ValueError(f"calls must be >= 1, got {calls}")
        self.renderer, self.target, self.loss, self.seed, self.calls = renderer, target, loss, seed, calls
        self.base = renderer.space.project(start)[0]
        self.idx = renderer.space.continuous_index
        self.src = None if source is None else source[None]
        self.log: list[tuple[float, torch.Tensor]] = []

    @property
    def best(self) -> tuple[float, torch.Tensor]:
        """``(loss, vector)`` of the best call so far (the first on ties; the start before any call)."""
        return min(self.log, key=lambda e: e[0]) if self.log else (float("inf"), self.base.clone())

    @property
    def x0(self) -> np.ndarray:
        return self.base[self.idx].numpy().astype(np.float64)

    @property
    def spent(self) -> bool:
        return len(self.log) >= self.calls

    def __call__(self, x) -> float:
        if self.spent:  # an optimiser asking past its budget gets the worst value, no render
            return float("inf")
        v = self.base.clone()
        v[self.idx] = torch.as_tensor(np.clip(x, 0, 1), dtype=v.dtype)
        with torch.no_grad():
            value = float(self.loss(self.renderer(v[None], self.src, seed=self.seed), self.target[None]))
        self.log.append((value, v))
        return value


def nelder_mead(renderer: BlackBoxRenderer, target: torch.Tensor, start: torch.Tensor,
                source: torch.Tensor | None = None, calls: int = 50, loss: ImageLoss = perceptual_loss,
                seed: int = 0, _objective: _Objective | None = None) -> tuple[torch.Tensor, int]:
    """Minimise ``loss(R(g), target)`` from ``start`` ``[D]`` with at most ``calls`` renders.

    Args:
        target: float ``[H, W, 3]``; source: ``[H, W, 3]`` for a source renderer.
        calls: renderer-call budget (Nelder–Mead's ``maxfev``); at least 1.

    Returns:
        ``(best vector [D], renderer calls used)``.
    """
    f = _objective or _Objective(renderer, target, start, source, calls, loss, seed)
    x0 = f.x0
    simplex = np.vstack([x0] + [np.clip(x0 + 0.1 * np.eye(len(x0))[k] * (1 if x0[k] < 0.9 else -1), 0, 1)
                                for k in range(len(x0))])
    scipy.optimize.minimize(f, x0, method="Nelder-Mead",
                            options={"maxfev": f.calls, "initial_simplex": simplex, "xatol": 1e-4, "fatol": 1e-7})
    return f.best[1], len(f.log)


def cma_es(renderer: BlackBoxRenderer, target: torch.Tensor, start: torch.Tensor,
           source: torch.Tensor | None = None, calls: int = 50, loss: ImageLoss = perceptual_loss,
           seed: int = 0, sigma: float = 0.1, _objective: _Objective | None = None) -> tuple[torch.Tensor, int]:
    """CMA-ES from ``start`` with step ``sigma`` (normalised units) and at most ``calls`` renders;
    ``(best vector [D], calls used)``. Needs ``pip install cma``."""
    try:
        import cma
    except ImportError:
        raise ImportError("the CMA-ES baseline needs the cma package: pip install cma") from None
    f = _objective or _Objective(renderer, target, start, source, calls, loss, seed)
    es = cma.CMAEvolutionStrategy(f.x0, sigma, {"bounds": [0, 1], "seed": seed + 1, "verbose": -9,
                                                "maxfevals": f.calls})
    while not f.spent and not es.stop():
        xs = es.ask()
        xs = xs[:f.calls - len(f.log)]
        values = [f(x) for x in xs]
        if len(values) < es.popsize:  # the budget ends inside a generation: stop without a partial update
            break
        es.tell(xs, values)
    return f.best[1], len(f.log)


def random_search(renderer: BlackBoxRenderer, target: torch.Tensor, start: torch.Tensor,
                  source: torch.Tensor | None = None, calls: int = 50, loss: ImageLoss = perceptual_loss,
                  seed: int = 0, sigma: float = 0.1, _objective: _Objective | None = None) -> tuple[torch.Tensor, int]:
    """(1+1) random search from ``start``: ``x + σ N(0, I)`` clipped to [0, 1], kept if better; σ × 1.5
    after a success, × 0.9 after a failure (the 1/5th rule). ``(best vector [D], calls used)``."""
    f = _objective or _Objective(renderer, target, start, source, calls, loss, seed)
    rng = np.random.default_rng(seed)
    x, fx = f.x0, f(f.x0)
    while not f.spent:
        cand = np.clip(x + sigma * rng.standard_normal(x.shape), 0, 1)
        fc = f(cand)
        if fc < fx:
            x, fx, sigma = cand, fc, sigma * 1.5
        else:
            sigma *= 0.9
    return f.best[1], len(f.log)


BASELINES = {"nelder-mead": nelder_mead, "cma-es": cma_es, "random": random_search}


def baseline_search(method: str, renderer: BlackBoxRenderer, targets: torch.Tensor, starts: torch.Tensor,
                    sources: torch.Tensor | None = None, calls: int = 60, loss: ImageLoss | None = None,
                    seed: int = 0, choices: bool = True) -> SearchResult:
    """Run ``method`` (a key of :data:`BASELINES`) per target; the loss defaults to the mean squared
    error (the objective of :func:`~drot.imitator.search.imitator_search`); target ``b``'s renders
    use ``seed + b``, as there. With ``choices``
    the discrete choices are first searched as :func:`~drot.imitator.search.imitator_search` does
    (one real render per choice, counted in ``calls``), so both know the same. Calls the optimiser
    did not use are NaN in ``losses``."""
    if method not in BASELINES:
        raise ValueError(f"unknown baseline {method!r}; choose one of {', '.join(BASELINES)}")
    loss = loss or (lambda a, b: (a - b).square().mean())
    space = renderer.space
    out, losses, visited = [], [], []
    for b in range(targets.shape[0]):
        src = None if sources is None else sources[b]
        start = space.project(starts[b:b + 1])
        f = _Objective(renderer, targets[b], start, src, calls, loss, seed + b)
        if choices and space.discrete:
            def log(v, image):
                value = float(loss(image[None], targets[b][None]))
                f.log.append((value, v.clone()))
                return value
            f.base = search_choices(renderer, start[0], None if src is None else src[None], seed + b, log)[0]
        BASELINES[method](renderer, targets[b], start, None, calls, loss, seed + b, _objective=f)
        pad = calls - len(f.log)
        out.append(f.best[1])
        losses.append(torch.tensor([v for v, _ in f.log] + [float("nan")] * pad))
        visited.append(torch.stack([x for _, x in f.log] + [f.best[1]] * pad))
    return SearchResult(torch.stack(out), torch.stack(losses), torch.stack(visited), [0] * len(out))
