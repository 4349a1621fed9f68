"""Losses: the optimal-transport loss on point proxies (RGBXY derivatives) and the per-pixel L2 loss.

With the matching fixed (paper §4.3.2), the transport loss of Eq. 12 with the cost of Eq. 13 is,
for every proxy ``i`` and its matched target ``t_i`` (the barycentric projection of the plan),
``λ‖c_i − c(t_i)‖² + (1 − λ)‖p_i − p(t_i)‖²``; its gradient with respect to the proxies' colours
and positions is Eq. 14, and autograd applies the chain rule of Eq. 15 through the RGBXY
derivatives of the proxies.
"""
from __future__ import annotations

import torch

from ..matching.base import check_lam


def rgbxy_costs(rgbxy: torch.Tensor, matched: torch.Tensor, lam: float) -> torch.Tensor:
    """Transport cost of each proxy to its matched target, ``[N]``: ``λ‖Δrgb‖² + (1 − λ)‖Δxy‖²``.

    Args:
        rgbxy: float ``[N, 5]`` proxy colours and positions (differentiable).
        matched: float ``[N, 5]`` matched targets (constants).
        lam: λ of Eq. 13.
    """
    if rgbxy.shape != matched.shape or rgbxy.shape[-1] != 5:
        raise ValueError(f"rgbxy {tuple(rgbxy.shape)} and matched {tuple(matched.shape)} must both be [N, 5]")
    lam = check_lam(lam)
    d2 = (rgbxy - matched.detach()).square()
    return lam * d2[:, :3].sum(1) + (1 - lam) * d2[:, 3:].sum(1)


def rgbxy_loss(rgbxy: torch.Tensor, matched: torch.Tensor, lam: float) -> torch.Tensor:
    """Mean transport cost of proxies to their matched targets (:func:`rgbxy_costs`; 0 without proxies)."""
    costs = rgbxy_costs(rgbxy, matched, lam)
    return rgbxy.sum() * 0.0 if costs.shape[0] == 0 else costs.mean()


def image_l2_loss(image: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared per-pixel difference (Eq. 4, averaged): the standard-derivative loss."""
    if image.shape != target.shape:
        raise ValueError(f"image {tuple(image.shape)} and target {tuple(target.shape)} shapes differ")
    return (image - target).square().mean()
