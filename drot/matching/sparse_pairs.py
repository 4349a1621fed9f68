"""A sparse transport problem: the points of one pyramid level, a list of candidate pairs and the
log-domain sums the sparse Sinkhorn iterates on (:mod:`~drot.matching.sinkhorn_multiscale`).

Two implementations of one interface: :class:`SparsePairs`, pure PyTorch (gathers, ``exp``,
``index_add_``; CPU and CUDA; the reference), and :class:`CompiledPairs`, the same pairs stored by
row (CSR) with the sums, the truncation and the refinement to children in ``drot._C``'s CPU loops
(``torch.ops.drot.sparse_*``, ``drot/csrc/sparse_sinkhorn.cpp``): one fused pass per sum instead
of a gather, an ``exp`` and a scatter each materialising ``[P]`` temporaries. Both keep exactly
the same pairs up to rounding; ``tests/test_sparse_pairs.py`` compares them.
"""
from __future__ import annotations

import functools
import importlib
import math

import torch
from torch import Tensor

__all__ = ["SparsePairs", "CompiledPairs", "compiled_available", "log_mass"]

_NEG = -1e30
_EXP_FLOOR = math.log(torch.finfo(torch.float32).tiny) + 0.5  # exp() below it takes a slow denormal path
_CHUNK = 1 << 22  # pairs per chunk when forming costs (bounds the [chunk, 5] temporaries)


@functools.lru_cache(maxsize=None)
def compiled_available() -> bool:
    """Whether ``drot._C`` is built with the sparse Sinkhorn loops (CPU only)."""
    try:
        importlib.import_module("drot._C")
    except ImportError:
        return False
    return hasattr(torch.ops.drot, "sparse_refine")


class SparsePairs:
    """A sparse transport problem: points of one level and the candidate pairs ``(I, J)``.

    ``x`` [n, 5] and ``y`` [m, 5] embedded, centred (compute dtype); ``loga`` [n], ``logb`` [m]
    float64 (``-1e30`` for massless points); ``I``, ``J`` [P] int64; ``C`` [P] ``½|x_I - y_J|²``."""

    def __init__(self, x: Tensor, y: Tensor, loga: Tensor, logb: Tensor, I: Tensor, J: Tensor,
                 C: Tensor | None = None) -> None:
        self.x, self.y, self.loga, self.logb, self.I, self.J = x, y, loga, logb, I, J
        self.n, self.m, self.dtype = x.shape[0], y.shape[0], x.dtype
        self.rows_mass, self.cols = loga > 0.5 * _NEG, logb > 0.5 * _NEG
        self.C = _costs(x, y, self.I, J) if C is None else C
        self.log_low = 0.5 * math.log(torch.finfo(self.dtype).tiny)

    def scaled_potentials(self, f: Tensor, g: Tensor, eps: float) -> tuple[Tensor, Tensor]:
        """``u = log a + f/ε`` [n] and ``v = log b + g/ε`` [m] in the compute dtype."""
        return _scaled(self.loga, f, eps, self.dtype), _scaled(self.logb, g, eps, self.dtype)

    def _z(self, f: Tensor, g: Tensor, eps: float) -> Tensor:
        """``log π_IJ = log a_I + log b_J + (f_I + g_J - C_IJ) / ε`` [P] (compute dtype)."""
        u, v = self.scaled_potentials(f, g, eps)
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
        u, v = self.scaled_potentials(f, g, eps)
        return v.index_select(0, self.J).add_(c), u.index_select(0, self.I).add_(c)

    def support(self, f: Tensor, g: Tensor, eps: float, truncation: float) -> Tensor:
        """The pairs to keep [P] bool: plan entries at least ``truncation`` times their row's or
        their column's largest."""
        row, col = self.scores(f, g, eps)
        return _relative(row, self.I, self.n, truncation)[1] | _relative(col, self.J, self.m, truncation)[1]

    def subset(self, keep: Tensor) -> "SparsePairs":
        """The same level restricted to the pairs ``keep`` [P] bool (costs reused)."""
        return type(self)(self.x, self.y, self.loga, self.logb, self.I[keep], self.J[keep], self.C[keep])


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


def _scaled(log_mass_: Tensor, potential: Tensor, eps: float, dtype: torch.dtype) -> Tensor:
    """``log mass + potential / ε`` in ``dtype``: the per-point term of every log-domain score."""
    return (log_mass_ + potential / eps).to(dtype)


def log_mass(mass: Tensor) -> Tensor:
    return torch.where(mass > 0, mass.clamp_min(1e-300).log(), torch.full_like(mass, _NEG))


def _row_index(ptr: Tensor) -> Tensor:
    """The row of every pair of a CSR pair list ``ptr`` [n + 1]: [P] int64."""
    n = ptr.shape[0] - 1
    return torch.repeat_interleave(torch.arange(n, device=ptr.device), ptr[1:] - ptr[:-1],
                                   output_size=int(ptr[-1]))


def _csr(rows: Tensor, n: int) -> Tensor:
    """``ptr`` [n + 1] of pairs sorted by ``rows`` [P]."""
    ptr = torch.zeros(n + 1, dtype=torch.long, device=rows.device)
    ptr[1:] = torch.cumsum(torch.bincount(rows, minlength=n), 0)
    return ptr


class CompiledPairs(SparsePairs):
    """:class:`SparsePairs` whose pairs are sorted by row, with ``ptr`` [n + 1] int64 (row ``i``'s
    pairs are ``ptr[i]:ptr[i + 1]``) and the sums in ``drot._C`` (CPU tensors only). ``I`` is
    formed from ``ptr`` when first asked for (the loops do not need it)."""

    def __init__(self, x: Tensor, y: Tensor, loga: Tensor, logb: Tensor, ptr: Tensor, J: Tensor,
                 C: Tensor | None = None) -> None:
        self.ptr = ptr
        self._I: Tensor | None = None
        super().__init__(x, y, loga, logb, None, J, C)

    @property
    def I(self) -> Tensor:  # noqa: E743 - the row index, as in SparsePairs
        if self._I is None:
            self._I = _row_index(self.ptr)
        return self._I

    @I.setter
    def I(self, value: Tensor | None) -> None:  # noqa: E743
        self._I = value

    def log_sums(self, f: Tensor, g: Tensor, eps: float) -> tuple[Tensor, Tensor, bool]:
        u, v = self.scaled_potentials(f, g, eps)
        lr, lc = torch.ops.drot.sparse_log_sums(self.ptr, self.J, self.C, u, v, 1.0 / eps)
        # The op redoes its pass max-stabilised itself when a sum under- or overflows, so the sums
        # returned are safe; such redone passes are not counted in info["stabilised_fallbacks"].
        return lr - self.loga, lc - self.logb, True

    def support(self, f: Tensor, g: Tensor, eps: float, truncation: float) -> Tensor:
        u, v = self.scaled_potentials(f, g, eps)
        return torch.ops.drot.sparse_support(self.ptr, self.J, self.C, u, v, 1.0 / eps, math.log(truncation))

    def subset(self, keep: Tensor) -> "CompiledPairs":
        before = torch.zeros(keep.shape[0] + 1, dtype=torch.long, device=keep.device)
        torch.cumsum(keep, 0, out=before[1:])
        return CompiledPairs(self.x, self.y, self.loga, self.logb, before[self.ptr], self.J[keep], self.C[keep])

    def transposed(self) -> tuple[Tensor, Tensor]:
        """The pairs by column: ``(ptr [m + 1], rows [P])``."""
        order = torch.argsort(self.J, stable=True)
        return _csr(self.J, self.m), self.I.index_select(0, order)

    def softmin_children(self, fine_x: Tensor, parent: Tensor, f: Tensor, g: Tensor, eps: float,
                         by_column: bool = False) -> Tensor:
        """GeomLoss's extrapolation to the finer points ``fine_x`` [n', 5] (children of the rows,
        ``parent`` [n'] their row; or of the columns with ``by_column``): ``-ε log Σ_J b_J
        exp((g_J - C(x', y_J))/ε)`` over the pairs of the parent: [n'] float64."""
        u, v = self.scaled_potentials(f, g, eps)
        if by_column:
            ptr, rows = self.transposed()
            lse = torch.ops.drot.sparse_softmin(ptr, rows, parent, fine_x, self.x, u, 1.0 / eps)
        else:
            lse = torch.ops.drot.sparse_softmin(self.ptr, self.J, parent, fine_x, self.y, v, 1.0 / eps)
        return -eps * lse

    def refine(self, fine_x: Tensor, fine_y: Tensor, fine_loga: Tensor, fine_logb: Tensor, row_parent: Tensor,
               col_start: Tensor, col_order: Tensor, f: Tensor, g: Tensor, eps: float,
               truncation: float) -> "CompiledPairs":
        """These pairs refined to every child of the row with every child of the column (children
        of the columns: ``col_order[col_start[J]:col_start[J + 1]]``), truncated at ``truncation``
        of the row's or column's largest plan entry under the finer potentials ``f``, ``g``."""
        u, v = _scaled(fine_loga, f, eps, self.dtype), _scaled(fine_logb, g, eps, self.dtype)
        ptr, J, C = torch.ops.drot.sparse_refine(self.ptr, self.J, row_parent, col_start, col_order,
                                                 fine_x, fine_y, u, v, 1.0 / eps, math.log(truncation))
        return CompiledPairs(fine_x, fine_y, fine_loga, fine_logb, ptr, J, C)

    def project(self, x: Tensor, parent: Tensor, a: Tensor, g: Tensor, eps: float, y_raw: Tensor,
                spread: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """The last step: every point ``x`` [n', 5] (of row ``parent`` [n'], mass ``a`` [n'] float64)
        takes the softmax over its row's pairs of ``log b_J + (g_J - C(x, y_J))/ε`` as its plan row.
        Returns its mean of ``y_raw`` [m, E] ([n', E] float64), its mean of ``|x - y_J|² + spread_J``
        ([n'] float64), the plan's column masses ([m] float64) and the log-sum-exp of those scores
        ([n'] float64: the row's mass is ``exp(f/ε + lse)``)."""
        v = _scaled(self.logb, g, eps, self.dtype)
        return torch.ops.drot.sparse_project(self.ptr, self.J, parent, x, self.y, v, y_raw.to(self.dtype),
                                             spread.to(self.dtype), a, 1.0 / eps)

