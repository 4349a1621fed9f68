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

__all__ = ["argmax_quantise", "relax_and_search"]

ImageLoss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def argmax_quantise(space: ParameterSpace, vectors: torch.Tensor) -> torch.Tensor:
    """Plain quantisation: every discrete block → the one-hot of its largest entry; ``[B, D]``."""
    return space.project(vectors)


def _per_image(loss: ImageLoss, images: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return torch.stack([loss(images[k:k + 1], target[None]) for k in range(images.shape[0])])


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
    calls = 0
    for p in space.discrete:
        sl = space.slices[p.name]
        for b in range(out.shape[0]):
            cands = out[b:b + 1].repeat(p.size, 1)
            cands[:, sl] = torch.eye(p.size)
            src = None if sources is None else sources[b:b + 1].expand(p.size, *sources.shape[1:])
            images = torch.cat([renderer(cands[k:k + 1], None if src is None else src[k:k + 1], seed=seed + b)
                                for k in range(p.size)])
            calls += p.size
            out[b] = cands[int(_per_image(loss, images, targets[b]).argmin())]
    return out, calls
