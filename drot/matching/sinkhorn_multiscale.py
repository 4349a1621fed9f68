"""A multiscale, sparse Sinkhorn for pixel point sets (after Schmitzer's sparse multiscale scaling
and GeomLoss's multiscale backend, here for 5-D RGBXY point clouds of images).

Same convention, schedule and outputs as :mod:`~drot.matching.sinkhorn_kernel` (GeomLoss's
symmetric ε-scaling loop: temperatures ``diameter² ... blur²``, averaged updates, a final
extrapolation step), but each step runs on one level of a :func:`~drot.matching.pyramid.pyramid`
of both clouds and only on a sparse list of candidate pairs ``(i, j)``. Problems are solved one
after another (no batching across problems yet). Pure PyTorch (CPU and CUDA; CUDA untested).

* **Levels.** Both clouds are pooled in nested cubes of their embedded 5-D space
  (:func:`~drot.matching.pyramid.pyramid`; cubes, not XY squares, so that a cell never mixes
  far-apart colours — XY-only cells were measured 2-4x off in cost on random clouds). A step at
  temperature ε runs on the coarsest level whose cells are at most ``rho · sqrt(ε)`` wide:
  pooling that finely changes the kernel ``exp(-C/ε)`` little. So the large temperatures, which
  find the far-away matches, run on a few pooled points, and the last temperature and the
  extrapolation step on the points themselves — or, when the blur spans several pixels (cells of
  a level at most ``FINAL_RHO · blur``: 256² and more at blur 0.01), on the 2 x 2 (4 x 4, ...)
  pooled points, whose pairs are 4 (16) times fewer; the projection then pairs every source
  point with the pooled targets its cell was paired with (raw targets pooled alike, each cell's
  spread added to the cost). Measured at 128² with blur 0.02 (~ 256² at 0.01): 12.2 s -> 1.0 s,
  targets within 0.44 px (mean 0.008 px), cost +0.2 %.
* **Pairs.** The coarsest level uses every pair. At each jump to a finer level the pairs are the
  children of the pairs that the coarser plan supports — entries within ``truncation`` of their
  row's or their column's maximum (the union keeps every row and every column covered) — then
  truncated again with the finer points and the extrapolated potentials (the coarse cut is looser,
  ``truncation ** EXPAND_POWER``: the finer kernel is narrower). Children's costs come from one
  small batched product per coarse pair. So the fine levels cost
  O(N·k) with k the number of pairs within a few kernel widths, not O(N·M).
* **Extrapolation.** At a jump the finer points' potentials are GeomLoss's: one softmin of the
  coarser level's potentials over the coarser points that their parent's kept pairs reach,
  ``f(x_i) = -ε log Σ_J b_J exp((g_J - C(x_i, y_J))/ε)`` (and the same for ``g``). Copying the
  parent's potential, or its first-order Taylor expansion, was measured worse (64² images: column
  marginal error 1.07 and 1.18 against 0.19; averaged potentials are not softmins, so their
  gradient is not ``x - T(x)``).
* **Updates.** Log-domain on a flat pair list: one gather per side, one ``exp``, one
  ``index_add_`` per marginal; potentials as stabiliser, redone with row/column maxima
  (``scatter_reduce``) when a sum under- or overflows, as the dense kernel does.
"""
from __future__ import annotations

import math
import os

import torch
from torch import Tensor

from .pyramid import PyramidLevel, pyramid
from .sinkhorn_kernel import TransportProblem, _steps, epsilon_schedule
from .sparse_pairs import CompiledPairs, SparsePairs, _segment_lse, compiled_available, log_mass

__all__ = ["solve", "check_pair_memory", "TRUNCATION", "RHO", "FINAL_RHO", "EXPAND_POWER"]

#: Pairs whose plan entry is below this fraction of both their row's and their column's maximum
#: are dropped. Measured on 64² all-pixel images against 1e-7 (paper settings): 1e-3 moves targets
#: by up to 0.37 px, 1e-4 by 0.024 px (cost 5e-5 relative), 1e-5 by 0.002 px for +20 % pairs.
TRUNCATION = 1e-4
#: The coarse plan is cut at ``truncation ** EXPAND_POWER`` before its pairs are refined to their
#: children (< 1: a looser cut, more candidates). Measured with the compiled loops on all-pixel
#: images against truncation 1e-9 without loosening (``benchmarks/matching_speed.py --truncation``):
#: 0.75 (the PyTorch loops' choice, where candidates were the cost) moves one target in 10⁴ by
#: more than 0.004-0.017 px but single targets by 0.37 / 0.24 / 11.3 px at 64² / 128² / 256²;
#: 1 (no loosening) 0.024 / 0.24 / 1.4 px (99 % within 0.001-0.003 px, mean 0.0002-0.001 px) for
#: 0-25 % more time; 0.5 is worse everywhere (1.7 px at 128², 40 px at 256²).
EXPAND_POWER = 1.0
#: A level is used at temperature ε when its cells are at most ``RHO · sqrt(ε)`` wide.
RHO = 1.0
#: The last temperature runs on pooled targets (sources projected from the points) when a level's
#: cells are at most ``FINAL_RHO · blur``; 0 = always on the points.
FINAL_RHO = 1.0


#: Bytes per candidate slot of a refinement (costs, both indices, mask and the product's temporaries;
#: measured peak RSS / peak slots: 128² 0.77 GiB, 256² 1.9 GiB, 512² 3.7 GiB).
BYTES_PER_SLOT = 48
#: The same for the compiled refinement: an int32 column and a cost per candidate, then the kept
#: pairs' int64 columns and costs (float64: 12 + 16 B).
COMPILED_BYTES_PER_SLOT = 28


def _free_bytes(device: torch.device) -> int | None:
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_pair_memory(slots: int, device: torch.device, bytes_per_slot: int = BYTES_PER_SLOT) -> None:
    """The memory guard of the sparse solver, O(N·k): raise :class:`MemoryError` before a refinement
    whose ``slots`` candidate pairs would not fit in the free memory."""
    need, free = slots * bytes_per_slot, _free_bytes(device)
    if free is not None and need > free:
        raise MemoryError(f"multiscale Sinkhorn: refining {slots} candidate pairs needs about {need / 2 ** 30:.3g} GiB "
                          f"but only {free / 2 ** 30:.3g} GiB of {device.type} memory is free; use fewer points "
                          f"(max_points, background pooling) or a larger blur")


class _Children:
    """The children of every cell of a coarse level in padded blocks of at most ``WIDTH``: ``index``
    [B, WIDTH] (padding slots point at child 0, ``valid`` False), their fine points ``points``
    [B, WIDTH, 5] and ``half_sq`` [B, WIDTH] = ½|point|²; a cell with more children has several
    blocks (``blocks`` [n_c], the first ``first`` [n_c]). Costs between children then come as one
    small broadcast product per pair of blocks; the fixed width keeps the padding small (a table as
    wide as the largest cell, 8-12 at middle levels, was measured mostly padding)."""

    WIDTH = 4

    def __init__(self, level: PyramidLevel, fine_points: Tensor) -> None:
        start, order, w = level.child_start, level.child_order, self.WIDTH
        count = start[1:] - start[:-1]
        self.blocks = (count + w - 1) // w
        self.first = torch.cumsum(self.blocks, 0) - self.blocks
        owner = torch.repeat_interleave(self.blocks)
        k = torch.arange(owner.shape[0], device=owner.device) - self.first[owner]
        pos = start[owner][:, None] + w * k[:, None] + torch.arange(w, device=owner.device)
        self.valid = pos < start[owner + 1][:, None]
        self.index = torch.where(self.valid, order[pos.clamp_max(order.shape[0] - 1)], torch.zeros_like(pos))
        self.points = torch.where(self.valid[..., None], fine_points[self.index],
                                  torch.zeros((), dtype=fine_points.dtype))
        self.half_sq = 0.5 * (self.points * self.points).sum(2)
        self.single = bool((self.blocks == 1).all())

    def blocks_of(self, cells: Tensor) -> tuple[Tensor, Tensor]:
        """The blocks of ``cells`` [K]: ``(block [B'], owner [B'])`` (owner: position in ``cells``)."""
        if self.single:
            return self.first.index_select(0, cells), torch.arange(cells.shape[0], device=cells.device)
        n = self.blocks.index_select(0, cells)
        owner = torch.repeat_interleave(n)
        local = torch.arange(owner.shape[0], device=cells.device) - (torch.cumsum(n, 0) - n)[owner]
        return self.first.index_select(0, cells)[owner] + local, owner


def _block_pairs(I: Tensor, J: Tensor, rows: _Children, cols: _Children) -> tuple[Tensor, Tensor]:
    """Every block of ``I`` with every block of ``J`` (coarse pairs [P])."""
    bi, owner = rows.blocks_of(I)
    bj, owner = cols.blocks_of(J.index_select(0, owner))
    return bi.index_select(0, owner), bj


def _dot(a: Tensor, b: Tensor) -> Tensor:
    """``a`` [P, w, D] · ``b`` [P, w', D] -> [P, w, w'], one broadcast product per coordinate
    (batched matrix products of such tiny matrices were measured ~10x slower on CPU)."""
    out = a[:, :, None, 0] * b[:, None, :, 0]
    for d in range(1, a.shape[2]):
        out.addcmul_(a[:, :, None, d], b[:, None, :, d])
    return out


def _child_pairs(I: Tensor, J: Tensor, rows: _Children, cols: _Children) -> tuple[Tensor, Tensor, Tensor]:
    """Every child of ``I`` with every child of ``J`` (coarse pairs [P]): fine ``(I, J, C)``."""
    I, J = _block_pairs(I, J, rows, cols)
    check_pair_memory(I.shape[0] * rows.WIDTH * cols.WIDTH, I.device)
    c = rows.half_sq.index_select(0, I)[:, :, None] + cols.half_sq.index_select(0, J)[:, None, :]
    c -= _dot(rows.points.index_select(0, I), cols.points.index_select(0, J))
    valid = (rows.valid.index_select(0, I)[:, :, None] & cols.valid.index_select(0, J)[:, None, :]).view(-1)
    # Flat contiguous copies then one boolean selection each: measured faster than masking the
    # expanded views, than masked_select and than recovering indices from nonzero() by division.
    ii = rows.index.index_select(0, I)[:, :, None].expand_as(c).contiguous().view(-1)
    jj = cols.index.index_select(0, J)[:, None, :].expand_as(c).contiguous().view(-1)
    return ii[valid], jj[valid], c.view(-1)[valid]


def _softmin_children(I: Tensor, J: Tensor, rows: _Children, y: Tensor, v: Tensor, eps: float, n: int) -> Tensor:
    """``-ε log Σ_J exp(v_J - C(x_c, y_J)/ε)`` for every child ``x_c`` of the cells ``I`` over the
    coarse points ``J`` they are paired with (pairs [P]); [n] float64."""
    I, owner = rows.blocks_of(I)
    J = J.index_select(0, owner)
    yj = y.index_select(0, J)
    c = rows.half_sq.index_select(0, I) + 0.5 * (yj * yj).sum(1)[:, None]
    c -= _dot(rows.points.index_select(0, I), yj[:, None, :])[:, :, 0]
    z = c.mul_(-1.0 / eps).add_(v.index_select(0, J)[:, None]).masked_fill_(~rows.valid.index_select(0, I), -math.inf)
    return -eps * _segment_lse(z.reshape(-1), rows.index.index_select(0, I).reshape(-1), n)


def _source_children(I: Tensor, J: Tensor, rows: _Children, y: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Every child of ``I`` with the coarse point ``J`` itself (pairs [P]): ``(I, J, C)``, fine rows."""
    I, owner = rows.blocks_of(I)
    J = J.index_select(0, owner)
    yj = y.index_select(0, J)
    c = rows.half_sq.index_select(0, I) + 0.5 * (yj * yj).sum(1)[:, None]
    c = c.sub_(_dot(rows.points.index_select(0, I), yj[:, None, :])[:, :, 0]).view(-1)
    valid = rows.valid.index_select(0, I).view(-1)
    ii = rows.index.index_select(0, I).view(-1)
    jj = J[:, None].expand(-1, rows.index.shape[1]).contiguous().view(-1)
    return ii[valid], jj[valid], c[valid]


def _extrapolate(pairs: SparsePairs, f: Tensor, g: Tensor, eps: float, rows: _Children, cols: _Children,
                 len_rows: int, len_cols: int) -> tuple[Tensor, Tensor]:
    """GeomLoss's jump: ``f(x_i) = -ε log Σ_J b_J exp((g_J - C(x_i, y_J))/ε)`` over the coarse
    targets ``J`` of the parent's pairs (and the same for ``g``): [n_fine], [m_fine] float64."""
    u, v = pairs.scaled_potentials(f, g, eps)
    return (_softmin_children(pairs.I, pairs.J, rows, pairs.y, v, eps, len_rows),
            _softmin_children(pairs.J, pairs.I, cols, pairs.x, u, eps, len_cols))


def _cells(p: TransportProblem) -> list[float]:
    """Candidate cell sides, finest first: twice the pitch of ``max(n, m)`` points spread over the
    clouds' widest extent (2 x 2 pooling of a square image), doubling up to that extent."""
    span = float(torch.maximum(p.x.max(0).values, p.y.max(0).values).sub(
        torch.minimum(p.x.min(0).values, p.y.min(0).values)).max())
    top = max(0, math.ceil(math.log2(max(1.0, math.sqrt(max(p.n, p.m))))) - 1)
    return [max(span, 1e-12) / 2 ** k for k in range(top, -1, -1)]


def _level(cells: list[float], eps: float, rho: float) -> int:
    """Index of the coarsest level (0 = the points, k = ``cells[k-1]``) usable at temperature ε."""
    best = 0
    for k, cell in enumerate(cells, start=1):
        if cell <= rho * math.sqrt(eps):
            best = k
    return best


def _torch_jump(coarse: SparsePairs, src: list[PyramidLevel], tgt: list[PyramidLevel], fine: int, f: Tensor,
                g: Tensor, coarse_eps: float, eps: float, truncation: float):
    """From the kept pairs ``coarse`` of level ``fine + 1`` to level ``fine``: the extrapolated
    potentials, every child pair truncated at ``truncation`` under them, and the candidate count."""
    rows, cols = _Children(src[fine + 1], src[fine].points), _Children(tgt[fine + 1], tgt[fine].points)
    f, g = _extrapolate(coarse, f, g, coarse_eps, rows, cols, len(src[fine]), len(tgt[fine]))
    I, J, C = _child_pairs(coarse.I, coarse.J, rows, cols)
    cand = SparsePairs(src[fine].points, tgt[fine].points, log_mass(src[fine].mass), log_mass(tgt[fine].mass),
                       I, J, C)
    return cand.subset(cand.support(f, g, eps, truncation)), f, g, I.shape[0]


def _compiled_jump(coarse: CompiledPairs, src: list[PyramidLevel], tgt: list[PyramidLevel], fine: int, f: Tensor,
                   g: Tensor, coarse_eps: float, eps: float, truncation: float):
    """:func:`_torch_jump` in ``drot._C``'s loops (children enumerated per fine row, never stored
    untruncated as index tensors)."""
    s_c, t_c, s_f, t_f = src[fine + 1], tgt[fine + 1], src[fine], tgt[fine]
    rows_n = (s_c.child_start[1:] - s_c.child_start[:-1]).index_select(0, coarse.I)
    cols_n = (t_c.child_start[1:] - t_c.child_start[:-1]).index_select(0, coarse.J)
    slots = int((rows_n * cols_n).sum())
    check_pair_memory(slots, s_f.points.device, COMPILED_BYTES_PER_SLOT)
    f, g = (coarse.softmin_children(s_f.points, s_f.parent, f, g, coarse_eps),
            coarse.softmin_children(t_f.points, t_f.parent, f, g, coarse_eps, by_column=True))
    fine_pairs = coarse.refine(s_f.points, t_f.points, log_mass(s_f.mass), log_mass(t_f.mass), s_f.parent,
                               t_c.child_start, t_c.child_order, f, g, eps, truncation)
    return fine_pairs, f, g, slots


def _solve_one(p: TransportProblem, blur: float, scaling: float, final_iters: int, want_plan: bool,
               truncation: float, rho: float, final_rho: float, compiled: bool, reach: float | None):
    eps_list = epsilon_schedule(p.diameter, blur, scaling)
    steps = [(kinds[0], eps[0]) for kinds, eps in _steps([eps_list], final_iters)]
    cells = _cells(p)
    # The last temperature and the extrapolation run on the points, or on pooled points when the
    # blur spans several pixels (a plan is always on the points).
    last = 0 if want_plan else _level(cells, blur ** 2, final_rho)
    levels = [last if e <= blur ** 2 else max(last, _level(cells, e, rho)) for _, e in steps]
    used = sorted({k for k in levels if k > 0})
    position = {k: i + 1 for i, k in enumerate(used)}
    position[0] = 0
    src = pyramid(p.x, p.a64, [cells[k - 1] for k in used])
    tgt = pyramid(p.y, p.b64, [cells[k - 1] for k in used], extra=p.y_raw)
    pos = position[levels[0]]
    n0, m0 = len(src[pos]), len(tgt[pos])
    dev = p.device
    # Every pair of the coarsest level, by row.
    level = (src[pos].points, tgt[pos].points, log_mass(src[pos].mass), log_mass(tgt[pos].mass))
    J = torch.arange(m0, device=dev).repeat(n0)
    pairs = (CompiledPairs(*level, torch.arange(n0 + 1, device=dev) * m0, J) if compiled
             else SparsePairs(*level, torch.arange(n0, device=dev).repeat_interleave(m0), J))
    f = torch.zeros(pairs.n, dtype=torch.float64, device=dev)
    g = torch.zeros(pairs.m, dtype=torch.float64, device=dev)
    fallbacks, prev_eps, peak_pairs = 0, steps[0][1], pairs.I.shape[0]
    for (kind, eps), k in zip(steps, levels):
        if position[k] != pos:  # jump to the next finer level
            # The finer kernel is narrower (ε drops by scaling² across a jump): a looser cut of the
            # coarse plan still covers it, with room for the potentials to move.
            keep = pairs.support(f, g, prev_eps, truncation ** EXPAND_POWER)
            fine = position[k]
            jump = _compiled_jump if compiled else _torch_jump
            pairs, f, g, slots = jump(pairs.subset(keep), src, tgt, fine, f, g, prev_eps, eps, truncation)
            damp = _damping(prev_eps, reach)  # GeomLoss damps the extrapolation too
            f, g, peak_pairs, pos = damp * f, damp * g, max(peak_pairs, slots), fine
        lr, lc, ok = pairs.log_sums(f, g, eps)
        fallbacks += 0 if ok else 1
        rate, damp = (1.0 if kind != 1 else 0.5), _damping(eps, reach)
        if kind == 0:
            f_new, g_new = -damp * eps * lr, -damp * eps * lc
        else:  # T(g) = f - ε·lr, T(f) = g - ε·lc; a step moves toward the (damped) update
            f_new = (1 - rate) * f + rate * damp * (f - eps * lr)
            g_new = (1 - rate) * g + rate * damp * (g - eps * lc)
        f = torch.where(pairs.rows_mass, f_new, f)
        g = torch.where(pairs.cols, g_new, g)
        prev_eps = eps
    eps = prev_eps
    t = tgt[pos]
    y_raw = p.y_raw if pos == 0 else t.extra
    parent = src[0].parent if pos > 0 else None
    if want_plan:
        return _project_torch(p, pairs, pos, src, f, g, eps, truncation, y_raw, t.spread, want_plan=True)
    if compiled:
        if pos > 0:  # the points project through their cell's pairs
            pairs = pairs.subset(pairs.support(f, g, eps, truncation ** EXPAND_POWER))
        rows = parent if parent is not None else torch.arange(p.n, device=dev)
        num, sq, col, lse = pairs.project(p.x, rows, p.a64, g, eps, y_raw, t.spread)
        final_pairs = int((pairs.ptr[1:] - pairs.ptr[:-1]).index_select(0, rows).sum())
    else:
        num, sq, col, lse, final_pairs = _project_torch(p, pairs, pos, src, f, g, eps, truncation, y_raw, t.spread)
    info = {"solver": "multiscale", "iterations": len(steps), "temperatures": len(eps_list),
            "diameter": p.diameter, "marginal_error": float((col - t.mass).abs().sum()),
            "stabilised_fallbacks": fallbacks, "cells": [cells[k - 1] if k else 0.0 for k in levels],
            "pairs": final_pairs, "peak_pairs": peak_pairs}
    if reach is not None:
        # The pull of unbalanced transport (see sinkhorn_kernel.solve): x + min(w, 1) (T - x) with the
        # row mass w_i = exp(f_i/ε + lse_i); a point below pooled targets has no potential of its own
        # and takes the damped softmin, GeomLoss's extrapolation: f_i/ε = -damp · lse_i.
        log_w = (f / eps + lse) if parent is None else (1.0 - _damping(eps, reach)) * lse
        w = log_w.clamp(max=0.0).exp()
        num = p.x_raw.double() + w[:, None] * (num - p.x_raw.double())
        info["transported"] = float((p.a64 * w).sum())
    return num.to(p.dtype), float((p.a64 * sq).sum()), info


def _damping(eps: float, reach: float | None) -> float:
    """GeomLoss's ``dampening`` of every update: 1 (balanced) or ``1 / (1 + ε / reach²)``."""
    return 1.0 if reach is None else 1.0 / (1.0 + eps / reach ** 2)


def _project_torch(p: TransportProblem, pairs: SparsePairs, pos: int, src: list[PyramidLevel], f: Tensor, g: Tensor,
                   eps: float, truncation: float, y_raw: Tensor, spread: Tensor, want_plan: bool = False):
    """The projection of every source point: softmax over its pairs of ``log b_J + (g_J - C_iJ)/ε``.
    Returns the plan (``want_plan``) or ``(targets [n, 5], Σ_j P_ij (|x_i - y_j|² + spread_j) [n],
    columns [m], lse [n], pairs)`` (float64 tensors), as :meth:`CompiledPairs.project`."""
    dt, dev = p.dtype, p.device
    if pos == 0:
        row, _ = pairs.scores(torch.zeros(pairs.n, dtype=torch.float64, device=dev), g, eps)
        I, J, C = pairs.I, pairs.J, pairs.C
    else:  # targets stay pooled, the sources go down to the points: children of the kept pairs
        keep = pairs.support(f, g, eps, truncation ** EXPAND_POWER)
        I, J, C = _source_children(pairs.I[keep], pairs.J[keep], _Children(src[pos], p.x), pairs.y)
        row = pairs.scaled_potentials(f, g, eps)[1].index_select(0, J).add_(C, alpha=-1.0 / eps)
    lse = _segment_lse(row, I, p.n)
    w = (row - lse.to(dt).index_select(0, I)).exp_()  # P_ij, rows summing to 1
    share = p.a64.to(dt).index_select(0, I) * w  # the plan's entries a_i P_ij
    if want_plan:
        plan = torch.zeros(p.n, p.m, dtype=dt, device=dev)
        plan[I, J] = share
        return p.expand_columns(plan)
    # Σ_j P_ij |x_i - y_j|² over a cell's members = |x_i - ȳ|² + the cell's spread.
    num = torch.zeros(p.n, 6, dtype=dt, device=dev).index_add_(
        0, I, w[:, None] * torch.cat([y_raw.index_select(0, J), (2.0 * C + spread.to(dt).index_select(0, J))[:, None]], 1))
    col = torch.zeros(spread.shape[0], dtype=dt, device=dev).index_add_(0, J, share)
    num = num.double()
    return num[:, :5], num[:, 5], col.double(), lse, int(I.shape[0])


def solve(problems: list[TransportProblem], blur: float, scaling: float, *, final_iters: int = 0,
          want_plan: bool = False, truncation: float = TRUNCATION, rho: float = RHO,
          final_rho: float = FINAL_RHO, kernel: str = "auto", reach: float | None = None) -> list:
    """Solve every problem with the multiscale sparse Sinkhorn, one after another.

    ``reach``: ``None`` (balanced) or unbalanced transport as :func:`drot.matching.sinkhorn_kernel.solve`
    has it (every update and extrapolation damped by ``1 / (1 + ε / reach²)``, targets pulled by the
    row's transported mass). ``kernel``: ``"compiled"`` runs the pair loops in ``drot._C`` (CPU;
    :class:`~drot.matching.sparse_pairs.CompiledPairs`), ``"torch"`` in PyTorch (CPU and CUDA; the
    reference), ``"auto"`` the compiled loops where they are built and the problem is on the CPU.

    Returns what :func:`drot.matching.sinkhorn_kernel.solve` returns — per problem ``(targets [N, 5]
    raw RGBXY, cost, info)`` or, with ``want_plan``, the row-normalised plan ``[N, M]`` (dense, for
    tests) — with ``info["solver"] = "multiscale"`` and, in addition, ``cells`` (the pooled cell of
    each step, 0 = the points), ``pairs`` (pairs of the projection), ``peak_pairs`` and ``kernel``."""
    if kernel not in ("auto", "compiled", "torch"):
        raise ValueError(f"multiscale Sinkhorn: kernel must be 'auto', 'compiled' or 'torch', got {kernel!r}")
    out = []
    for p in problems:
        cpu = p.device.type == "cpu"
        if kernel == "compiled" and not (cpu and compiled_available()):
            raise RuntimeError("multiscale Sinkhorn: kernel='compiled' needs CPU tensors and drot._C built with "
                               "the sparse loops (python3 -m drot.build_extension)")
        compiled = kernel == "compiled" or (kernel == "auto" and cpu and compiled_available())
        res = _solve_one(p, blur, scaling, final_iters, want_plan, truncation, rho, final_rho, compiled, reach)
        if not want_plan:
            res[2]["batch"] = len(problems)
            res[2]["kernel"] = "compiled" if compiled else "torch"
        out.append(res)
    return out
