"""The Sinkhorn kernel: ``S`` independent entropic transport problems solved as one batch.

One matching is a batch of one (:class:`~drot.matching.sinkhorn.SinkhornMatcher` always calls
:func:`solve`); the ``S`` starts of a multi-start run, or several views, are one call. The
algorithm is GeomLoss's symmetric ``sinkhorn_loop`` with ε-scaling (temperatures from
``diameter²`` down to ``blur²``, averaged updates, a final extrapolation step; see
:mod:`~drot.matching.sinkhorn` for the convention and the speed observations), evaluated as:

* the log of the plan ``log π_ij = L_i · R_j`` as one thin batched matrix product per block of
  rows (``[S, rows, 8] x [S, 8, M]``) written into one preallocated, cache-sized buffer, then
  exponentiated and reduced in place — never the cost matrix, O(S·(N + M)) memory plus a block;
* the potentials as stabiliser (no row maxima); an iteration whose sums under- or overflow is
  redone max-stabilised (``info["stabilised_fallbacks"]``);
* problems of different sizes padded to ``[S, N, ·]`` / ``[S, M, ·]``: padded and massless points
  carry the log-mass ``-1e30``, so their plan entries sit at the ``exp`` floor (``tiny`` each) and
  they are masked out of every update and check;
* each problem keeps its own temperature schedule (it depends on its diameter), aligned to end
  with the longest: a problem does not move before its schedule starts.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import Tensor

from .base import PointSet, compute_dtype, embed, embedding_scale

__all__ = ["TransportProblem", "epsilon_schedule", "max_diameter", "solve"]

_NEG = -1e30  # log-mass of padded and massless points


def max_diameter(x: Tensor, y: Tensor) -> float:
    """Diagonal of the joint bounding box of ``x`` [N, D] and ``y`` [M, D] (GeomLoss's
    starting scale of the ε-scaling schedule)."""
    lo = torch.minimum(x.min(0).values, y.min(0).values)
    hi = torch.maximum(x.max(0).values, y.max(0).values)
    return float((hi - lo).double().norm())


def epsilon_schedule(diameter: float, blur: float, scaling: float) -> list[float]:
    """Temperatures of the ε-scaling loop for ``p = 2``, identical to GeomLoss's.

    Starts at ``diameter²`` and divides by ``scaling⁻²`` each step down to ``blur²``
    (always the last entry). ``diameter`` is clamped to ``>= blur`` so that degenerate clouds
    (all points equal) still give a valid schedule.
    """
    d = max(float(diameter), float(blur))
    return ([d ** 2]
            + [float(np.exp(e)) for e in np.arange(2 * np.log(d), 2 * np.log(blur), 2 * np.log(scaling))]
            + [blur ** 2])


class TransportProblem:
    """Inputs of one transport problem, in the solver's compute dtype.

    Attributes:
        x: [N, 5] embedded, centred source points.
        y: [M, 5] embedded, centred target points. Target points of zero mass are dropped
            (they receive nothing and never matter); ``keep`` lists the kept ones (or None).
        centre: [5] the embedded point subtracted from both clouds.
        scale: [5] the factors of :func:`embed`.
        x_raw: [N, 5] raw RGBXY source points (unbalanced transport's targets start from them).
        y_raw: [M, 5] raw RGBXY target points (the projection is returned in raw coordinates).
        a: [N], b: [M] masses normalised to 1 (compute dtype); a64, b64: the same in float64.
        diameter: diagonal of the joint bounding box of the embedded clouds.
    """

    def __init__(self, source: PointSet, target: PointSet, lam: float) -> None:
        dt = compute_dtype(source.dtype)
        self.device = source.device
        self.dtype = dt
        self.m_full = len(target)
        tw = target.weights
        self.keep = None if bool((tw > 0).all()) else (tw > 0).nonzero().squeeze(1)
        if self.keep is not None:
            target = target.subset(self.keep)
        x = embed(source.points.to(dt), lam)
        y = embed(target.points.to(dt), lam)
        # Translation invariance: centre both clouds on one point so that the expanded cost
        # ½|x|² + ½|y|² - x·y has small terms (precision in float32).
        lo = torch.minimum(x.min(0).values, y.min(0).values)
        hi = torch.maximum(x.max(0).values, y.max(0).values)
        self.centre = 0.5 * (lo + hi)
        self.x = x - self.centre
        self.y = y - self.centre
        self.diameter = float((hi - lo).double().norm())
        self.x_raw = source.points.to(dt)
        self.y_raw = target.points.to(dt)
        self.scale = embedding_scale(lam, self.x)
        self.a64 = source.normalized_weights(torch.float64)
        self.b64 = target.normalized_weights(torch.float64)
        self.a = self.a64.to(dt)
        self.b = self.b64.to(dt)
        self.n, self.m = self.x.shape[0], self.y.shape[0]

    def expand_columns(self, plan: Tensor) -> Tensor:
        """Re-insert the zero columns of dropped (massless) target points: [N, M'] -> [N, M]."""
        if self.keep is None:
            return plan
        full = plan.new_zeros(plan.shape[0], self.m_full)
        full[:, self.keep] = plan
        return full


def _steps(eps_lists: list[list[float]], final_iters: int) -> list[tuple[list[int], list[float]]]:
    """Per global step: each problem's step type (-1 idle, 0 first, 1 averaged, 2 extrapolation) and ε.

    A problem of ``L`` temperatures does ``L + final_iters + 2`` steps (first, ``L`` averaged,
    ``final_iters`` more averaged at ``blur²``, extrapolation), placed at the end of the sequence."""
    lists = [lst + [lst[-1]] * final_iters for lst in eps_lists]
    total = max(len(e) for e in lists) + 2
    out = []
    for t in range(total):
        kinds, eps = [], []
        for lst in lists:
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


class _Kernel:
    """The ``S`` problems padded to ``[S, N, ·]`` / ``[S, M, ·]``, and their row-blocked plan."""

    def __init__(self, problems: list[TransportProblem], block_bytes: int) -> None:
        p0 = problems[0]
        self.device, self.dtype = p0.device, p0.dtype
        dev, dt, f64 = p0.device, p0.dtype, torch.float64
        s, n, m = len(problems), max(p.n for p in problems), max(p.m for p in problems)
        self.s, self.n, self.m = s, n, m
        if s == 1:  # a batch of one: views of the problem's own tensors, no padding copies
            p = p0
            self.x, self.y = p.x[None], p.y[None]
            self.a, self.a64, self.b64 = p.a[None], p.a64[None], p.b64[None]
            with_mass = p.a64 > 0
            self.loga = torch.where(with_mass, p.a64.clamp_min(1e-300).log(), torch.full_like(p.a64, _NEG))[None]
            self.logb = p.b64.log()[None]
            self.rows_real = torch.ones(1, n, dtype=torch.bool, device=dev)
            self.rows_mass = with_mass[None]
            self.cols = torch.ones(1, m, dtype=torch.bool, device=dev)
            self.y_ext = torch.empty(1, m, 6, dtype=dt, device=dev)
            self.y_ext[0, :, :5] = p.y_raw
        else:
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
                self.loga[i, : p.n] = torch.where(with_mass, p.a64.clamp_min(1e-300).log(),
                                                  torch.full_like(p.a64, _NEG))
                self.logb[i, : p.m] = p.b64.log()
                self.rows_real[i, : p.n], self.rows_mass[i, : p.n], self.cols[i, : p.m] = True, with_mass, True
        self.xsq = 0.5 * (self.x.double() ** 2).sum(2)
        self.ysq = 0.5 * (self.y.double() ** 2).sum(2)
        # Raw targets and |y|² side by side: one product gives the projection and the cost term.
        self.y_ext[..., 5] = (2.0 * self.ysq).to(dt)
        esize = torch.finfo(dt).bits // 8
        self.rows = n if dev.type == "cuda" else max(1, min(n, block_bytes // (s * m * esize)))
        self.buf = torch.empty(s * self.rows * m, dtype=dt, device=dev)
        self.buf2: Tensor | None = None  # second block buffer, for the stabilised fallback only
        # A sum below exp(log_low) may have lost terms to underflow: redo it stabilised.
        self.log_low = 0.5 * math.log(torch.finfo(dt).tiny)
        # exp() of arguments below log(tiny) takes a slow denormal path (10x slower on CPU);
        # clamping first keeps exp_ fast and adds at most `tiny` per entry.
        self.exp_floor = math.log(torch.finfo(dt).tiny) + 0.5

    def operands(self, u: Tensor, g: Tensor, eps: Tensor) -> tuple[Tensor, Tensor]:
        """``L`` [S, N, 8] from the float64 row term ``u`` (already divided by ε) and ``R`` [S, 8, M]."""
        dt, e = self.dtype, eps[:, None]
        ones_n = torch.ones(self.s, self.n, 1, dtype=dt, device=self.device)
        ones_m = torch.ones(self.s, 1, self.m, dtype=dt, device=self.device)
        v = (self.logb + (g - self.ysq) / e).to(dt).unsqueeze(1)
        # A zero 8th column: MKL's sgemm is ~15 % faster with an inner dimension of 8 than 7.
        L = torch.cat([self.x / e[..., None].to(dt), u.to(dt).unsqueeze(2), ones_n, torch.zeros_like(ones_n)], 2)
        R = torch.cat([self.y.transpose(1, 2), ones_m, v, torch.zeros_like(ones_m)], 1).contiguous()
        return L, R

    def _block(self, L: Tensor, R: Tensor, s: int, e: int, buf: Tensor | None = None) -> Tensor:
        buf = self.buf if buf is None else buf
        blk = buf[: self.s * (e - s) * self.m].view(self.s, e - s, self.m)
        return torch.bmm(L[:, s:e], R, out=blk)

    def log_sums(self, f: Tensor, g: Tensor, eps: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``log(Σ_j π_ij / a_i)`` [S, N], ``log(Σ_i π_ij / b_j)`` [S, M] and, per problem, whether no
        sum of a point with mass under/overflowed."""
        L, R = self.operands(self.loga + (f - self.xsq) / eps[:, None], g, eps)
        r = torch.empty(self.s, self.n, dtype=self.dtype, device=self.device)
        c = torch.zeros(self.s, self.m, dtype=self.dtype, device=self.device)
        for s in range(0, self.n, self.rows):
            e = min(self.n, s + self.rows)
            blk = self._block(L, R, s, e).clamp_(min=self.exp_floor).exp_()
            torch.sum(blk, 2, out=r[:, s:e])
            c.add_(blk.sum(1))
        lr, lc = r.double().log_(), c.double().log_()
        bad_r = (~torch.isfinite(lr) | (lr <= self.log_low)) & self.rows_mass
        bad_c = (~torch.isfinite(lc) | (lc <= self.log_low)) & self.cols
        return lr - self.loga, lc - self.logb, ~(bad_r.any(1) | bad_c.any(1))

    def log_sums_stable(self, f: Tensor, g: Tensor, eps: Tensor) -> tuple[Tensor, Tensor]:
        """:meth:`log_sums` stabilised by row maxima and per-block column maxima: never overflows,
        and no sum loses its leading terms to underflow. About 2-3x the cost of :meth:`log_sums`."""
        L, R = self.operands(self.loga + (f - self.xsq) / eps[:, None], g, eps)
        lr = torch.empty(self.s, self.n, dtype=torch.float64, device=self.device)
        lc = torch.full((self.s, self.m), -math.inf, dtype=torch.float64, device=self.device)
        if self.buf2 is None:
            self.buf2 = torch.empty_like(self.buf)
        for s in range(0, self.n, self.rows):
            e = min(self.n, s + self.rows)
            blk = self._block(L, R, s, e)
            cmax = blk.amax(1, keepdim=True)
            cols = torch.sub(blk, cmax, out=self.buf2[: blk.numel()].view_as(blk))
            csum = cols.clamp_(min=self.exp_floor).exp_().sum(1)
            lc = torch.logaddexp(lc, csum.double().log_() + cmax.squeeze(1).double())
            rmax = blk.amax(2, keepdim=True)
            rsum = blk.sub_(rmax).clamp_(min=self.exp_floor).exp_().sum(2)
            lr[:, s:e] = rsum.double().log_() + rmax.squeeze(2).double()
        return lr - self.loga, lc - self.logb

    def project(self, f: Tensor, g: Tensor, eps: Tensor, want_plan: bool = False):
        """Barycentric projection of every source point with the final potentials.

        Returns ``(num [S, N, 6], column sums [S, M], stabilised blocks, row masses [S, N])`` —
        ``num[..., :5]`` the matched targets, ``num[..., 5]`` each row's mean ``|y|²``, the row
        masses ``Σ_j π_ij / a_i`` (1 for balanced transport at convergence) — or the row-normalised plans
        ``[S, N, M]`` if ``want_plan``. ``f`` only stabilises the exponent (the softmax over j is
        invariant to it); a block whose row sums fall outside the safe range (e.g. rows of
        massless source points) is redone with its row maxima."""
        u = torch.where(self.rows_real, (f - self.xsq) / eps[:, None], torch.full_like(f, _NEG))
        L, R = self.operands(u, g, eps)
        plan = torch.empty(self.s, self.n, self.m, dtype=self.dtype, device=self.device) if want_plan else None
        num = torch.empty(self.s, self.n, 6, dtype=self.dtype, device=self.device)
        den = torch.ones(self.s, self.n, dtype=self.dtype, device=self.device)
        col = torch.zeros(self.s, self.m, dtype=self.dtype, device=self.device)
        mass = torch.ones(self.s, self.n, dtype=torch.float64, device=self.device)
        low, fallbacks = math.exp(self.log_low), 0
        for s in range(0, self.n, self.rows):
            e = min(self.n, s + self.rows)
            blk = self._block(L, R, s, e).clamp_(min=self.exp_floor).exp_()
            d = blk.sum(2)
            real = self.rows_real[:, s:e]
            if bool(((~torch.isfinite(d) | (d <= low)) & real).any()):
                fallbacks += 1
                blk = self._block(L, R, s, e)
                top = blk.amax(2, keepdim=True)
                blk.sub_(top).clamp_(min=self.exp_floor).exp_()
                d = blk.sum(2)
                mass[:, s:e] = (d.double().log() + top.squeeze(2).double()).clamp(max=700.0).exp()
            else:
                mass[:, s:e] = d.double()
            den[:, s:e] = torch.where(real, d, torch.ones_like(d))
            w = self.a[:, s:e] / den[:, s:e]  # the normalised plan's rows are a_i e_ij / Σ_j e_ij
            if plan is not None:
                torch.mul(blk, w.unsqueeze(2), out=plan[:, s:e])
                continue
            torch.bmm(blk, self.y_ext, out=num[:, s:e])
            col.add_(torch.bmm(w.unsqueeze(1), blk).squeeze(1))
        if plan is not None:
            return plan
        return num.double() / den.double().unsqueeze(2), col, fallbacks, mass


def _iterate(kern: _Kernel, eps_lists: list[list[float]], final_iters: int, reach: float | None = None):
    """The ε-scaling loop on every problem: final potentials ``f`` [S, N], ``g`` [S, M], the last
    temperatures [S] and the stabilised iterations per problem [S].

    With ``reach`` (a length, GeomLoss's convention), the marginal constraints are relaxed to a
    KL penalty of strength ``ρ = reach²``: each Sinkhorn update ``T(·)`` is damped by
    ``1 / (1 + ε/ρ)`` (GeomLoss's ``dampening``), so mass that would have to travel much farther
    than ``reach`` is left untransported instead."""
    f = torch.zeros(kern.s, kern.n, dtype=torch.float64, device=kern.device)
    g = torch.zeros(kern.s, kern.m, dtype=torch.float64, device=kern.device)
    fallbacks = torch.zeros(kern.s, dtype=torch.long)
    eps = None
    for kinds, eps_values in _steps(eps_lists, final_iters):
        kind = torch.tensor(kinds, device=kern.device)[:, None]
        eps = torch.tensor(eps_values, dtype=torch.float64, device=kern.device)
        lr, lc, ok = kern.log_sums(f, g, eps)
        active = (kind >= 0).squeeze(1)
        if not bool(ok[active].all()):  # a sum under/overflowed: redo this step max-stabilised
            fallbacks += (~ok & active).cpu().long()
            lr, lc = kern.log_sums_stable(f, g, eps)
        e = eps[:, None]
        rate = torch.where(kind == 1, 0.5, 1.0).to(torch.float64)  # averaged steps move half-way
        if reach is None:
            f_new = torch.where(kind == 0, -e * lr, f - rate * e * lr)
            g_new = torch.where(kind == 0, -e * lc, g - rate * e * lc)
        else:  # T(g) = f - ε·lr, T(f) = g - ε·lc; a step moves toward the damped update
            damp = 1.0 / (1.0 + e / reach ** 2)
            f_new = torch.where(kind == 0, -damp * e * lr, (1 - rate) * f + rate * damp * (f - e * lr))
            g_new = torch.where(kind == 0, -damp * e * lc, (1 - rate) * g + rate * damp * (g - e * lc))
        f = torch.where((kind >= 0) & kern.rows_mass, f_new, f)
        g = torch.where((kind >= 0) & kern.cols, g_new, g)
    return f, g, eps, fallbacks


def solve(problems: list[TransportProblem], blur: float, scaling: float, *, final_iters: int = 0,
          block_bytes: int = 8 << 20, want_plan: bool = False, reach: float | None = None) -> list:
    """Solve every problem (all of one dtype and device) with the Sinkhorn kernel, as one batch
    (balanced, or unbalanced with ``reach``: see :func:`_iterate`).

    Returns, per problem, ``(targets [N, 5], cost, info)`` — the barycentric targets in raw RGBXY
    coordinates, the transport cost ``Σ_ij π_ij |x~_i - y~_j|²`` and ``info`` (``solver``,
    ``iterations``, ``temperatures``, ``diameter``, ``marginal_error``, ``stabilised_fallbacks``,
    ``batch``) — or, with ``want_plan``, the row-normalised plan ``[N, M]`` of each problem (its
    massless target columns re-inserted)."""
    if not problems:
        return []
    kern = _Kernel(problems, block_bytes)
    eps_lists = [epsilon_schedule(p.diameter, blur, scaling) for p in problems]
    f, g, eps, fallbacks = _iterate(kern, eps_lists, final_iters, reach)
    if want_plan:
        plans = kern.project(f, g, eps, want_plan=True)
        return [p.expand_columns(plans[i, : p.n, : p.m]) for i, p in enumerate(problems)]
    num, col, proj_fallbacks, mass = kern.project(f, g, eps)
    results = []
    for i, p in enumerate(problems):
        t = num[i, : p.n]
        # Σ_j P_ij |x_i - y_j|² = |x_i|² - 2 x_i·T~_i + Σ_j P_ij |y_j|²  (centred embedded coords).
        t_emb = t[:, :5] * p.scale.double() - p.centre.double()
        per_row = 2.0 * kern.xsq[i, : p.n] - 2.0 * (p.x.double() * t_emb).sum(1) + t[:, 5]
        cost = float((p.a64 * per_row).sum())
        col_err = float((col[i, : p.m].double() - p.b64).abs().sum())
        info: dict[str, Any] = {"solver": "fast", "iterations": len(eps_lists[i]) + final_iters + 2,
                                "temperatures": len(eps_lists[i]), "diameter": p.diameter,
                                "marginal_error": col_err, "batch": len(problems),
                                "stabilised_fallbacks": int(fallbacks[i]) + proj_fallbacks}
        targets = t[:, :5]
        if reach is not None:
            # Unbalanced transport moves only part of a point's mass: the gradient of the transport
            # cost pulls x_i toward T_i with weight w_i = Σ_j π_ij / a_i, the pull of the target
            # x_i + w_i (T_i - x_i) (w_i ≤ 1: never beyond the barycentre).
            w = mass[i, : p.n].clamp(0.0, 1.0).unsqueeze(1)
            targets = p.x_raw.double() + w * (targets - p.x_raw.double())
            info["transported"] = float((p.a64 * mass[i, : p.n].clamp(0.0, 1.0)).sum())
        results.append((targets.to(p.dtype), cost, info))
    return results
