"""Measuring an imitator against its renderer on held-out settings: fidelity (PSNR), per-parameter
sensitivity error, and the agreement of parameter gradients with a renderer that has gradients.

* :func:`fidelity` — mean PSNR of ``I(g)`` against ``R(g)``.
* :func:`sensitivity_errors` — for every parameter ``j``, shift it (continuous: ``+delta`` of its
  range, ``−delta`` if that leaves the range; discrete: the next choice), and measure the relative
  error of the imitator's image change, ``‖ΔI − ΔR‖ / ‖ΔR‖`` (pairs with ``‖ΔR‖`` ≈ 0 are skipped),
  averaged over settings. Base and shifted renders share a seed (common random numbers).
* :func:`gradient_cosine` — cosine similarity of ``∇_g ‖image(g) − target‖²`` through the imitator and
  a reference gradient (autograd through a differentiable twin, or :func:`finite_difference_gradient`
  of the real renderer), over the continuous slots, per setting.
"""
from __future__ import annotations

from typing import Callable

import torch

from ..metrics import psnr
from .blackbox import BlackBoxRenderer
from .space import Continuous
from .training import Imitator

__all__ = ["fidelity", "shifted_by", "sensitivity_errors", "imitator_gradient", "finite_difference_gradient",
           "gradient_cosine"]


@torch.no_grad()
def fidelity(imitator: Imitator, renderer: BlackBoxRenderer, vectors: torch.Tensor,
             sources: torch.Tensor | None = None, seed: int = 10**6) -> float:
    """Mean PSNR (dB) of the imitator's images against the renderer's for ``vectors`` ``[B, D]``."""
    real = renderer(vectors, sources, seed=seed)
    return psnr(imitator.eval()(vectors, sources).clamp(0, 1), real)


def shifted_by(space, vectors: torch.Tensor, j: int, delta: float) -> torch.Tensor:
    """``vectors`` ``[B, D]`` with parameter ``j`` shifted as described in the module docstring."""
    v = vectors.clone()
    p = space.parameters[j]
    sl = space.slices[p.name]
    if isinstance(p, Continuous):
        x = v[:, sl.start]
        v[:, sl.start] = torch.where(x + delta <= 1, x + delta, x - delta)
    else:
        v[:, sl] = torch.roll(v[:, sl], 1, dims=1)
    return v


@torch.no_grad()
def sensitivity_errors(imitator: Imitator, renderer: BlackBoxRenderer, vectors: torch.Tensor,
                       sources: torch.Tensor | None = None, delta: float = 0.25, seed: int = 2 * 10**6) -> dict[str, float]:
    """Parameter name → mean relative error of the imitator's image change under a one-parameter shift."""
    space = imitator.space
    base_r = renderer(vectors, sources, seed=seed)
    base_i = imitator.eval()(vectors, sources)
    out = {}
    for j, p in enumerate(space.parameters):
        v = shifted_by(space, vectors, j, delta)
        dr = (renderer(v, sources, seed=seed) - base_r).flatten(1)
        di = (imitator(v, sources) - base_i).flatten(1)
        norm = dr.norm(dim=1)
        keep = norm > 1e-3 * dr.shape[1] ** 0.5
        out[p.name] = float(((di - dr).norm(dim=1)[keep] / norm[keep]).mean()) if keep.any() else float("nan")
    return out


def imitator_gradient(imitator: Imitator, vector: torch.Tensor, target: torch.Tensor,
                      source: torch.Tensor | None = None) -> torch.Tensor:
    """``∇_g mean((I(g) − target)²)`` for one vector ``[D]``, target ``[H, W, 3]``: float ``[D]``."""
    g = vector.detach().clone()[None].requires_grad_(True)
    loss = (imitator(g, None if source is None else source[None]) - target[None]).square().mean()
    (grad,) = torch.autograd.grad(loss, g)
    return grad[0]


@torch.no_grad()
def finite_difference_gradient(renderer: BlackBoxRenderer, vector: torch.Tensor, target: torch.Tensor,
                               source: torch.Tensor | None = None, eps: float = 0.02, seed: int = 3 * 10**6) -> torch.Tensor:
    """Central differences of ``mean((R(g) − target)²)`` over the continuous slots (other slots 0),
    every render with the same seed (common random numbers): float ``[D]``; ``2 C`` renderer calls."""
    space = renderer.space
    grad = torch.zeros(space.dim)
    idx = space.continuous_index.tolist()
    rows = []
    for i in idx:
        for sign in (1, -1):
            v = vector.clone()
            v[i] = v[i] + sign * eps
            rows.append(v)
    src = None if source is None else source[None].expand(len(rows), *source.shape)
    images = torch.cat([renderer(rows[k][None], None if src is None else src[k:k + 1], seed=seed) for k in range(len(rows))])
    losses = (images - target[None]).square().flatten(1).mean(1)
    for n, i in enumerate(idx):
        grad[i] = (losses[2 * n] - losses[2 * n + 1]) / (2 * eps)
    return grad


def gradient_cosine(imitator: Imitator, reference: Callable[[torch.Tensor, torch.Tensor, torch.Tensor | None], torch.Tensor],
                    vectors: torch.Tensor, targets: torch.Tensor, sources: torch.Tensor | None = None) -> list[float]:
    """Per setting, the cosine between the imitator's gradient and ``reference(vector, target, source)``
    (both ``[D]``), over the continuous slots."""
    idx = imitator.space.continuous_index
    out = []
    for b in range(vectors.shape[0]):
        src = None if sources is None else sources[b]
        a = imitator_gradient(imitator, vectors[b], targets[b], src)[idx]
        r = reference(vectors[b], targets[b], src)[idx]
        out.append(float(torch.nn.functional.cosine_similarity(a, r, dim=0)))
    return out
