"""Sinkhorn for many independent transport problems in one solve (batched multi-start).

:func:`solve_batch` runs the algorithm of :class:`~drot.matching.sinkhorn.SinkhornMatcher`'s fast
solver — ε-scaling, symmetric averaged updates, a final extrapolation step, the plan evaluated in
row blocks without storing the cost matrix, potentials as stabiliser with a max-stabilised
fallback — on ``S`` problems at once: every block is one batched matrix product over the ``S``
problems instead of ``S`` Python calls, which is what makes many starts cheap on a GPU.

Problems of different sizes are padded: padded (and massless) points carry a log-mass of
``-1e30``, so their plan entries are clamped to the ``exp`` floor (``tiny`` per entry, far below
anything that matters) and they are masked out of every update and check. Each problem keeps its
own temperature schedule (it depends on its diameter): shorter schedules are aligned to end with
the longest one, and a problem simply does not move before its schedule starts. The results equal
:meth:`SinkhornMatcher.match` on each problem alone up to float rounding (``tests/test_multistart.py``).
"""
from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from .sinkhorn import _Problem, epsilon_schedule

_NEG = -1e30  # log-mass of padded and massless points


def _steps(eps_lists: list[list[float]]) -> list[tuple[list[int], list[float]]]:
    """Per global step: each problem's step type (-1 idle, 0 first, 1 averaged, 2 extrapolation) and ε.

    A problem of ``L`` temperatures does ``L + 2`` steps (first, ``L`` averaged, extrapolation),
    placed at the end of the global sequence."""
    total = max(len(e) for e in eps_lists) + 2
    out = []
    for t in range(total):
        kinds, eps = [], []
        for lst in eps_lists:
            k = t - (total - len(lst) - 2)
            if k < 0:
                kinds.append(-1), eps.append(lst[0])
            elif k == 0:
                kinds.append(0), eps.append(lst[0])
            elif k <= len(lst):
                kinds.append(1), eps.append(lst[k - 1])
            else:
                kinds.append(2), eps.append(lst[-1])
        out.append((kinds, eps))
    return out


class _Batch:
    """The ``S`` problems padded to ``[S, N, ·]`` / ``[S, M, ·]``, and their row-blocked plan."""

    def __init__(self, problems: list[_Problem], block_bytes: int) -> None:
        p0 = problems[0]
        self.device, self.dtype = p0.device, p0.dtype
        dev, dt, f64 = p0.device, p0.dtype, torch.float64
        s, n, m = len(problems), max(p.n for p in problems), max(p.m for p in problems)
        self.s, self.n, self.m = s, n, m
        self.x = torch.zeros(s, n, 5, dtype=dt, device=dev)
        self.y = torch.zeros(s, m, 5, dtype=dt, device=dev)
        self.y_ext = torch.zeros(s, m, 6, dtype=dt, device=dev)
        self.loga = torch.full((s, n), _NEG, dtype=f64, device=dev)
        self.logb = torch.full((s, m), _NEG, dtype=f64, device=dev)
        self.a = torch.zeros(s, n, dtype=dt, device=dev)
        self.a64 = torch.zeros(s, n, dtype=f64, device=dev)
        self.b64 = torch.zeros(s, m, dtype=f64, device=dev)
        self.rows_real = torch.zeros(s, n, dtype=torch.bool, device=dev)  # every source point
        self.rows_mass = torch.zeros(s, n, dtype=torch.bool, device=dev)  # source points with mass
        self.cols = torch.zeros(s, m, dtype=torch.bool, device=dev)
        for i, p in enumerate(problems):
            self.x[i, : p.n], self.y[i, : p.m] = p.x, p.y
            self.y_ext[i, : p.m, :5] = p.y_raw
            self.a[i, : p.n], self.a64[i, : p.n], self.b64[i, : p.m] = p.a, p.a64, p.b64
            with_mass = p.a64 > 0
            self.loga[i, : p.n] = torch.where(with_mass, p.a64.clamp_min(1e-300).log(), torch.full_like(p.a64, _NEG))
            self.logb[i, : p.m] = p.b64.log()
            self.rows_real[i, : p.n], self.rows_mass[i, : p.n], self.cols[i, : p.m] = True, with_mass, True
        self.xsq = 0.5 * (self.x.double() ** 2).sum(2)
        self.ysq = 0.5 * (self.y.double() ** 2).sum(2)
        self.y_ext[..., 5] = (2.0 * self.ysq).to(dt)
        esize = torch.finfo(dt).bits // 8
        self.rows = n if dev.type == "cuda" else max(1, min(n, block_bytes // (s * m * esize)))
        self.buf = torch.empty(s * self.rows * m, dtype=dt, device=dev)
        self.log_low = 0.5 * math.log(torch.finfo(dt).tiny)
        self.exp_floor = math.log(torch.finfo(dt).tiny) + 0.5

    def operands(self, u: Tensor, g: Tensor, eps: Tensor) -> tuple[Tensor, Tensor]:
        """``L`` [S, N, 8] from the float64 row term ``u`` (already divided by ε) and ``R`` [S, 8, M]."""
        dt, e = self.dtype, eps[:, None]
        ones_n = torch.ones(self.s, self.n, 1, dtype=dt, device=self.device)
        ones_m = torch.ones(self.s, 1, self.m, dtype=dt, device=self.device)
        v = (self.logb + (g - self.ysq) / e).to(dt).unsqueeze(1)
        L = torch.cat([self.x / e[..., None].to(dt), u.to(dt).unsqueeze(2), ones_n, torch.zeros_like(ones_n)], 2)
        R = torch.cat([self.y.transpose(1, 2), ones_m, v, torch.zeros_like(ones_m)], 1).contiguous()
        return L, R

    def _block(self, L: Tensor, R: Tensor, s: int, e: int) -> Tensor:
        blk = self.buf[: self.s * (e - s) * self.m].view(self.s, e - s, self.m)
        return torch.bmm(L[:, s:e], R, out=blk)

    def log_sums(self, f: Tensor, g: Tensor, eps: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``log(Σ_j π_ij / a_i)`` [S, N], ``log(Σ_i π_ij / b_j)`` [S, M] and, per problem, whether no
        sum of a real point under/overflowed."""
        L, R = self.operands(self.loga + (f - self.xsq) / eps[:, None], g, eps)
        r = torch.empty(self.s, self.n, dtype=self.dtype, device=self.device)
        c = torch.zeros(self.s, self.m, dtype=self.dtype, device=self.device)
        for s in range(0, self.n, self.rows):
            e = min(self.n, s + self.rows)
            blk = self._block(L, R, s, e).clamp_(min=self.exp_floor).exp_()
            r[:, s:e] = blk.sum(2)
            c.add_(blk.sum(1))
        lr, lc = r.double().log_(), c.double().log_()
        bad_r = (~torch.isfinite(lr) | (lr <= self.log_low)) & self.rows_mass
        bad_c = (~torch.isfinite(lc) | (lc <= self.log_low)) & self.cols
        return lr - self.loga, lc - self.logb, ~(bad_r.any(1) | bad_c.any(1))

    def log_sums_stable(self, f: Tensor, g: Tensor, eps: Tensor) -> tuple[Tensor, Tensor]:
        """:meth:`log_sums` stabilised by row maxima and per-block column maxima."""
        L, R = self.operands(self.loga + (f - self.xsq) / eps[:, None], g, eps)
        lr = torch.empty(self.s, self.n, dtype=torch.float64, device=self.device)
        lc = torch.full((self.s, self.m), -math.inf, dtype=torch.float64, device=self.device)
        for s in range(0, self.n, self.rows):
            e = min(self.n, s + self.rows)
            blk = self._block(L, R, s, e)
            cmax = blk.amax(1, keepdim=True)
            csum = (blk - cmax).clamp_(min=self.exp_floor).exp_().sum(1)
            lc = torch.logaddexp(lc, csum.double().log_() + cmax.squeeze(1).double())
            rmax = blk.amax(2, keepdim=True)
            rsum = blk.sub_(rmax).clamp_(min=self.exp_floor).exp_().sum(2)
            lr[:, s:e] = rsum.double().log_() + rmax.squeeze(2).double()
        return lr - self.loga, lc - self.logb

    def project(self, f: Tensor, g: Tensor, eps: Tensor) -> tuple[Tensor, Tensor, Tensor, int]:
        """Barycentric projection of every source point: targets [S, N, 5], the cost per problem
        (as :class:`SinkhornMatcher`'s ``(Σ_ij π_ij |x_i − y_j|²)``), column-marginal L1 error per
        problem, and the number of blocks redone stabilised."""
        u = torch.where(self.rows_real, (f - self.xsq) / eps[:, None], torch.full_like(f, _NEG))
        L, R = self.operands(u, g, eps)
        num = torch.empty(self.s, self.n, 6, dtype=self.dtype, device=self.device)
        den = torch.ones(self.s, self.n, dtype=self.dtype, device=self.device)
        col = torch.zeros(self.s, self.m, dtype=self.dtype, device=self.device)
        low, fallbacks = math.exp(self.log_low), 0
        for s in range(0, self.n, self.rows):
            e = min(self.n, s + self.rows)
            blk = self._block(L, R, s, e).clamp_(min=self.exp_floor).exp_()
            d = blk.sum(2)
            real = self.rows_real[:, s:e]
            if bool(((~torch.isfinite(d) | (d <= low)) & real).any()):
                fallbacks += 1
                blk = self._block(L, R, s, e)
                blk.sub_(blk.amax(2, keepdim=True)).clamp_(min=self.exp_floor).exp_()
                d = blk.sum(2)
            den[:, s:e] = torch.where(real, d, torch.ones_like(d))
            w = self.a[:, s:e] / den[:, s:e]
            num[:, s:e] = torch.bmm(blk, self.y_ext)
            col.add_(torch.bmm(w.unsqueeze(1), blk).squeeze(1))
        num = num.double() / den.double().unsqueeze(2)
        return num, col, fallbacks


def solve_batch(problems: list[_Problem], blur: float, scaling: float, block_bytes: int = 8 << 20
                ) -> list[tuple[Tensor, float, dict[str, Any]]]:
    """Solve every problem (:class:`~drot.matching.sinkhorn._Problem`, all of one dtype and device)
    with the fast Sinkhorn solver, batched. Returns, per problem, ``(targets [N, 5], cost, info)``
    as :meth:`SinkhornMatcher._match` does for one."""
    batch = _Batch(problems, block_bytes)
    eps_lists = [epsilon_schedule(p.diameter, blur, scaling) for p in problems]
    f = torch.zeros(batch.s, batch.n, dtype=torch.float64, device=batch.device)
    g = torch.zeros(batch.s, batch.m, dtype=torch.float64, device=batch.device)
    fallbacks = torch.zeros(batch.s, dtype=torch.long)
    eps = None
    for kinds, eps_values in _steps(eps_lists):
        kind = torch.tensor(kinds, device=batch.device)[:, None]
        eps = torch.tensor(eps_values, dtype=torch.float64, device=batch.device)
        lr, lc, ok = batch.log_sums(f, g, eps)
        active = (kind >= 0).squeeze(1)
        if not bool(ok[active].all()):  # a sum under/overflowed: redo this step max-stabilised
            fallbacks += (~ok & active).cpu().long()
            lr, lc = batch.log_sums_stable(f, g, eps)
        e = eps[:, None]
        rate = torch.where(kind == 1, 0.5, 1.0).to(torch.float64)  # averaged steps move half-way
        f_new = torch.where(kind == 0, -e * lr, f - rate * e * lr)
        g_new = torch.where(kind == 0, -e * lc, g - rate * e * lc)
        f = torch.where((kind >= 0) & batch.rows_mass, f_new, f)
        g = torch.where((kind >= 0) & batch.cols, g_new, g)
    num, col, proj_fallbacks = batch.project(f, g, eps)
    results = []
    for i, p in enumerate(problems):
        t = num[i, : p.n]
        t_emb = t[:, :5] * p.scale.double() - p.centre.double()
        per_row = 2.0 * batch.xsq[i, : p.n] - 2.0 * (p.x.double() * t_emb).sum(1) + t[:, 5]
        cost = float((p.a64 * per_row).sum())
        col_err = float((col[i, : p.m].double() - p.b64).abs().sum())
        info = {"solver": "fast-batched", "iterations": len(eps_lists[i]) + 2, "temperatures": len(eps_lists[i]),
                "diameter": p.diameter, "marginal_error": col_err, "batch": len(problems),
                "stabilised_fallbacks": int(fallbacks[i]) + proj_fallbacks}
        results.append((t[:, :5].to(p.dtype), cost, info))
    return results
