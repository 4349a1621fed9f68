"""Discrete parameters: from a relaxed vector to valid one-hots, by argmax quantisation or by
AgileAvatar's search (§3.3): per discrete attribute, in turn, render every choice with the real
renderer, the other parameters held fixed (the attributes already searched at their chosen value),
and keep the choice whose image is closest to the target.
"""
from __future__ import annotations

from typing import Callable

import torch

from .blackbox import BlackBoxRenderer
from .losses import perceptual_loss
from .space import ParameterSpace

__all__ = ["argmax_quantise", "relax_and_search", "search_choices"]

ImageLoss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def argmax_quantise(space: ParameterSpace, vectors: torch.Tensor) -> torch.Tensor:
    """Plain quantisation: every discrete block → the one-hot of its largest entry; ``[B, D]``."""
    return space.project(vectors)


@torch.no_grad()
def search_choices(renderer: BlackBoxRenderer, vector: torch.Tensor, source: torch.Tensor | None, seed: int,
                   score: Callable[[torch.Tensor, torch.Tensor], float]) -> tuple[torch.Tensor, torch.Tensor, float] | None:
    """One target's discrete search: each discrete attribute in turn, every choice rendered (seed
    ``seed``) with the rest of ``vector`` ``[D]`` fixed, the best kept (the first on ties).

    Args:
        source: ``[1, H, W, 3]`` for a source renderer, else None.
        score: ``score(candidate [D], image [H, W, 3]) -> float``, lower is better (it may also log the call).

    Returns:
        ``(best vector [D], its image [H, W, 3], its score)``, or None when the space has no discrete parameter.
    """
    space = renderer.space
    best = None
    x = vector
    for p in space.discrete:
        sl = space.slices[p.name]
        for k in range(p.size):
            cand = x.clone()
            cand[sl] = torch.nn.functional.one_hot(torch.tensor(k), p.size).to(cand)
            image = renderer(cand[None], source, seed=seed)[0]
            value = score(cand, image)
            if best is None or value < best[2]:
                best = (cand, image, value)
        x = best[0]
    return best


@torch.no_grad()
def relax_and_search(renderer: BlackBoxRenderer, targets: torch.Tensor, vectors: torch.Tensor,
                     sources: torch.Tensor | None = None, loss: ImageLoss = perceptual_loss,
                     seed: int = 0) -> tuple[torch.Tensor, int]:
    """Search every discrete attribute's choices with the real renderer.

    Args:
        renderer: the black box.
        targets: float ``[B, H, W, 3]`` target images.
        vectors: float ``[B, D]`` relaxed vectors (e.g. :func:`drot.imitator.refine` output).
        sources: ``[B, H, W, 3]`` for a source renderer, else None.
        loss: image distance ``loss(image [1, H, W, 3], target [1, H, W, 3]) -> scalar``.
        seed: renderer seed (every candidate of a row gets the same one: common random numbers).

    Returns:
        ``(vectors [B, D] with hard one-hots, renderer calls used)``.
    """
    space = renderer.space
    out = space.project(vectors)
    if not space.discrete:
        return out, 0
    for b in range(out.shape[0]):
        def score(cand, image, target=targets[b]):
            return float(loss(image[None], target[None]))
        out[b] = search_choices(renderer, out[b], None if sources is None else sources[b:b + 1], seed + b, score)[0]
    return out, out.shape[0] * sum(p.size for p in space.discrete)
