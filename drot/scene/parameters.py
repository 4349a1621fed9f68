"""Declarative optimisable scene parameters: what is optimised, from where, toward what.

A :class:`Parameter` names a *kind* (how it acts on the scene), its target value, and how its
initial value is chosen (fixed, or drawn uniformly per seed). :func:`drot.optimize` turns every
declared parameter into a leaf tensor and leaves the rest of the scene fixed.
"""
from __future__ import annotations

import dataclasses
import math

import torch

# kind → human description; the shape of each kind's value is checked by Parameter.
KINDS = {
    "translation": "object translation [3]",
    "rotation": "object rotation: axis-angle [3], or an angle [1] about `axis`",
    "scale": "object scale, uniform [1] or per axis [3]",
    "vertex_offsets": "per-vertex displacement [V, 3]",
    "camera_eye": "displacement of every view's eye [3]",
    "camera_target": "displacement of every view's look-at point [3] (changes the view direction)",
    "diffuse": "diffuse reflectance, scalar [1] or RGB [3]",
    "specular": "specular reflectance [1]",
    "texture": "albedo texture [Ht, Wt, 3]",
    "environment": "environment cube map [6, R, R, 3]",
    "model": "any shape: an input of the scene's geometry model (joint angles, blendshape weights, item poses, ...)",
}


def _as_tensor(value, name: str) -> torch.Tensor:
    t = torch.as_tensor(value, dtype=torch.float32)
    if t.ndim == 0:
        t = t.reshape(1)
    if not torch.isfinite(t).all():
        raise ValueError(f"parameter {name!r}: value contains NaN or inf")
    return t


@dataclasses.dataclass(frozen=True)
class Parameter:
    """One optimisable parameter.

    Attributes:
        name: unique name (used in results).
        kind: one of :data:`KINDS`.
        target: the value to recover (float tensor of the kind's shape).
        initial: fixed start value, or None to draw one per seed from ``init_range``.
        init_range: ``(low, high)``: a random start is ``uniform(low, high)`` elementwise
            (absolute values, as in the paper's KITTY: translation in [-1, 1]^3).
        axis: rotation axis ``[3]`` for a single-angle rotation.
    """

    name: str
    kind: str
    target: torch.Tensor
    initial: torch.Tensor | None = None
    init_range: tuple[float, float] | None = None
    axis: torch.Tensor | None = None

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
        expected = {"translation": (3,), "camera_eye": (3,), "camera_target": (3,), "specular": (1,)}
        shape = tuple(self.target.shape)
        if self.kind in expected and shape != expected[self.kind]:
            raise ValueError(f"parameter {self.name!r} of kind {self.kind} must have shape {expected[self.kind]}, got {shape}")
        if self.kind == "rotation" and shape != ((1,) if self.axis is not None else (3,)):
            raise ValueError(f"parameter {self.name!r}: rotation is an angle [1] with `axis`, or axis-angle [3] without")
        if self.kind in ("scale", "diffuse") and shape not in ((1,), (3,)):
            raise ValueError(f"parameter {self.name!r} of kind {self.kind} must have shape (1,) or (3,), got {shape}")

    def sample_initial(self, generator: torch.Generator) -> torch.Tensor:
        """The start value: ``initial`` if fixed, else a uniform draw from ``init_range``."""
        if self.initial is not None:
            return self.initial.clone()
        lo, hi = self.init_range
        return lo + (hi - lo) * torch.rand(self.target.shape, generator=generator)


def axis_angle_matrix(rotvec: torch.Tensor) -> torch.Tensor:
    """Rodrigues' formula: axis-angle ``[3]`` → rotation matrix ``[3, 3]`` (differentiable, safe at 0)."""
    theta2 = (rotvec * rotvec).sum()
    theta = torch.sqrt(theta2 + 1e-24)
    k = rotvec / theta
    kx = torch.zeros(3, 3, dtype=rotvec.dtype, device=rotvec.device)
    kx = torch.stack([
        torch.stack([kx[0, 0], -k[2], k[1]]),
        torch.stack([k[2], kx[1, 1], -k[0]]),
        torch.stack([-k[1], k[0], kx[2, 2]]),
    ])
    eye = torch.eye(3, dtype=rotvec.dtype, device=rotvec.device)
    return eye + torch.sin(theta) * kx + (1 - torch.cos(theta)) * (kx @ kx)
