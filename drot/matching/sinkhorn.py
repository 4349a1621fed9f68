"""Entropic optimal transport matching (Sinkhorn), paper §4.3.3 and §5.2.4.

Convention (the paper's reference code, ``SamplesLoss("sinkhorn", p=2, blur=0.01)``)
----------------------------------------------------------------------------------
The paper's ``ε = 0.01`` is GeomLoss's ``blur``, a *length*. Points are first embedded as
``x~ = [sqrt(λ) rgb, sqrt(1-λ) xy]`` (:func:`~drot.matching.base.embed`), and the entropic
problem is solved on the halved squared distance

    C_ij = ½ ||x~_i - y~_j||²   (= ½ c(i, j) of Eq. 13)

at temperature ``ε_T = blur²``, with the masses ``a`` (source) and ``b`` (target) of each side
normalised to 1. At convergence the transport plan is

    π_ij = a_i b_j exp((f_i + g_j - C_ij) / blur²),

with dual potentials ``f`` [N] and ``g`` [M]. Each source point is matched to the barycentric
projection of its row of the plan,

    T_i = Σ_j π_ij y_j / Σ_j π_ij = Σ_j softmax_j((g_j - C_ij) / blur² + log b_j) · y_j,

which only needs ``g`` and is exactly normalised. :meth:`SinkhornMatcher.plan` returns that
row-normalised plan ``a_i softmax_j(...)``: its rows sum to ``a`` exactly and its columns to
``b`` up to the solver's convergence (``Matching.info["marginal_error"]``).

Solvers
-------
``solver="geomloss"`` is the reference: GeomLoss ``SamplesLoss`` (tensorized backend,
``debias=False`` so that the potentials are those of a transport plan, ``potentials=True``),
then a dense, max-stabilised softmax for the projection.

``solver="fast"`` (``"auto"``) is ours and runs the same algorithm — GeomLoss's symmetric
``sinkhorn_loop`` with ε-scaling: temperatures from ``diameter²`` down to ``blur²``, divided by
``scaling⁻²`` at each step, averaged updates ``f ← ½(f + T(g))``, ``g ← ½(g + T(f))`` and a final
full (extrapolation) step — so both give the same potentials and targets up to rounding
(~1e-5 in float32). On this project's 2-core CPU it is 5-14x faster (4096 vs 4096 points,
a 64² image with its background: ~0.21 s against ~2.6 s; 128² full images: ~3.4 s against
~50 s; a 128² foreground-only render of one object, ~2700 vs ~3900 points: ~0.11 s against
~1.6 s) because of four observations:

1. *One pass per iteration.* GeomLoss's symmetric update evaluates ``T(g)`` over the rows of
   ``C`` and ``T(f)`` over the rows of ``Cᵀ``. Both are log row/column sums of the *same*
   matrix, the current plan ``π_ij = a_i b_j exp((f_i + g_j - C_ij)/ε)``:
   ``T(g)_i = f_i - ε log(Σ_j π_ij / a_i)`` and ``T(f)_j = g_j - ε log(Σ_i π_ij / b_j)``.
   So one ``exp`` of an N x M matrix per iteration instead of two ``logsumexp`` (each a max,
   a subtraction, an exp and a sum).
2. *Potentials as stabiliser.* Those row and column sums stay O(1) (they are the marginals of
   the current plan), so no row maximum is needed. Whenever a sum under- or overflows anyway
   (checked on the [N] and [M] sums, cheap) the iteration is redone with max-stabilised
   ``logsumexp``; ``Matching.info["stabilised_fallbacks"]`` counts those.
3. *No cost matrix, cache-sized blocks.* With ``C_ij = ½|x_i|² + ½|y_j|² - x_i·y_j``, the log
   of the plan is one thin matrix product ``[x_i/ε, log a_i + (f_i - ½|x_i|²)/ε, 1] ·
   [y_j, 1, log b_j + (g_j - ½|y_j|²)/ε]``. Rows are processed in blocks of ``block_bytes``
   (8 MB): the product, the in-place ``exp_`` and both sums run in cache on one preallocated
   buffer (fresh N x M allocations cost more in page faults than the arithmetic). Memory is
   O(N + M) plus one block instead of several N x M matrices (128² images: 8 MB, not 5 GB).
   Both clouds are centred on a common point first (the cost is translation invariant) so
   that the expanded form loses little precision: in float32 the exponent carries an absolute
   error ~1e-3 at ``blur=0.01``, the same as GeomLoss's own ``|x|² + |y|² - 2x·y`` cost.
4. *No slow exp path.* Most plan entries are astronomically small; ``exp`` of arguments below
   ``log(tiny)`` (-87 in float32) takes a denormal slow path 10x slower than the normal one.
   Arguments are clamped at that floor first, which adds at most ``tiny`` per entry.

Explored (numbers in ``benchmarks/matching_speed.py``):

* ``final_iters`` — kept as an option, default 0: extra averaged iterations at ``blur²``
  before the final step. GeomLoss's schedule does a single iteration per temperature, so at
  the paper's settings the plan is far from converged (column-marginal L1 error ~0.33 of a
  total mass of 1 on 64² and 128² images, for GeomLoss and for us alike). Extra iterations
  lower it only slowly (0.28 with 10 more iterations, +70 % time; 0.26 with 30, +200 %): the
  averaged updates converge slowly at ``blur = 0.01`` on image data. A slower schedule is the
  better use of time (``scaling=0.7``: 0.22 for +50 %); fewer temperatures plus a few final
  iterations (``scaling=0.3, final_iters=5``) is both slower and worse (0.34, +40 %: the big
  temperature steps need the stabilised fallback).
* ``max_points`` — kept as an option, off by default: random (seeded) subsampling of either
  side above that size; non-sampled source points take the target of their nearest sampled
  source point in embedded space. Time drops quadratically (128² full images: ~3 s -> ~0.5 s
  at 4096 points) at the price of detail in the matching.
* Warm starts — not kept. Restarting from the previous matching's target potential ``g``
  (same target image) and skipping the first 4-6 of the 11 temperatures saves 25-40 % and is
  as good as a cold start when the render moved by a few pixels, but when it moved far (which
  is what the method is for, and views recur only every ~6 matchings) the result drifted
  twice as far from the converged plan as a cold start. It would also make the matcher
  stateful.
* Inner dimension 8 instead of 7 (a zero column): MKL's thin ``sgemm`` is ~15 % faster.
* Block size: 0.5-16 MB blocks are within ~20 % of each other at 4096 points; 64 MB (the
  whole matrix) is slower, and very small blocks suffer most when other processes compete for
  the cores (every block is a few OpenMP regions).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import Tensor

from .base import Matcher, PointSet, check_lam, compute_dtype, embed, embedding_scale, nearest_neighbor
from .registry import register_matcher

__all__ = ["SinkhornMatcher", "epsilon_schedule", "max_diameter"]

#: Solver names accepted by :class:`SinkhornMatcher` (``auto`` = ``fast``).
SOLVERS = ("auto", "fast", "geomloss")


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


@register_matcher("sinkhorn")
class SinkhornMatcher(Matcher):
    """Optimal transport matching with entropic regularisation (see the module docstring
    for the ε convention and the solvers).

    Args:
        lam: colour weight λ of Eq. (13), in [0, 1]. Paper default 0.5.
        blur: GeomLoss's ``blur`` (the paper's ε), a length > 0; the temperature is ``blur²``
            on the cost ``½ ||x~ - y~||²``. Paper default 0.01.
        scaling: ratio in (0, 1) between successive blur scales of the ε-scaling schedule.
            GeomLoss default 0.5; closer to 1 = more iterations, better converged.
        solver: ``"fast"`` (ours), ``"geomloss"`` (reference) or ``"auto"`` (= fast).
        max_points: if a side has more points, match a random subset of this size (see
            module docstring). ``None`` (default) = never subsample.
        seed: seed of the subsampling generator (one stream per matcher, so successive calls
            draw different subsets, reproducibly).
        final_iters: fast solver only — extra averaged Sinkhorn iterations at the final
            temperature before the extrapolation step. 0 (default) = GeomLoss's schedule.
        block_bytes: fast solver on CPU — size of one row block of the plan (a few MB, cache
            sized). On CUDA the whole plan is one block.
    """

    options = {"lam": "lam", "blur": "blur", "scaling": "scaling", "max_points": "max_points",
               "seed": "seed", "solver": "sinkhorn_solver"}

    def __init__(self, lam: float = 0.5, blur: float = 0.01, scaling: float = 0.5, solver: str = "auto",
                 max_points: int | None = None, seed: int = 0, *, final_iters: int = 0,
                 block_bytes: int = 8 << 20) -> None:
        self.lam = check_lam(lam)
        if isinstance(blur, bool) or not isinstance(blur, (int, float)) or not math.isfinite(blur) or blur <= 0:
            raise ValueError(f"Sinkhorn blur (the paper's ε, a length) must be a finite number > 0, got {blur!r}")
        if isinstance(scaling, bool) or not isinstance(scaling, (int, float)) or not 0 < scaling < 1:
            raise ValueError(f"Sinkhorn scaling must be a number with 0 < scaling < 1, got {scaling!r}")
        if solver not in SOLVERS:
            raise ValueError(f"unknown Sinkhorn solver {solver!r}; valid solvers: {', '.join(SOLVERS)}")
        if max_points is not None and (isinstance(max_points, bool) or not isinstance(max_points, int)
                                       or max_points < 1):
            raise ValueError(f"max_points must be None or an integer >= 1, got {max_points!r}")
        if isinstance(final_iters, bool) or not isinstance(final_iters, int) or final_iters < 0:
            raise ValueError(f"final_iters must be an integer >= 0, got {final_iters!r}")
        if not isinstance(block_bytes, int) or block_bytes < 1:
            raise ValueError(f"block_bytes must be a positive integer, got {block_bytes!r}")
        self.blur = float(blur)
        self.scaling = float(scaling)
        self.solver = "fast" if solver == "auto" else solver
        self.max_points = max_points
        self.seed = seed
        self.final_iters = final_iters
        self.block_bytes = block_bytes
        self._generator = torch.Generator().manual_seed(seed)

    # ------------------------------------------------------------------ public hooks
    def _match(self, source: PointSet, target: PointSet) -> tuple[Tensor, float, dict]:
        prob, src_idx, sizes = self._problem(source, target)
        solve = self._solve_fast if self.solver == "fast" else self._solve_geomloss
        targets, cost, info = solve(prob, want_plan=False)
        return self._complete(source, src_idx, sizes, targets, cost, info)

    def _match_batch(self, pairs: list[tuple[PointSet, PointSet]]) -> list[tuple[Tensor, float, dict]]:
        if self.solver != "fast" or len({(s.dtype, s.device) for s, _ in pairs}) != 1:
            return [self._match(s, t) for s, t in pairs]
        from .sinkhorn_batch import solve_batch

        prepared = [self._problem(s, t) for s, t in pairs]  # subsamples drawn in the order of single calls
        solved = solve_batch([p for p, _, _ in prepared], self.blur, self.scaling, self.block_bytes)
        return [self._complete(source, src_idx, sizes, *result)
                for (source, _), (_, src_idx, sizes), result in zip(pairs, prepared, solved)]

    def _problem(self, source: PointSet, target: PointSet):
        """The (possibly subsampled) problem, the sampled source indices (or None) and the sizes solved."""
        src_idx = self._subsample(len(source), source.device)
        tgt_idx = self._subsample(len(target), source.device)
        src = source if src_idx is None else source.subset(src_idx)
        tgt = target if tgt_idx is None else target.subset(tgt_idx)
        sizes = (len(src), len(tgt)) if src_idx is not None or tgt_idx is not None else None
        return _Problem(src, tgt, self.lam, self.blur, self.scaling), src_idx, sizes

    def _complete(self, source: PointSet, src_idx: Tensor | None, sizes, targets: Tensor, cost: float, info: dict):
        if src_idx is not None:
            # Non-sampled source points follow their nearest sampled neighbour (embedded space).
            full = torch.empty(len(source), 5, dtype=targets.dtype, device=targets.device)
            full[src_idx] = targets
            rest = torch.ones(len(source), dtype=torch.bool, device=source.device)
            rest[src_idx] = False
            dt = compute_dtype(source.dtype)
            x_all = embed(source.points.to(dt), self.lam)
            nn = nearest_neighbor(x_all[rest], x_all[src_idx])
            full[rest] = targets[nn]
            targets = full
        if sizes is not None:
            info["subsampled"] = sizes
        return targets, cost, info

    def _plan(self, source: PointSet, target: PointSet) -> Tensor:
        if self.max_points is not None and max(len(source), len(target)) > self.max_points:
            raise ValueError(f"plan() is not defined with subsampling: sides have {len(source)} and "
                             f"{len(target)} points, max_points={self.max_points}")
        prob = _Problem(source, target, self.lam, self.blur, self.scaling)
        solve = self._solve_fast if self.solver == "fast" else self._solve_geomloss
        plan = solve(prob, want_plan=True)
        return prob.expand_columns(plan)

    def _subsample(self, n: int, device: torch.device) -> Tensor | None:
        if self.max_points is None or n <= self.max_points:
            return None
        return torch.randperm(n, generator=self._generator)[: self.max_points].sort().values.to(device)

    # ------------------------------------------------------------------ fast solver
    def _solve_fast(self, prob: "_Problem", want_plan: bool):
        eps_list = epsilon_schedule(prob.diameter, self.blur, self.scaling)
        kern = _BlockKernel(prob, self.block_bytes)
        # Potentials of the source points with mass (kern.nk of them) and of the target points.
        f = torch.zeros(kern.nk, dtype=torch.float64, device=prob.device)
        g = torch.zeros(prob.m, dtype=torch.float64, device=prob.device)
        fallbacks = 0

        def step(f: Tensor, g: Tensor, eps: float) -> tuple[Tensor, Tensor]:
            nonlocal fallbacks
            lr, lc, ok = kern.log_sums(f, g, eps)
            if not ok:  # a sum under/overflowed: redo this iteration max-stabilised
                fallbacks += 1
                lr, lc = kern.log_sums_stable(f, g, eps)
            return lr, lc

        # First step at the largest temperature: f = T(g=0), g = T(f=0) (no averaging).
        eps = eps_list[0]
        lr, lc = step(f, g, eps)
        f, g = -eps * lr, -eps * lc
        schedule = eps_list + [eps_list[-1]] * self.final_iters
        for eps in schedule:  # symmetric, averaged updates (GeomLoss's sinkhorn_loop)
            lr, lc = step(f, g, eps)
            f = f - (0.5 * eps) * lr
            g = g - (0.5 * eps) * lc
        # Final, full extrapolation step (GeomLoss's last_extrapolation).
        lr, lc = step(f, g, eps)
        f, g = f - eps * lr, g - eps * lc

        if want_plan:
            return kern.project(f, g, eps, want_plan=True)
        targets, cost, col_err, proj_fallbacks = kern.project(f, g, eps)
        info: dict[str, Any] = {"solver": "fast", "iterations": len(schedule) + 2, "temperatures": len(eps_list),
                                "diameter": prob.diameter, "marginal_error": col_err,
                                "stabilised_fallbacks": fallbacks + proj_fallbacks}
        return targets, cost, info

    # ------------------------------------------------------------------ reference solver
    def _solve_geomloss(self, prob: "_Problem", want_plan: bool):
        from geomloss import SamplesLoss

        eps_list = epsilon_schedule(prob.diameter, self.blur, self.scaling)
        loss = SamplesLoss("sinkhorn", p=2, blur=self.blur, scaling=self.scaling, debias=False,
                           potentials=True, backend="tensorized", diameter=max(prob.diameter, self.blur))
        x, y = prob.x, prob.y
        _, G = loss(prob.a, x, prob.b, y)
        G = G.reshape(-1)  # GeomLoss returns [1, M] for unbatched inputs
        eps = self.blur ** 2
        # Dense, max-stabilised projection: P_ij = softmax_j((G_j - C_ij)/eps + log b_j).
        C = torch.cdist(x, y, compute_mode="donot_use_mm_for_euclid_dist").square_().mul_(0.5)
        logits = (G.to(C.dtype).unsqueeze(0) - C) / eps + prob.b.log().unsqueeze(0)
        P = torch.softmax(logits, dim=1)
        del logits
        plan = prob.a.unsqueeze(1) * P
        if want_plan:
            return plan
        targets = P @ prob.y_raw
        cost = float(2.0 * (plan.double() * C.double()).sum())  # Eq. 13 cost = 2 C
        col_err = float((plan.sum(0).double() - prob.b64).abs().sum())
        info = {"solver": "geomloss", "iterations": len(eps_list) + 2, "temperatures": len(eps_list),
                "diameter": prob.diameter, "marginal_error": col_err}
        return targets, cost, info


class _Problem:
    """Inputs of one transport problem, in the solver's compute dtype.

    Attributes:
        x: [N, 5] embedded, centred source points.
        y: [M, 5] embedded, centred target points. Target points of zero mass are dropped
            (they receive nothing and never matter); ``keep`` lists the kept ones (or None).
        centre: [5] the embedded point subtracted from both clouds.
        scale: [5] the factors of :func:`embed`.
        y_raw: [M, 5] raw RGBXY target points (the projection is returned in raw coordinates).
        a: [N], b: [M] masses normalised to 1 (compute dtype); a64, b64: the same in float64.
        src_keep: LongTensor of the source points with positive mass, or None if all have.
        diameter: diagonal of the joint bounding box of the embedded clouds.
    """

    def __init__(self, source: PointSet, target: PointSet, lam: float, blur: float, scaling: float) -> None:
        dt = compute_dtype(source.dtype)
        self.device = source.device
        self.dtype = dt
        self.m_full = len(target)
        tw = target.weights
        self.keep = None if bool((tw > 0).all()) else (tw > 0).nonzero().squeeze(1)
        if self.keep is not None:
            target = target.subset(self.keep)
        sw = source.weights
        self.src_keep = None if bool((sw > 0).all()) else (sw > 0).nonzero().squeeze(1)
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


class _BlockKernel:
    """Row-blocked evaluation of the plan ``π_ij = a_i b_j exp((f_i + g_j - C_ij)/ε)`` without
    ever storing C.

    The log of the plan is ``L_i · R_j`` with ``L = [x/ε, log a + (f - ½|x|²)/ε, 1]`` [N, 7] and
    ``R = [y, 1, log b + (g - ½|y|²)/ε]`` [M, 7]; one ``mm`` per block of rows writes it into a
    preallocated, cache-sized buffer which is then exponentiated and reduced in place.
    The Sinkhorn loop runs on the source points with positive mass only (``nk`` rows);
    the projection covers every source point.
    """

    def __init__(self, prob: _Problem, block_bytes: int) -> None:
        self.p = prob
        n, m, dt = prob.n, prob.m, prob.dtype
        esize = torch.finfo(dt).bits // 8
        self.rows = n if prob.device.type == "cuda" else max(1, min(n, block_bytes // (m * esize)))
        self.buf = torch.empty(self.rows * m, dtype=dt, device=prob.device)
        self.tmp = torch.empty(m, dtype=dt, device=prob.device)
        self.buf2: Tensor | None = None  # second block buffer, for the stabilised fallback only
        self.xsq = 0.5 * (prob.x.double() ** 2).sum(1)  # [N] float64
        self.ysq = 0.5 * (prob.y.double() ** 2).sum(1)  # [M] float64
        self.logb = prob.b64.log()
        sk = prob.src_keep
        self.xk = prob.x if sk is None else prob.x[sk]
        self.xsqk = self.xsq if sk is None else self.xsq[sk]
        self.logak = (prob.a64 if sk is None else prob.a64[sk]).log()
        self.nk = self.xk.shape[0]
        # A sum below exp(log_low) may have lost terms to underflow: redo it stabilised.
        self.log_low = 0.5 * math.log(torch.finfo(dt).tiny)
        # exp() of arguments below log(tiny) returns denormals or 0 through a slow path (10x
        # slower on CPU); clamping first keeps exp_ fast and adds at most `tiny` per entry,
        # far below the log_low threshold above.
        self.exp_floor = math.log(torch.finfo(dt).tiny) + 0.5
        # Raw targets and |y|² side by side: one mm gives the projection and the cost term.
        self.y_ext = torch.cat([prob.y_raw, (2.0 * self.ysq).to(dt).unsqueeze(1)], 1)

    def operands(self, x: Tensor, u: Tensor, g: Tensor, eps: float) -> tuple[Tensor, Tensor]:
        """``L`` [rows, 8] from points ``x`` and the float64 row term ``u`` (already divided by
        ε), and ``R`` [8, M] from the target potential ``g``."""
        p, dt = self.p, self.p.dtype
        ones_n = torch.ones(x.shape[0], 1, dtype=dt, device=p.device)
        ones_m = torch.ones(1, p.m, dtype=dt, device=p.device)
        v = (self.logb + (g - self.ysq) / eps).to(dt).unsqueeze(0)
        # A zero 8th column: MKL's sgemm is ~15 % faster with an inner dimension of 8 than 7.
        L = torch.cat([x / eps, u.to(dt).unsqueeze(1), ones_n, torch.zeros_like(ones_n)], 1)
        R = torch.cat([p.y.t(), ones_m, v, torch.zeros_like(ones_m)], 0).contiguous()
        return L, R

    def _loop_operands(self, f: Tensor, g: Tensor, eps: float) -> tuple[Tensor, Tensor]:
        return self.operands(self.xk, self.logak + (f - self.xsqk) / eps, g, eps)

    def _block(self, L: Tensor, R: Tensor, s: int, e: int) -> Tensor:
        blk = self.buf[: (e - s) * self.p.m].view(e - s, self.p.m)
        torch.mm(L[s:e], R, out=blk)
        return blk

    def log_sums(self, f: Tensor, g: Tensor, eps: float) -> tuple[Tensor, Tensor, bool]:
        """``log(Σ_j π_ij / a_i)`` [nk] and ``log(Σ_i π_ij / b_j)`` [M] (float64), and whether
        no sum under/overflowed."""
        p = self.p
        L, R = self._loop_operands(f, g, eps)
        r = torch.empty(self.nk, dtype=p.dtype, device=p.device)
        c = torch.zeros(p.m, dtype=p.dtype, device=p.device)
        for s in range(0, self.nk, self.rows):
            e = min(self.nk, s + self.rows)
            blk = self._block(L, R, s, e).clamp_(min=self.exp_floor).exp_()
            torch.sum(blk, 1, out=r[s:e])
            torch.sum(blk, 0, out=self.tmp)
            c.add_(self.tmp)
        lr, lc = r.double().log_(), c.double().log_()
        ok = bool(torch.isfinite(lr).all() & torch.isfinite(lc).all()
                  & (lr.min() > self.log_low) & (lc.min() > self.log_low))
        return lr.sub_(self.logak), lc.sub_(self.logb), ok

    def log_sums_stable(self, f: Tensor, g: Tensor, eps: float) -> tuple[Tensor, Tensor]:
        """Same as :meth:`log_sums`, stabilised by the row maxima (rows) and by the column
        maxima of each block (columns): never overflows, and no sum loses its leading terms
        to underflow. About 2-3x the cost of :meth:`log_sums`."""
        p = self.p
        L, R = self._loop_operands(f, g, eps)
        lr = torch.empty(self.nk, dtype=torch.float64, device=p.device)
        lc = torch.full((p.m,), -math.inf, dtype=torch.float64, device=p.device)
        if self.buf2 is None:
            self.buf2 = torch.empty_like(self.buf)
        for s in range(0, self.nk, self.rows):
            e = min(self.nk, s + self.rows)
            blk = self._block(L, R, s, e)
            cmax = blk.amax(0, keepdim=True)
            cols = torch.sub(blk, cmax, out=self.buf2[: blk.numel()].view_as(blk))
            csum = cols.clamp_(min=self.exp_floor).exp_().sum(0)
            lc = torch.logaddexp(lc, csum.double().log_() + cmax.squeeze(0).double())
            rmax = blk.amax(1, keepdim=True)
            rsum = blk.sub_(rmax).clamp_(min=self.exp_floor).exp_().sum(1)
            lr[s:e] = rsum.double().log_() + rmax.squeeze(1).double()
        return lr - self.logak, lc - self.logb

    def project(self, f: Tensor, g: Tensor, eps: float, want_plan: bool = False):
        """Barycentric projection of every source point with the final potentials.

        Returns ``(targets [N, 5], cost, column-marginal L1 error, stabilised blocks)``, or the
        row-normalised plan [N, M] if ``want_plan``. ``f`` [nk] only stabilises the exponent
        (the softmax over j is invariant to it); a block whose row sums fall outside the safe
        range (e.g. rows of massless source points, which have no potential) is redone with
        its row maxima.
        """
        p = self.p
        f_all = f if p.src_keep is None else f.new_zeros(p.n).index_copy_(0, p.src_keep, f)
        L, R = self.operands(p.x, (f_all - self.xsq) / eps, g, eps)
        plan = torch.empty(p.n, p.m, dtype=p.dtype, device=p.device) if want_plan else None
        num = torch.empty(p.n, 6, dtype=p.dtype, device=p.device)
        den = torch.empty(p.n, dtype=p.dtype, device=p.device)
        col = torch.zeros(p.m, dtype=p.dtype, device=p.device)
        low = math.exp(self.log_low)
        fallbacks = 0
        for s in range(0, p.n, self.rows):
            e = min(p.n, s + self.rows)
            blk = self._block(L, R, s, e).clamp_(min=self.exp_floor).exp_()
            d = den[s:e]
            torch.sum(blk, 1, out=d)
            if not bool(torch.isfinite(d).all() & (d.min() > low)):
                fallbacks += 1
                blk = self._block(L, R, s, e)
                blk.sub_(blk.amax(1, keepdim=True)).clamp_(min=self.exp_floor).exp_()
                torch.sum(blk, 1, out=d)
            w = p.a[s:e] / d  # the normalised plan's rows are a_i e_ij / Σ_j e_ij
            if plan is not None:
                torch.mul(blk, w.unsqueeze(1), out=plan[s:e])
                continue
            torch.mm(blk, self.y_ext, out=num[s:e])
            col.addmv_(blk.t(), w)
        if plan is not None:
            return plan
        num = num.double() / den.double().unsqueeze(1)
        targets = num[:, :5].to(p.dtype)
        # Σ_j P_ij |x_i - y_j|² = |x_i|² - 2 x_i·T~_i + Σ_j P_ij |y_j|²  (centred embedded coords).
        t_emb = num[:, :5] * p.scale.double() - p.centre.double()
        per_row = 2.0 * self.xsq - 2.0 * (p.x.double() * t_emb).sum(1) + num[:, 5]
        cost = float((p.a64 * per_row).sum())
        col_err = float((col.double() - p.b64).abs().sum())
        return targets, cost, col_err, fallbacks
