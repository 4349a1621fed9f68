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
from typing import Any

import torch
from torch import Tensor

from .pyramid import PyramidLevel, pyramid
from .sinkhorn_kernel import TransportProblem, _steps, epsilon_schedule

__all__ = ["solve", "check_pair_memory", "TRUNCATION", "RHO", "FINAL_RHO", "EXPAND_POWER"]

#: Pairs whose plan entry is below this fraction of both their row's and their column's maximum
#: are dropped. Measured on 64² all-pixel images against 1e-7 (paper settings): 1e-3 moves targets
#: by up to 0.37 px, 1e-4 by 0.024 px (cost 5e-5 relative), 1e-5 by 0.002 px for +20 % pairs.
TRUNCATION = 1e-4
#: The coarse plan is cut at ``truncation ** EXPAND_POWER`` before its pairs are refined to their
#: children. Measured on 64² all-pixel images against truncation 1e-7 everywhere: 1 (no loosening)
#: 466 candidates per point, targets within 0.025 px; 0.75: 369, 0.37 px (mean 0.0008 px, cost
#: 2e-4 relative); 0.5: 261, 0.44 px at scaling 0.5 but 1.4 px at scaling 0.9; 0.3: 14 px.
EXPAND_POWER = 0.75
#: A level is used at temperature ε when its cells are at most ``RHO · sqrt(ε)`` wide.
RHO = 1.0
#: The last temperature runs on pooled targets (sources projected from the points) when a level's
#: cells are at most ``FINAL_RHO · blur``; 0 = always on the points.
FINAL_RHO = 1.0
_NEG = -1e30
_EXP_FLOOR = math.log(torch.finfo(torch.float32).tiny) + 0.5  # exp() below it takes a slow denormal path
_CHUNK = 1 << 22  # pairs per chunk when forming costs (bounds the [chunk, 5] temporaries)


#: Bytes per candidate slot of a refinement (costs, both indices, mask and the product's temporaries;
#: measured peak RSS / peak slots: 128² 0.77 GiB, 256² 1.9 GiB, 512² 3.7 GiB).
BYTES_PER_SLOT = 48


def _free_bytes(device: torch.device) -> int | None:
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_pair_memory(slots: int, device: torch.device) -> None:
    """The memory guard of the sparse solver, O(N·k): raise :class:`MemoryError` before a refinement
    whose ``slots`` candidate pairs would not fit in the free memory."""
    need, free = slots * BYTES_PER_SLOT, _free_bytes(device)
    if free is not None and need > free:
        raise MemoryError(f"multiscale Sinkhorn: refining {slots} candidate pairs needs about {need / 2 ** 30:.3g} GiB "
                          f"but only {free / 2 ** 30:.3g} GiB of {device.type} memory is free; use fewer points "
                          f"(max_points, background pooling) or a larger blur")


class _Pairs:
    """A sparse transport problem: points of one level and the candidate pairs ``(I, J)``.

    ``x`` [n, 5] and ``y`` [m, 5] embedded, centred (compute dtype); ``loga`` [n], ``logb`` [m]
    float64 (``-1e30`` for massless points); ``I``, ``J`` [P] int64; ``C`` [P] ``½|x_I - y_J|²``."""

    def __init__(self, x: Tensor, y: Tensor, loga: Tensor, logb: Tensor, I: Tensor, J: Tensor,
                 C: Tensor | None = None) -> None:
        self.x, self.y, self.loga, self.logb, self.I, self.J = x, y, loga, logb, I, J
        self.n, self.m, self.dtype = x.shape[0], y.shape[0], x.dtype
        self.rows_mass, self.cols = loga > 0.5 * _NEG, logb > 0.5 * _NEG
        self.C = _costs(x, y, I, J) if C is None else C
        self.log_low = 0.5 * math.log(torch.finfo(self.dtype).tiny)

    def _z(self, f: Tensor, g: Tensor, eps: float) -> Tensor:
        """``log π_IJ = log a_I + log b_J + (f_I + g_J - C_IJ) / ε`` [P] (compute dtype)."""
        u = (self.loga + f / eps).to(self.dtype)
        v = (self.logb + g / eps).to(self.dtype)
        z = u.index_select(0, self.I)
        z += v.index_select(0, self.J)
        return z.add_(self.C, alpha=-1.0 / eps)

    def log_sums(self, f: Tensor, g: Tensor, eps: float) -> tuple[Tensor, Tensor, bool]:
        """``log(Σ_j π_ij / a_i)`` [n], ``log(Σ_i π_ij / b_j)`` [m] (float64) and whether the
        potential-stabilised sums were safe (else they are redone max-stabilised)."""
        p = self._z(f, g, eps).exp_()
        r = torch.zeros(self.n, dtype=self.dtype, device=p.device).index_add_(0, self.I, p)
        c = torch.zeros(self.m, dtype=self.dtype, device=p.device).index_add_(0, self.J, p)
        lr, lc = r.double().log_(), c.double().log_()
        bad = ((~torch.isfinite(lr) | (lr <= self.log_low)) & self.rows_mass).any() \
            | ((~torch.isfinite(lc) | (lc <= self.log_low)) & self.cols).any()
        if not bool(bad):
            return lr - self.loga, lc - self.logb, True
        z = self._z(f, g, eps)
        return _segment_lse(z, self.I, self.n) - self.loga, _segment_lse(z, self.J, self.m) - self.logb, False

    def scores(self, f: Tensor, g: Tensor, eps: float) -> tuple[Tensor, Tensor]:
        """Row-relative ``log b_J + (g_J - C)/ε`` and column-relative ``log a_I + (f_I - C)/ε`` [P]
        (each misses a term constant along its row / column)."""
        c = self.C * (-1.0 / eps)
        row = (self.logb + g / eps).to(self.dtype).index_select(0, self.J).add_(c)
        col = (self.loga + f / eps).to(self.dtype).index_select(0, self.I).add_(c)
        return row, col

    def support(self, f: Tensor, g: Tensor, eps: float, truncation: float) -> Tensor:
        """The pairs to keep [P] bool: plan entries at least ``truncation`` times their row's or
        their column's largest."""
        row, col = self.scores(f, g, eps)
        return _relative(row, self.I, self.n, truncation)[1] | _relative(col, self.J, self.m, truncation)[1]

    def subset(self, keep: Tensor) -> "_Pairs":
        """The same level restricted to the pairs ``keep`` [P] bool (costs reused)."""
        return _Pairs(self.x, self.y, self.loga, self.logb, self.I[keep], self.J[keep], self.C[keep])


def _costs(x: Tensor, y: Tensor, I: Tensor, J: Tensor) -> Tensor:
    """``½|x_I - y_J|²`` [P], in chunks (the differences are formed exactly, not expanded)."""
    out = torch.empty(I.shape[0], dtype=x.dtype, device=x.device)
    for s in range(0, I.shape[0], _CHUNK):
        d = x.index_select(0, I[s:s + _CHUNK]) - y.index_select(0, J[s:s + _CHUNK])
        out[s:s + _CHUNK] = 0.5 * (d * d).sum(1)
    return out


def _segment_max(z: Tensor, index: Tensor, n: int) -> Tensor:
    return torch.full((n,), -math.inf, dtype=z.dtype, device=z.device).scatter_reduce_(
        0, index, z, "amax", include_self=True)


def _segment_lse(z: Tensor, index: Tensor, n: int) -> Tensor:
    """Max-stabilised ``log Σ exp(z)`` per segment [n] float64 (-inf for empty segments)."""
    mx = _segment_max(z, index, n)
    mx = torch.where(torch.isfinite(mx), mx, torch.zeros_like(mx))
    s = torch.zeros(n, dtype=z.dtype, device=z.device).index_add_(
        0, index, (z - mx[index]).clamp_(min=_EXP_FLOOR).exp_())
    return s.double().log_() + mx.double()


def _relative(score: Tensor, index: Tensor, n: int, truncation: float) -> tuple[Tensor, Tensor]:
    """Weights ``exp(score - segment max)`` [P] and whether each is >= ``truncation``."""
    w = (score - _segment_max(score, index, n).index_select(0, index)).clamp_(min=_EXP_FLOOR).exp_()
    return w, w >= truncation


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


def _extrapolate(pairs: _Pairs, keep: Tensor, f: Tensor, g: Tensor, eps: float, rows: _Children,
                 cols: _Children, len_rows: int, len_cols: int) -> tuple[Tensor, Tensor]:
    """GeomLoss's jump: ``f(x_i) = -ε log Σ_J b_J exp((g_J - C(x_i, y_J))/ε)`` over the coarse
    targets ``J`` of the parent's kept pairs (and the same for ``g``): [n_fine], [m_fine] float64."""
    I, J = pairs.I[keep], pairs.J[keep]
    v = (pairs.logb + g / eps).to(pairs.dtype)
    u = (pairs.loga + f / eps).to(pairs.dtype)
    n_fine, m_fine = len_rows, len_cols
    return (_softmin_children(I, J, rows, pairs.y, v, eps, n_fine),
            _softmin_children(J, I, cols, pairs.x, u, eps, m_fine))


def _log_mass(mass: Tensor) -> Tensor:
    return torch.where(mass > 0, mass.clamp_min(1e-300).log(), torch.full_like(mass, _NEG))


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


def _solve_one(p: TransportProblem, blur: float, scaling: float, final_iters: int, want_plan: bool,
               truncation: float, rho: float, final_rho: float):
    dt = p.dtype
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
    emb = [(lv_s.points, lv_t.points) for lv_s, lv_t in zip(src, tgt)]

    def level_pairs(pos: int, I: Tensor, J: Tensor, C: Tensor | None = None) -> _Pairs:
        return _Pairs(emb[pos][0], emb[pos][1], _log_mass(src[pos].mass), _log_mass(tgt[pos].mass), I, J, C)

    pos = position[levels[0]]
    n0, m0 = len(src[pos]), len(tgt[pos])
    dev = p.device
    I = torch.arange(n0, device=dev).repeat_interleave(m0)
    J = torch.arange(m0, device=dev).repeat(n0)
    pairs = level_pairs(pos, I, J)
    f = torch.zeros(pairs.n, dtype=torch.float64, device=dev)
    g = torch.zeros(pairs.m, dtype=torch.float64, device=dev)
    fallbacks, prev_eps, peak_pairs = 0, steps[0][1], pairs.I.shape[0]
    for (kind, eps), k in zip(steps, levels):
        if position[k] != pos:  # jump to the next finer level
            # The finer kernel is narrower (ε drops by scaling² across a jump): a looser cut of the
            # coarse plan still covers it, with room for the potentials to move.
            keep = pairs.support(f, g, prev_eps, truncation ** EXPAND_POWER)
            fine = position[k]
            rows, cols = _Children(src[pos], emb[fine][0]), _Children(tgt[pos], emb[fine][1])
            f, g = _extrapolate(pairs, keep, f, g, prev_eps, rows, cols, len(src[fine]), len(tgt[fine]))
            I, J, C = _child_pairs(pairs.I[keep], pairs.J[keep], rows, cols)
            cand = level_pairs(fine, I, J, C)
            peak_pairs = max(peak_pairs, I.shape[0])
            pairs, pos = cand.subset(cand.support(f, g, eps, truncation)), fine
            del cand
        lr, lc, ok = pairs.log_sums(f, g, eps)
        fallbacks += 0 if ok else 1
        rate = 1.0 if kind != 1 else 0.5
        if kind == 0:
            f_new, g_new = -eps * lr, -eps * lc
        else:
            f_new, g_new = f - rate * eps * lr, g - rate * eps * lc
        f = torch.where(pairs.rows_mass, f_new, f)
        g = torch.where(pairs.cols, g_new, g)
        prev_eps = eps
    eps = prev_eps
    # Projection of every source point: softmax over its pairs of log b_J + (g_J - C_iJ)/ε.
    if pos == 0:
        row, _ = pairs.scores(torch.zeros(pairs.n, dtype=torch.float64, device=dev), g, eps)
        I, J, C = pairs.I, pairs.J, pairs.C
    else:  # targets stay pooled, the sources go down to the points: children of the kept pairs
        keep = pairs.support(f, g, eps, truncation ** EXPAND_POWER)
        I, J, C = _source_children(pairs.I[keep], pairs.J[keep], _Children(src[pos], p.x), pairs.y)
        row = (pairs.logb + g / eps).to(dt).index_select(0, J).add_(C, alpha=-1.0 / eps)
    w, _ = _relative(row, I, p.n, 0.0)
    den = torch.zeros(p.n, dtype=dt, device=dev).index_add_(0, I, w).double()
    share = (p.a64 / den).to(dt).index_select(0, I) * w  # the plan's entries a_i P_ij
    if want_plan:
        plan = torch.zeros(p.n, p.m, dtype=dt, device=dev)
        plan[I, J] = share
        return p.expand_columns(plan)
    t = tgt[pos]
    y_raw = p.y_raw if pos == 0 else t.extra
    # Σ_j P_ij |x_i - y_j|² over a cell's members = |x_i - ȳ|² + the cell's spread.
    num = torch.zeros(p.n, 6, dtype=dt, device=dev).index_add_(
        0, I, w[:, None] * torch.cat([y_raw.index_select(0, J),
                                      (2.0 * C + t.spread.to(dt).index_select(0, J))[:, None]], 1))
    num = num.double() / den[:, None]
    cost = float((p.a64 * num[:, 5]).sum())
    col = torch.zeros(len(t), dtype=dt, device=dev).index_add_(0, J, share)
    col_err = float((col.double() - t.mass).abs().sum())
    final_pairs = I.shape[0]
    info: dict[str, Any] = {"solver": "multiscale", "iterations": len(steps), "temperatures": len(eps_list),
                            "diameter": p.diameter, "marginal_error": col_err, "stabilised_fallbacks": fallbacks,
                            "cells": [cells[k - 1] if k else 0.0 for k in levels], "pairs": int(final_pairs),
                            "peak_pairs": peak_pairs}
    return num[:, :5].to(p.dtype), cost, info


def solve(problems: list[TransportProblem], blur: float, scaling: float, *, final_iters: int = 0,
          want_plan: bool = False, truncation: float = TRUNCATION, rho: float = RHO,
          final_rho: float = FINAL_RHO) -> list:
    """Solve every problem with the multiscale sparse Sinkhorn, one after another.

    Returns what :func:`drot.matching.sinkhorn_kernel.solve` returns — per problem ``(targets [N, 5]
    raw RGBXY, cost, info)`` or, with ``want_plan``, the row-normalised plan ``[N, M]`` (dense, for
    tests) — with ``info["solver"] = "multiscale"`` and, in addition, ``grids`` (the pooled grid of
    each step, 0 = the points), ``pairs`` (pairs of the projection) and ``peak_pairs``."""
    out = []
    for p in problems:
        res = _solve_one(p, blur, scaling, final_iters, want_plan, truncation, rho, final_rho)
        if not want_plan:
            res[2]["batch"] = len(problems)
        out.append(res)
    return out
