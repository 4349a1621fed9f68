"""Point sets, matchings and the matcher interface shared by every pixel-matching method.

A pixel (or a pooled block of background pixels) is a 5-D point ``(R, G, B, X, Y)``:
colour in [0, 1]^3 and screen position normalised to [0, 1]^2 (x right, y down; the
pixel in row ``i``, column ``j`` of an H x W image sits at ``((j + 0.5) / W, (i + 0.5) / H)``).

A matcher pairs every *source* point (a rendered pixel) with a 5-D *target* (where that
pixel should go and which colour it should take). The transport cost between a source
point ``i`` and a target point ``j`` is the paper's Eq. (13),

    c(i, j) = lam * ||c_i - c_j||^2 + (1 - lam) * ||p_i - p_j||^2,

which :func:`embed` turns into a plain squared Euclidean distance by scaling colour by
``sqrt(lam)`` and position by ``sqrt(1 - lam)``.
"""
from __future__ import annotations

import abc
import dataclasses
import math
import numbers
import time
from typing import Any

import torch
from torch import Tensor

__all__ = ["PointSet", "Matching", "Matcher", "embed", "check_lam", "nearest_neighbor"]

#: Number of coordinates of an RGBXY point.
DIM = 5


def _fail(msg: str) -> None:
    raise ValueError(msg)


@dataclasses.dataclass(frozen=True, eq=False)
class PointSet:
    """A weighted cloud of RGBXY points.

    Attributes:
        points: floating tensor [N, 5], rows ``(R, G, B, X, Y)``; colour in [0, 1]^3,
            position normalised to [0, 1]^2 (neither range is enforced, only finiteness).
        weights: floating tensor [N], masses ``>= 0`` with a positive total. They need not
            sum to 1: matchers normalise each side to total mass 1, so a render and a target
            that cover different numbers of pixels still balance.

    Both tensors must live on the same device. ``N >= 1``.
    """

    points: Tensor
    weights: Tensor

    def __post_init__(self) -> None:
        p, w = self.points, self.weights
        if not isinstance(p, Tensor) or not isinstance(w, Tensor):
            _fail(f"PointSet points and weights must be torch tensors, got "
                  f"{type(p).__name__} and {type(w).__name__}")
        if p.ndim != 2 or p.shape[1] != DIM:
            _fail(f"PointSet points must have shape [N, {DIM}] (R, G, B, X, Y), got {tuple(p.shape)}")
        if p.shape[0] == 0:
            _fail("PointSet is empty: points has shape [0, 5], a matcher needs at least one point")
        if w.ndim != 1 or w.shape[0] != p.shape[0]:
            _fail(f"PointSet weights must have shape [N] = [{p.shape[0]}], got {tuple(w.shape)}")
        if not p.is_floating_point() or not w.is_floating_point():
            _fail(f"PointSet points and weights must be floating tensors, got {p.dtype} and {w.dtype}")
        if p.device != w.device:
            _fail(f"PointSet points and weights are on different devices ({p.device} and {w.device})")
        if not bool(torch.isfinite(p).all()):
            _fail("PointSet points contain NaN or inf")
        if not bool(torch.isfinite(w).all()):
            _fail("PointSet weights contain NaN or inf")
        if bool((w < 0).any()):
            _fail(f"PointSet weights must be >= 0, got a minimum of {float(w.min()):.4g}")
        if not float(w.sum()) > 0:
            _fail("PointSet total mass (sum of weights) must be positive, got 0")

    @classmethod
    def uniform(cls, points: Tensor) -> "PointSet":
        """A point set where every point has mass 1. ``points``: [N, 5]."""
        if not isinstance(points, Tensor) or points.ndim < 1:
            _fail(f"PointSet points must be a tensor of shape [N, {DIM}], got {points!r}")
        return cls(points, torch.ones(points.shape[0], dtype=points.dtype if points.is_floating_point()
                                      else torch.float32, device=points.device))

    def __len__(self) -> int:
        return self.points.shape[0]

    @property
    def device(self) -> torch.device:
        return self.points.device

    @property
    def dtype(self) -> torch.dtype:
        return self.points.dtype

    def normalized_weights(self, dtype: torch.dtype | None = None) -> Tensor:
        """Weights rescaled to total mass 1, [N], in ``dtype`` (default: the points' dtype)."""
        w = self.weights.to(dtype or self.points.dtype)
        return w / w.sum()

    def subset(self, index: Tensor) -> "PointSet":
        """The points (and their weights) selected by a LongTensor ``index`` [K]."""
        return PointSet(self.points[index], self.weights[index])


@dataclasses.dataclass(frozen=True, eq=False)
class Matching:
    """The result of matching a source point set to a target point set.

    Attributes:
        targets: tensor [N, 5], same dtype/device as the source points, detached: the matched
            5-D target of every source point, in raw (unweighted) RGBXY coordinates. For
            transport-based matchers this is the barycentric projection of the plan,
            ``T_i = sum_j pi_ij y_j / sum_j pi_ij``.
        cost: transport cost ``sum_ij pi_ij c_ij`` with ``c`` from Eq. (13) and the masses
            of each side normalised to 1.
        seconds: wall-clock time of the matching (device synchronised).
        info: solver details (``solver``, ``iterations``, ``marginal_error``, ...).
    """

    targets: Tensor
    cost: float
    seconds: float
    info: dict[str, Any] = dataclasses.field(default_factory=dict)


def check_lam(lam: Any) -> float:
    """Validate the colour/position balance ``lam`` of Eq. (13); returns it as a float."""
    if isinstance(lam, bool) or not isinstance(lam, numbers.Real) or not math.isfinite(float(lam)) \
            or not 0.0 <= float(lam) <= 1.0:
        _fail(f"cost weight λ (lam) must be a number in [0, 1], got {lam!r}")
    return float(lam)


def embed(points: Tensor, lam: float) -> Tensor:
    """Scale RGBXY points so that Eq. (13) becomes a squared Euclidean distance.

    Args:
        points: floating tensor [..., 5], rows ``(R, G, B, X, Y)``.
        lam: colour weight in [0, 1].

    Returns:
        tensor [..., 5], ``[sqrt(lam) * rgb, sqrt(1 - lam) * xy]``, so that
        ``||embed(p_i) - embed(q_j)||^2 = lam ||c_i - c_j||^2 + (1 - lam) ||p_i - p_j||^2``.
    """
    lam = check_lam(lam)
    if points.shape[-1] != DIM:
        _fail(f"points must have {DIM} coordinates (R, G, B, X, Y) in the last dimension, "
              f"got shape {tuple(points.shape)}")
    return points * embedding_scale(lam, points)


def embedding_scale(lam: float, like: Tensor) -> Tensor:
    """The per-coordinate factors of :func:`embed`: tensor [5] with ``like``'s dtype/device."""
    a, b = math.sqrt(lam), math.sqrt(1.0 - lam)
    return torch.tensor([a, a, a, b, b], dtype=like.dtype, device=like.device)


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """float64 stays float64; every other floating type is solved in float32."""
    return torch.float64 if dtype == torch.float64 else torch.float32


def check_pair(source: Any, target: Any) -> None:
    """Shared input validation of :meth:`Matcher.match` / :meth:`Matcher.plan`."""
    for name, ps in (("source", source), ("target", target)):
        if not isinstance(ps, PointSet):
            _fail(f"{name} must be a drot.matching.PointSet, got {type(ps).__name__}")
    if source.device != target.device:
        _fail(f"source and target point sets are on different devices ({source.device} and {target.device})")


def nearest_neighbor(query: Tensor, ref: Tensor, chunk_bytes: int = 64 << 20) -> Tensor:
    """Index of the nearest ``ref`` row for every ``query`` row (Euclidean distance).

    Args:
        query: tensor [N, D]; ref: tensor [M, D], same dtype and device.
        chunk_bytes: memory bound of one [rows, M] distance block.

    Returns:
        LongTensor [N] with values in [0, M).
    """
    n, m = query.shape[0], ref.shape[0]
    rows = max(1, chunk_bytes // max(1, m * query.element_size()))
    out = torch.empty(n, dtype=torch.long, device=query.device)
    ref_sq = (ref * ref).sum(1)
    for s in range(0, n, rows):
        q = query[s:s + rows]
        # ||q - r||^2 up to the per-row constant ||q||^2, which does not change the argmin.
        d = torch.addmm(ref_sq.unsqueeze(0), q, ref.t(), alpha=-2.0)
        out[s:s + rows] = d.argmin(1)
    return out


class Matcher(abc.ABC):
    """Pairs every source point with a 5-D target.

    Subclasses implement :meth:`_match` and :meth:`_plan`; the public methods validate the
    inputs, disable autograd, time the call and detach the result.
    """

    #: Short name used by :func:`drot.matching.make_matcher` and in ``Matching.info`` (set by
    #: :func:`drot.matching.register_matcher`).
    name: str = "matcher"
    #: Settings the matcher reads: constructor argument → setting name (a field of
    #: ``drot.optim.MatchingSettings``, or ``"seed"`` / ``"resolution"`` supplied by the loop).
    options: dict[str, str] = {"lam": "lam"}

    def match(self, source: PointSet, target: PointSet) -> Matching:
        """Match ``source`` [N points] to ``target`` [M points].

        Returns:
            :class:`Matching` whose ``targets`` is a detached tensor [N, 5] with the source
            points' dtype and device.
        """
        check_pair(source, target)
        with torch.no_grad():
            _sync(source.device)
            t0 = time.perf_counter()
            targets, cost, info = self._match(source, target)
            targets = targets.to(source.dtype).detach()
            _sync(source.device)
            seconds = time.perf_counter() - t0
        info = dict(info)
        info.setdefault("matcher", self.name)
        return Matching(targets=targets, cost=float(cost), seconds=seconds, info=info)

    def match_batch(self, pairs: list[tuple[PointSet, PointSet]]) -> list[Matching]:
        """Match several independent ``(source, target)`` pairs — one per start of a batched
        multi-start run. Matchers that can solve them together (Sinkhorn's fast solver: one
        batched solve) override :meth:`_match_batch`; the others match them one after another.
        ``seconds`` of each result is the batch's time divided among the pairs."""
        for source, target in pairs:
            check_pair(source, target)
        if not pairs:
            return []
        device = pairs[0][0].device
        with torch.no_grad():
            _sync(device)
            t0 = time.perf_counter()
            results = self._match_batch(pairs)
            _sync(device)
            seconds = (time.perf_counter() - t0) / len(pairs)
        out = []
        for (source, _), (targets, cost, info) in zip(pairs, results):
            info = dict(info)
            info.setdefault("matcher", self.name)
            out.append(Matching(targets=targets.to(source.dtype).detach(), cost=float(cost), seconds=seconds, info=info))
        return out

    def _match_batch(self, pairs: list[tuple[PointSet, PointSet]]) -> list[tuple[Tensor, float, dict]]:
        """``_match`` of every pair; override to solve them together."""
        return [self._match(source, target) for source, target in pairs]

    def plan(self, source: PointSet, target: PointSet) -> Tensor:
        """Dense transport plan [N, M] (source dtype), the masses of each side normalised to 1.

        Meant for tests and small problems: it allocates the full N x M matrix.
        """
        check_pair(source, target)
        with torch.no_grad():
            return self._plan(source, target).to(source.dtype).detach()

    @abc.abstractmethod
    def _match(self, source: PointSet, target: PointSet) -> tuple[Tensor, float, dict]:
        """Return ``(targets [N, 5], cost, info)``; called under ``torch.no_grad()``."""

    @abc.abstractmethod
    def _plan(self, source: PointSet, target: PointSet) -> Tensor:
        """Return the dense plan [N, M]; called under ``torch.no_grad()``."""

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({fields})"


def _sync(device: torch.device) -> None:
    # CUDA kernels run asynchronously: synchronise so that `seconds` measures the work.
    if device.type == "cuda":
        torch.cuda.synchronize(device)
