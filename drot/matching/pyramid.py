"""An image pyramid of an RGBXY point set: points pooled in nested square cells of the XY plane.

Level 0 is the point set itself; level ``k`` pools the points whose XY position falls in one cell
of a ``G_k x G_k`` grid over the unit square (``G_1 > G_2 > ...``, each a power of two divided by
the next, so cells nest). For the points of an ``H x W`` image with ``H = W = 2^n`` and grids
``2^(n-1), 2^(n-2), ...`` this is plain 2 x 2 pooling; it works as well for clouds that are not a
grid (pooled background blocks, random points): a cell pools whatever falls in it, and cells
with no point do not exist. Positions outside the unit square are clamped to its border cells.

A pooled point has the mass-weighted mean features of its members (their plain mean when they
are all massless) and their summed mass, so mass and mean are preserved level to level.
"""
from __future__ import annotations

import dataclasses

import torch
from torch import Tensor

__all__ = ["PyramidLevel", "pyramid"]


@dataclasses.dataclass(frozen=True, eq=False)
class PyramidLevel:
    """One level of a :func:`pyramid`.

    Attributes:
        points: [n, D] pooled features (mass-weighted means), the input's dtype.
        mass: [n] float64 summed masses.
        spread: [n] float64 mass-weighted mean of ``|p - points|²`` over the members ``p``
            (0 at level 0): what pooling loses of a quadratic cost.
        grid: cells per side of the grid (0 for level 0, the points themselves).
        parent: [n] int64 index of each point's cell in the next coarser level (None on the coarsest).
        child_order: [n_finer] int64 indices of the next finer level's points, grouped by cell, and
        child_start: [n + 1] int64 offsets into ``child_order`` (None on level 0).
    """

    points: Tensor
    mass: Tensor
    spread: Tensor
    grid: int
    parent: Tensor | None = None
    child_order: Tensor | None = None
    child_start: Tensor | None = None

    def __len__(self) -> int:
        return self.points.shape[0]

    def children(self, index: Tensor) -> tuple[Tensor, Tensor]:
        """The finer-level children of cells ``index`` [K]: ``(child [C], owner [C])`` with ``owner``
        the position in ``index`` each child belongs to."""
        table = self.child_table
        flat = table.index_select(0, index).reshape(-1)  # [K * most children], -1 padded: no ragged loop
        if self.full:
            return flat, torch.arange(index.shape[0], device=index.device).repeat_interleave(table.shape[1])
        sel = (flat >= 0).nonzero().squeeze(1)
        return flat.index_select(0, sel), sel // table.shape[1]

    @property
    def full(self) -> bool:
        """Whether every cell has the same number of children (a full grid: no padding)."""
        return self.__dict__.get("_full") if "_full" in self.__dict__ else bool((self.child_table >= 0).all())

    @property
    def child_table(self) -> Tensor:
        """[n, c] int64: the children of each cell (from ``child_order``/``child_start``), -1 padded."""
        table = self.__dict__.get("_child_table")
        if table is None:
            count = self.child_start[1:] - self.child_start[:-1]
            width = int(count.max())
            slot = torch.arange(width, device=count.device)
            pos = (self.child_start[:-1, None] + slot).clamp_max(max(0, self.child_order.shape[0] - 1))
            table = torch.where(slot < count[:, None], self.child_order[pos], torch.full_like(pos, -1))
            object.__setattr__(self, "_child_table", table)
            object.__setattr__(self, "_full", bool((table >= 0).all()))
        return table


def _cells(xy: Tensor, grid: int) -> Tensor:
    """Row-major cell index [N] of positions ``xy`` [N, 2] in a ``grid x grid`` grid of the unit square."""
    ij = (xy.double() * grid).floor().clamp_(0, grid - 1).long()
    return ij[:, 1] * grid + ij[:, 0]


def pyramid(points: Tensor, mass: Tensor, grids: list[int], xy: Tensor | None = None,
            spread_of: Tensor | None = None) -> list[PyramidLevel]:
    """Pool ``points`` [N, D] of masses ``mass`` [N] (>= 0) on each grid of ``grids``.

    Args:
        points: [N, D] features to pool (e.g. embedded RGBXY).
        mass: [N] masses, any floating dtype (pooled in float64).
        grids: cells per side, strictly decreasing, each a multiple of the next (e.g. [64, 32, 16]).
        xy: [N, 2] positions that decide the cells (default ``points[:, 3:5]``), in the unit square.
        spread_of: [N, E] features whose pooling loss :attr:`PyramidLevel.spread` measures
            (default ``points``).

    Returns:
        ``[level 0, level 1, ...]``, one level per grid after the points themselves.
    """
    if any(g < 1 for g in grids) or any(a <= b or a % b for a, b in zip(grids, grids[1:])):
        raise ValueError(f"pyramid grids must be positive, strictly decreasing and nested, got {grids}")
    xy = points[:, 3:5] if xy is None else xy
    feat = (points if spread_of is None else spread_of).double()
    m64 = mass.double()
    levels = [PyramidLevel(points, m64, torch.zeros_like(m64), 0)]
    prev_inverse = torch.arange(points.shape[0], device=points.device)  # point -> cell of the previous level
    for grid in grids:
        cells, inverse = torch.unique(_cells(xy, grid), return_inverse=True)
        n = cells.shape[0]
        pooled_mass = torch.zeros(n, dtype=torch.float64, device=points.device).index_add_(0, inverse, m64)
        count = torch.zeros(n, dtype=torch.float64, device=points.device).index_add_(
            0, inverse, torch.ones_like(m64))
        # Massless cells take the plain mean of their members (their weight is then 1 each).
        w = torch.where(pooled_mass[inverse] > 0, m64, torch.ones_like(m64))
        wsum = torch.where(pooled_mass > 0, pooled_mass, count)
        mean = torch.zeros(n, points.shape[1], dtype=torch.float64, device=points.device).index_add_(
            0, inverse, w[:, None] * points.double()) / wsum[:, None]
        fmean = torch.zeros(n, feat.shape[1], dtype=torch.float64, device=points.device).index_add_(
            0, inverse, w[:, None] * feat) / wsum[:, None]
        spread = torch.zeros(n, dtype=torch.float64, device=points.device).index_add_(
            0, inverse, w * ((feat - fmean[inverse]) ** 2).sum(1)) / wsum
        prev = levels[-1]
        parent = torch.empty(len(prev), dtype=torch.long, device=points.device).scatter_(0, prev_inverse, inverse)
        order = torch.argsort(parent, stable=True)
        start = torch.zeros(n + 1, dtype=torch.long, device=points.device)
        start[1:] = torch.cumsum(torch.bincount(parent, minlength=n), 0)
        levels[-1] = dataclasses.replace(prev, parent=parent)
        levels.append(PyramidLevel(mean.to(points.dtype), pooled_mass, spread, grid, None, order, start))
        prev_inverse = inverse
    return levels
