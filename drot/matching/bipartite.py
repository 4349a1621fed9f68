"""Exact one-to-one matching (minimum-cost bipartite assignment), the paper's Table 1 (a) baseline.

Solved with :func:`scipy.optimize.linear_sum_assignment` on the Eq. (13) cost matrix. Its
time grows roughly cubically with the number of points: the paper could only afford it at
32 x 32 pixels, hence the hard size limit below.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from .base import Matcher, PointSet, check_lam, embed
from .registry import register_matcher

__all__ = ["BipartiteMatcher", "MAX_BIPARTITE_POINTS"]

#: Largest number of points per side accepted by default (a 5000 x 5000 assignment already
#: takes tens of seconds and 200 MB for the cost matrix).
MAX_BIPARTITE_POINTS = 5000


@register_matcher("bipartite")
class BipartiteMatcher(Matcher):
    """Minimum-cost one-to-one assignment between source and target points.

    Every point counts as one unit: the weights are ignored by the assignment (they only weigh
    the reported ``cost``, normalised to total mass 1 on the source side). With ``N > M`` only
    ``M`` source points can be assigned; the others get themselves as target (no pull). With
    ``N < M`` every source point is assigned and ``M - N`` target points stay unused.

    Args:
        lam: colour weight λ of Eq. (13), in [0, 1].
        max_points: the largest N or M accepted; above it ``match`` raises ``ValueError``
            instead of running for minutes.
    """


    def __init__(self, lam: float = 0.5, max_points: int = MAX_BIPARTITE_POINTS) -> None:
        self.lam = check_lam(lam)
        if isinstance(max_points, bool) or not isinstance(max_points, int) or max_points < 1:
            raise ValueError(f"max_points must be an integer >= 1, got {max_points!r}")
        self.max_points = max_points

    def _assign(self, source: PointSet, target: PointSet) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        from scipy.optimize import linear_sum_assignment

        n, m = len(source), len(target)
        if max(n, m) > self.max_points:
            raise ValueError(f"bipartite matching is limited to {self.max_points} points per side "
                             f"(got {n} source and {m} target points); use the sinkhorn matcher or "
                             f"a lower resolution")
        x = embed(source.points.detach().double().cpu(), self.lam).numpy()
        y = embed(target.points.detach().double().cpu(), self.lam).numpy()
        cost = ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)  # exact Eq. 13 costs, float64
        rows, cols = linear_sum_assignment(cost)
        return rows, cols, cost[rows, cols]

    def _match(self, source: PointSet, target: PointSet) -> tuple[Tensor, float, dict]:
        rows, cols, c = self._assign(source, target)
        targets = source.points.clone()  # unassigned points: themselves
        dev = source.device
        r = torch.as_tensor(rows, device=dev)
        targets[r] = target.points[torch.as_tensor(cols, device=dev)].to(source.dtype)
        a = source.normalized_weights(torch.float64).cpu().numpy()
        cost = float((a[rows] * c).sum())
        return targets, cost, {"solver": "scipy.linear_sum_assignment", "assigned": int(len(rows))}

    def _plan(self, source: PointSet, target: PointSet) -> Tensor:
        rows, cols, _ = self._assign(source, target)
        a = source.normalized_weights()
        plan = a.new_zeros(len(source), len(target))
        r = torch.as_tensor(rows, device=a.device)
        plan[r, torch.as_tensor(cols, device=a.device)] = a[r]
        return plan
