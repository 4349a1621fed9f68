"""Declarative optimisable scene parameters: what is optimised, from where, toward what.

A :class:`Parameter` names a *kind* (how it acts on the scene), its target value, and how its
initial value is chosen (fixed, or drawn uniformly per seed). :func:`drot.optimize` turns every
declared parameter into a leaf tensor and leaves the rest of the scene fixed.
"""
from __future__ import annotations

import dataclasses
import math

import torch

from .kinds import KINDS, axis_angle_matrix  # noqa: F401  (axis_angle_matrix: re-exported)


def _as_tensor(value, name: str) -> torch.Tensor:
    t = torch.as_tensor(value, dtype=torch.float32)
    if t.ndim == 0:
        t = t.reshape(1)
    if not torch.isfinite(t).all():
        raise ValueError(f"parameter {name!r}: value contains NaN or inf")
    return t


def _short(t: torch.Tensor) -> str:
    """A value in a few characters: the numbers of a small tensor, else its shape and range."""
    if t.numel() <= 4:
        return "[" + ", ".join(f"{float(x):.4g}" for x in t.reshape(-1)) + "]"
    return f"[{float(t.min()):.3g} .. {float(t.max()):.3g}]"


@dataclasses.dataclass(frozen=True)
class Parameter:
    """One optimisable parameter.

    Attributes:
        name: unique name (used in results).
        kind: a registered kind (:data:`drot.scene.kinds.KINDS`).
        target: the value to recover (float tensor of the kind's shape).
        initial: fixed start value, or None to draw one per seed from ``init_range``.
        init_range: ``(low, high)``: a random start is ``uniform(low, high)`` elementwise
            (absolute values, as in the paper's KITTY: translation in [-1, 1]^3).
        axis: rotation axis ``[3]`` for a single-angle rotation.
        pivot: point ``[3]`` (object space) that rotations turn about; default: the origin for
            ``rotation``, the mesh's vertex centroid for ``euler``.
    """

    name: str
    kind: str
    target: torch.Tensor
    initial: torch.Tensor | None = None
    init_range: tuple[float, float] | None = None
    axis: torch.Tensor | None = None
    pivot: torch.Tensor | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown parameter kind {self.kind!r}; valid kinds: {', '.join(KINDS)}")
        object.__setattr__(self, "target", _as_tensor(self.target, self.name))
        if self.initial is not None:
            init = _as_tensor(self.initial, self.name)
            if init.shape != self.target.shape:
                raise ValueError(f"parameter {self.name!r}: initial shape {tuple(init.shape)} differs from "
                                 f"target shape {tuple(self.target.shape)}")
            object.__setattr__(self, "initial", init)
        elif self.init_range is None:
            raise ValueError(f"parameter {self.name!r}: give either `initial` or `init_range`")
        if self.init_range is not None:
            lo, hi = (float(x) for x in self.init_range)
            if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
                raise ValueError(f"parameter {self.name!r}: init_range must be finite (low, high) with low <= high")
        if self.axis is not None:
            axis = _as_tensor(self.axis, self.name)
            if axis.shape != (3,) or float(axis.norm()) == 0:
                raise ValueError(f"parameter {self.name!r}: axis must be a non-zero [3] vector")
            object.__setattr__(self, "axis", axis / axis.norm())
        if self.pivot is not None:
            pivot = _as_tensor(self.pivot, self.name)
            if pivot.shape != (3,):
                raise ValueError(f"parameter {self.name!r}: pivot must be a [3] point, got shape {tuple(pivot.shape)}")
            object.__setattr__(self, "pivot", pivot)
        KINDS[self.kind].validate(self)

    def __repr__(self) -> str:
        shape = "x".join(str(n) for n in self.target.shape)
        start = (f"initial {_short(self.initial)}" if self.initial is not None
                 else f"init_range {tuple(float(x) for x in self.init_range)}")
        return f"Parameter({self.name!r}, {self.kind} [{shape}], target {_short(self.target)}, {start})"

    def sample_initial(self, generator: torch.Generator) -> torch.Tensor:
        """The start value: ``initial`` if fixed, else a uniform draw from ``init_range``."""
        if self.initial is not None:
            return self.initial.clone()
        lo, hi = self.init_range
        return lo + (hi - lo) * torch.rand(self.target.shape, generator=generator)

