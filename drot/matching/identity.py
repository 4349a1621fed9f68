"""The "standard" pairing: every rendered pixel is compared with the target pixel under it.

This is the matching a per-pixel loss (L1/L2) implicitly uses (paper Fig. 2b); as a matcher it
lets the optimisation loop run the standard baseline through the same code path.
"""
from __future__ import annotations

from torch import Tensor

from .base import Matcher, PointSet, check_lam, compute_dtype, embed, nearest_neighbor
from .registry import register_matcher

__all__ = ["IdentityMatcher"]


@register_matcher("identity")
class IdentityMatcher(Matcher):
    """Match each source point to the target point nearest to it in XY (the same pixel when
    both sides come from pixel grids of the same size).

    Args:
        lam: colour weight λ of Eq. (13), only used for the reported ``cost``.

    ``plan()`` returns the one-hot pairing ``π_ij = a_i [j = nearest(i)]``: its rows sum to the
    normalised source masses, its columns in general do not sum to the target masses (this
    pairing is not a transport plan — that is the point of the paper).
    """


    def __init__(self, lam: float = 0.5) -> None:
        self.lam = check_lam(lam)

    def _nearest(self, source: PointSet, target: PointSet) -> Tensor:
        dt = compute_dtype(source.dtype)
        return nearest_neighbor(source.points[:, 3:].to(dt), target.points[:, 3:].to(dt))

    def _match(self, source: PointSet, target: PointSet) -> tuple[Tensor, float, dict]:
        nn = self._nearest(source, target)
        targets = target.points[nn].to(source.dtype)
        dt = compute_dtype(source.dtype)
        d = embed(source.points.to(dt), self.lam) - embed(targets.to(dt), self.lam)
        cost = float((source.normalized_weights(dt) * (d * d).sum(1)).sum())
        return targets, cost, {"solver": "identity"}

    def _plan(self, source: PointSet, target: PointSet) -> Tensor:
        nn = self._nearest(source, target)
        a = source.normalized_weights()
        plan = a.new_zeros(len(source), len(target))
        plan[range(len(source)), nn] = a
        return plan
