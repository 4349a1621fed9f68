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

Unbalanced transport (``reach``)
--------------------------------
With ``reach`` (a length), the marginal constraints become KL penalties of strength ``ρ = reach²``
(GeomLoss's convention): every Sinkhorn update is damped by ``1 / (1 + ε/ρ)``. The plan's rows no
longer carry their whole mass ``a_i``, and the gradient of the transport cost pulls ``x_i`` toward
``T_i`` with the weight ``w_i = Σ_j π_ij / a_i``; the matcher therefore returns the target
``x_i + min(w_i, 1) (T_i - x_i)``, so a squared distance to it has that gradient. A pixel with no
counterpart within about ``reach`` is left where it is, instead of being dragged across the image to
fill another object's mass. ``info["transported"]`` is ``Σ_i a_i min(w_i, 1)``. The fast kernel and
the GeomLoss path agree to rounding (``tests/test_unbalanced.py``); at the paper's blur neither plan
has converged, so even a huge reach leaves ``w_i`` a few per cent below 1.

Solvers
-------
``solver="geomloss"`` is the reference: GeomLoss ``SamplesLoss`` (tensorized backend,
``debias=False`` so that the potentials are those of a transport plan, ``potentials=True``),
then a dense, max-stabilised softmax for the projection.

``solver="multiscale"`` (``"auto"`` from 8192 points per side on with drot._C built, else from
65536) is ours too — :mod:`~drot.matching.sinkhorn_multiscale`, the same schedule coarse to fine on
a pyramid of both clouds with sparse, truncated candidate pairs (O(N·k) per iteration instead of
O(N·M)), its loops compiled in drot._C on the CPU (:mod:`~drot.matching.sparse_pairs`). It also
runs unbalanced transport (``reach``).

``solver="fast"`` (``"auto"`` below that) is ours — :mod:`~drot.matching.sinkhorn_kernel`, one kernel for a
batch of independent problems (a single matching is a batch of one; the starts of a multi-start
run or several views are one call) — and runs the same algorithm — GeomLoss's symmetric
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

import torch
from torch import Tensor

from .base import Matcher, PointSet, check_lam, compute_dtype, embed, nearest_neighbor
from .registry import register_matcher
from . import sinkhorn_multiscale
from .sinkhorn_kernel import TransportProblem, epsilon_schedule, max_diameter, solve
from .sparse_pairs import compiled_available

__all__ = ["SinkhornMatcher", "epsilon_schedule", "max_diameter"]

#: Solver names accepted by :class:`SinkhornMatcher` (``auto``: ``multiscale`` for large problems,
#: else ``fast``; see :func:`solver_for`).
SOLVERS = ("auto", "fast", "multiscale", "geomloss")

#: ``auto`` picks the multiscale solver when both sides have at least this many points (all pixels
#: of a 256² image) and its loops run in PyTorch (CUDA, or drot._C not built). There it is faster
#: from 64² all-pixel images on (1.5x at 64², 4x at 128², loaded 2-core CPU), but at the paper's blur
#: neither solver has converged after its iterations and they end on different plans (transport
#: cost 1.13-1.17x, some targets 10-20 px apart), so where the dense kernel is affordable ``auto``
#: keeps the dense kernel's results.
AUTO_MULTISCALE_POINTS = 65536
#: The same threshold when the multiscale loops run compiled (drot._C, CPU): 8192 points per side
#: (a 91² all-pixel image, a 256² render of a large object). Measured on the 2-core CPU, one run
#: each (``benchmarks/matching_speed.py --crossover``): multiscale / dense time 0.11 at 96²
#: all-pixel, 0.08 on a 256² foreground (7747 vs 11304 points), 0.76 on 4096 uniform random points;
#: it is faster from ~1000 points per side on images, but below 8192 the dense kernel takes under a
#: second and drot's measured benchmarks (Table 1: every scene but BOX has fewer points) keep its
#: results.
AUTO_MULTISCALE_POINTS_COMPILED = 8192


def solver_for(solver: str, n: int, m: int, compiled: bool = False) -> str:
    """The solver that runs a problem of ``n`` vs ``m`` points for the setting ``solver``;
    ``compiled``: whether the multiscale solver's loops would run in drot._C (CPU tensors, built)."""
    if solver != "auto":
        return solver
    least = AUTO_MULTISCALE_POINTS_COMPILED if compiled else AUTO_MULTISCALE_POINTS
    return "multiscale" if min(n, m) >= least else "fast"


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
        solver: ``"fast"`` (ours, dense), ``"multiscale"`` (ours, sparse coarse-to-fine:
            :mod:`~drot.matching.sinkhorn_multiscale`), ``"geomloss"`` (reference) or ``"auto"``
            (multiscale when both sides have >= ``AUTO_MULTISCALE_POINTS`` points, else fast).
        max_points: if a side has more points, match a random subset of this size (see
            module docstring). ``None`` (default) = never subsample.
        seed: seed of the subsampling generator (one stream per matcher, so successive calls
            draw different subsets, reproducibly).
        final_iters: fast solver only — extra averaged Sinkhorn iterations at the final
            temperature before the extrapolation step. 0 (default) = GeomLoss's schedule.
        block_bytes: fast solver on CPU — size of one row block of the plan (a few MB, cache
            sized). On CUDA the whole plan is one block.
        reach: ``None`` (default, the paper's balanced transport) or a length > 0: unbalanced
            transport, each marginal constraint relaxed to a KL penalty of strength ``reach²``
            (GeomLoss's ``reach``), so pixels with no counterpart within about ``reach`` in the
            embedded space are left unmatched rather than pulled across the image. Fast and
            geomloss solvers only.
    """

    options = {"lam": "lam", "blur": "blur", "scaling": "scaling", "max_points": "max_points",
               "seed": "seed", "solver": "sinkhorn_solver", "reach": "sinkhorn_reach"}

    def __init__(self, lam: float = 0.5, blur: float = 0.01, scaling: float = 0.5, solver: str = "auto",
                 max_points: int | None = None, seed: int = 0, reach: float | None = None, *,
                 final_iters: int = 0, block_bytes: int = 8 << 20) -> None:
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
        if reach is not None and (isinstance(reach, bool) or not isinstance(reach, (int, float))
                                  or not math.isfinite(reach) or reach <= 0):
            raise ValueError(f"Sinkhorn reach must be None (balanced transport) or a finite length > 0, got {reach!r}")
        self.reach = None if reach is None else float(reach)
        self.blur = float(blur)
        self.scaling = float(scaling)
        self.solver = solver
        self.max_points = max_points
        self.seed = seed
        self.final_iters = final_iters
        self.block_bytes = block_bytes
        self._generator = torch.Generator().manual_seed(seed)

    # ------------------------------------------------------------------ public hooks
    def _match(self, source: PointSet, target: PointSet) -> tuple[Tensor, float, dict]:
        return self._match_batch([(source, target)])[0]

    def _match_batch(self, pairs: list[tuple[PointSet, PointSet]]) -> list[tuple[Tensor, float, dict]]:
        # Subsamples are drawn pair by pair, in the order of single calls.
        prepared = [self._problem(s, t) for s, t in pairs]
        if self.solver == "geomloss":
            solved = [self._solve_geomloss(p, want_plan=False) for p, _, _ in prepared]
        else:  # one batched solve per solver, dtype and device (a single matching is a batch of one)
            solved = [None] * len(pairs)
            groups: dict = {}
            for i, (prob, _, _) in enumerate(prepared):
                groups.setdefault((self._solver_for(prob), prob.dtype, prob.device), []).append(i)
            for (name, _, _), idx in groups.items():
                for i, result in zip(idx, self._solve(name, [prepared[i][0] for i in idx])):
                    solved[i] = result
        return [self._complete(source, src_idx, sizes, *result)
                for (source, _), (_, src_idx, sizes), result in zip(pairs, prepared, solved)]

    def _problem(self, source: PointSet, target: PointSet):
        """The (possibly subsampled) problem, the sampled source indices (or None) and the sizes solved."""
        src_idx = self._subsample(len(source), source.device)
        tgt_idx = self._subsample(len(target), source.device)
        src = source if src_idx is None else source.subset(src_idx)
        tgt = target if tgt_idx is None else target.subset(tgt_idx)
        sizes = (len(src), len(tgt)) if src_idx is not None or tgt_idx is not None else None
        return TransportProblem(src, tgt, self.lam), src_idx, sizes

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
        prob = TransportProblem(source, target, self.lam)
        if self.solver == "geomloss":
            return prob.expand_columns(self._solve_geomloss(prob, want_plan=True))
        return self._solve(self._solver_for(prob), [prob], want_plan=True)[0]

    def _solver_for(self, prob: TransportProblem) -> str:
        return solver_for(self.solver, prob.n, prob.m, prob.device.type == "cpu" and compiled_available())

    def _solve(self, solver: str, problems: list[TransportProblem], want_plan: bool = False) -> list:
        """One batch of problems with our dense (``fast``) or ``multiscale`` solver."""
        if solver == "multiscale":
            return sinkhorn_multiscale.solve(problems, self.blur, self.scaling, final_iters=self.final_iters,
                                             want_plan=want_plan, reach=self.reach)
        return solve(problems, self.blur, self.scaling, final_iters=self.final_iters, block_bytes=self.block_bytes,
                     want_plan=want_plan, reach=self.reach)

    def _subsample(self, n: int, device: torch.device) -> Tensor | None:
        if self.max_points is None or n <= self.max_points:
            return None
        return torch.randperm(n, generator=self._generator)[: self.max_points].sort().values.to(device)

    # ------------------------------------------------------------------ reference solver
    def _solve_geomloss(self, prob: TransportProblem, want_plan: bool):
        from geomloss import SamplesLoss

        eps_list = epsilon_schedule(prob.diameter, self.blur, self.scaling)
        loss = SamplesLoss("sinkhorn", p=2, blur=self.blur, scaling=self.scaling, debias=False, reach=self.reach,
                           potentials=True, backend="tensorized", diameter=max(prob.diameter, self.blur))
        x, y = prob.x, prob.y
        F, G = loss(prob.a, x, prob.b, y)
        F, G = F.reshape(-1), G.reshape(-1)  # GeomLoss returns [1, N], [1, M] for unbatched inputs
        eps = self.blur ** 2
        # Dense, max-stabilised projection: P_ij = softmax_j((G_j - C_ij)/eps + log b_j).
        C = torch.cdist(x, y, compute_mode="donot_use_mm_for_euclid_dist").square_().mul_(0.5)
        logits = (G.to(C.dtype).unsqueeze(0) - C) / eps + prob.b.log().unsqueeze(0)
        P = torch.softmax(logits, dim=1)
        # Row masses Σ_j π_ij / a_i = Σ_j b_j exp((F_i + G_j - C_ij)/ε) (unbalanced transport's pull).
        mass = None if self.reach is None else (
            torch.logsumexp(logits + F.to(C.dtype).unsqueeze(1) / eps, dim=1).double().exp())
        del logits
        plan = prob.a.unsqueeze(1) * P
        if want_plan:
            return plan
        targets = P @ prob.y_raw
        if self.reach is not None:  # the pull of unbalanced transport (see sinkhorn_kernel.solve)
            w = mass.clamp(0.0, 1.0).unsqueeze(1).to(targets.dtype)
            targets = prob.x_raw + w * (targets - prob.x_raw)
        cost = float(2.0 * (plan.double() * C.double()).sum())  # Eq. 13 cost = 2 C
        col_err = float((plan.sum(0).double() - prob.b64).abs().sum())
        info = {"solver": "geomloss", "iterations": len(eps_list) + 2, "temperatures": len(eps_list),
                "diameter": prob.diameter, "marginal_error": col_err}
        return targets, cost, info
