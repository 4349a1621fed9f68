"""A pyramid of a point set: points pooled in nested cubic cells of their own space.

Level 0 is the point set itself; level ``k`` pools the points that fall in one cell of a grid of
cubes of side ``h_k`` (``h_1 < h_2 < ...``, each twice the previous, from a common origin, so
cells nest). For RGBXY points (embedded, :func:`~drot.matching.base.embed`) the cells cut colour
as well as position: a cell never mixes colours farther apart than its side, so the pooled
kernel ``exp(-C/ε)`` stays close to its members' whenever ``h_k`` is small against ``sqrt(ε)``.
On an image with ``2^n`` pixels per side and ``h_1`` twice the pixel pitch this is 2 x 2 pooling
wherever neighbouring pixels have close colours (the background, smooth shading), finer at edges.
Cells with no point do not exist.

A pooled point has the mass-weighted mean position of its members (their plain mean when they
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
        cell: side of the cells (0 for level 0, the points themselves).
        spread: [n] float64 mass-weighted mean of ``|p - points|²`` over the members ``p`` (0 at
            level 0): what pooling takes away from a quadratic cost.
        extra: [n, E] other features pooled with the same weights (or None).
        parent: [n] int64 index of each point's cell in the next coarser level (None on the coarsest).
        child_order: [n_finer] int64 indices of the next finer level's points, grouped by cell, and
        child_start: [n + 1] int64 offsets into ``child_order`` (None on level 0).
    """

    points: Tensor
    mass: Tensor
    cell: float
    spread: Tensor
    extra: Tensor | None = None
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
        count = self.child_start[1:] - self.child_start[:-1]
        return flat[flat >= 0], torch.repeat_interleave(count.index_select(0, index))

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


def _cells(q: Tensor) -> Tensor:
    """One int64 key [N] per row of the integer cell coordinates ``q`` [N, D] (>= 0)."""
    base = int(q.max()) + 1 if q.numel() else 1
    key = torch.zeros(q.shape[0], dtype=torch.long, device=q.device)
    for d in range(q.shape[1]):
        key = key * base + q[:, d]
    return key


def pyramid(points: Tensor, mass: Tensor, cells: list[float], extra: Tensor | None = None) -> list[PyramidLevel]:
    """Pool ``points`` [N, D] of masses ``mass`` [N] (>= 0) in cubes of each side in ``cells``.

    Args:
        points: [N, D] coordinates (e.g. embedded RGBXY, D = 5); cells count from their minimum.
        mass: [N] masses, any floating dtype (pooled in float64).
        cells: cube sides, strictly increasing, each twice the previous (nested grids).
        extra: [N, E] features pooled alongside (e.g. raw RGBXY), or None.

    Returns:
        ``[level 0, level 1, ...]``, one level per cell size after the points themselves.
    """
    if any(c <= 0 for c in cells) or any(abs(b - 2 * a) > 1e-9 * b for a, b in zip(cells, cells[1:])):
        raise ValueError(f"pyramid cells must be positive, each twice the previous, got {cells}")
    dev = points.device
    rel = (points.double() - points.double().min(0).values) if points.shape[0] else points.double()
    m64 = mass.double()
    levels = [PyramidLevel(points, m64, 0.0, torch.zeros_like(m64), extra)]
    prev_inverse = torch.arange(points.shape[0], device=dev)  # point -> cell of the previous level
    for cell in cells:
        # floor(r / 2h) = floor(floor(r / h) / 2): the cells of successive levels nest.
        _, inverse = torch.unique(_cells((rel / cell).floor_().long()), return_inverse=True)
        n = int(inverse.max()) + 1
        pooled_mass = torch.zeros(n, dtype=torch.float64, device=dev).index_add_(0, inverse, m64)
        count = torch.zeros(n, dtype=torch.float64, device=dev).index_add_(0, inverse, torch.ones_like(m64))
        # Massless cells take the plain mean of their members (their weight is then 1 each).
        w = torch.where(pooled_mass[inverse] > 0, m64, torch.ones_like(m64))
        wsum = torch.where(pooled_mass > 0, pooled_mass, count)
        mean = torch.zeros(n, points.shape[1], dtype=torch.float64, device=dev).index_add_(
            0, inverse, w[:, None] * points.double()) / wsum[:, None]
        p64 = points.double()
        spread = torch.zeros(n, dtype=torch.float64, device=dev).index_add_(
            0, inverse, w * ((p64 - mean[inverse]) ** 2).sum(1)) / wsum
        pooled_extra = None if extra is None else (torch.zeros(n, extra.shape[1], dtype=torch.float64, device=dev)
                                                   .index_add_(0, inverse, w[:, None] * extra.double())
                                                   / wsum[:, None]).to(extra.dtype)
        prev = levels[-1]
        parent = torch.empty(len(prev), dtype=torch.long, device=dev).scatter_(0, prev_inverse, inverse)
        order = torch.argsort(parent, stable=True)
        start = torch.zeros(n + 1, dtype=torch.long, device=dev)
        start[1:] = torch.cumsum(torch.bincount(parent, minlength=n), 0)
        levels[-1] = dataclasses.replace(prev, parent=parent)
        levels.append(PyramidLevel(mean.to(points.dtype), pooled_mass, cell, spread, pooled_extra, None, order, start))
        prev_inverse = inverse
    return levels
