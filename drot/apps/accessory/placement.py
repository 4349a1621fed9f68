"""Where an accessory goes: pixel and canvas coordinates, and :class:`Placement` (the eight quad modes).

*Pixel coordinates* ``(x, y)``: x right, y down, origin at the canvas's top-left corner. *Canvas
units*: origin at the canvas centre, x right, y down, one unit = half the canvas height. Corners
are ordered top-left, top-right, bottom-right, bottom-left of the accessory image.
"""
from __future__ import annotations

import dataclasses
import math

import torch

from ..warps import check_corners, quad_corners, quad_modes


def pixels_to_canvas(points, resolution: tuple[int, int]) -> torch.Tensor:
    """Pixel coordinates ``[..., 2]`` → canvas units (origin at the centre, 1 = half the height)."""
    h, w = resolution
    p = torch.as_tensor(points, dtype=torch.float32) if not torch.is_tensor(points) else points
    centre = torch.tensor([w / 2, h / 2], dtype=p.dtype, device=p.device)
    return (p - centre) / (h / 2)


def canvas_to_pixels(points, resolution: tuple[int, int]) -> torch.Tensor:
    """Canvas units ``[..., 2]`` → pixel coordinates (the inverse of :func:`pixels_to_canvas`)."""
    h, w = resolution
    p = torch.as_tensor(points, dtype=torch.float32) if not torch.is_tensor(points) else points
    centre = torch.tensor([w / 2, h / 2], dtype=p.dtype, device=p.device)
    return p * (h / 2) + centre


@dataclasses.dataclass(frozen=True)
class Placement:
    """A placement of an accessory by centre, scale, rotation, aspect, shear and perspective tilt.

    The eight numbers are the modes of :func:`drot.apps.warps.quad_corners`, in pixel units; any
    convex quad not too far from a rectangle is one (:meth:`from_corners`).

    Attributes:
        center: ``(x, y)`` pixel coordinates of the centre of the four corners.
        scale: size relative to the accessory's own size in pixels (1 = one texel per pixel).
        angle: rotation in degrees, counter-clockwise as seen on screen.
        tilt: ``(tx, ty)`` perspective foreshortening: the right edge is ``1 + tx`` times as tall as
            the middle and the left edge ``1 - tx``; likewise the bottom edge ``1 + ty`` as wide,
            the top edge ``1 - ty`` (|t| < 1).
        aspect: width / height stretch (width x aspect^½, height x aspect^-½).
        shear: horizontal shear of the accessory's own frame (``x += shear * y``), before rotation.
    """

    center: tuple[float, float]
    scale: float = 1.0
    angle: float = 0.0
    tilt: tuple[float, float] = (0.0, 0.0)
    aspect: float = 1.0
    shear: float = 0.0

    def __post_init__(self) -> None:
        for name in ("scale", "aspect"):
            v = getattr(self, name)
            if not (v > 0 and math.isfinite(v)):
                raise ValueError(f"placement {name} must be positive and finite, got {v}")
        if not all(abs(t) < 1 for t in self.tilt):
            raise ValueError(f"placement tilt must be in (-1, 1) per axis, got {self.tilt}")

    def modes(self) -> torch.Tensor:
        """The eight modes ``[8]`` (float64) in pixel units (angle in radians)."""
        return torch.tensor([self.center[0], self.center[1], math.log(self.scale), math.radians(self.angle),
                             math.log(self.aspect), self.shear, self.tilt[0], self.tilt[1]], dtype=torch.float64)

    def corners(self, size_hw: tuple[int, int]) -> torch.Tensor:
        """Pixel corners ``[4, 2]`` float32 (TL, TR, BR, BL) for an accessory of ``size_hw = (h, w)`` texels."""
        return quad_corners(self.modes(), (size_hw[1] / 2, size_hw[0] / 2)).to(torch.float32)

    @classmethod
    def from_corners(cls, corners, size_hw: tuple[int, int]) -> "Placement":
        """The placement whose corners are ``corners`` ``[4, 2]`` (pixels) for an ``(h, w)`` accessory."""
        m = quad_modes(corners, (size_hw[1] / 2, size_hw[0] / 2)).tolist()
        return cls(center=(m[0], m[1]), scale=math.exp(m[2]), angle=math.degrees(m[3]), tilt=(m[6], m[7]),
                   aspect=math.exp(m[4]), shear=m[5])


def placement_corners(placement, size_hw: tuple[int, int], name: str = "accessory corners") -> torch.Tensor:
    """Pixel corners ``[4, 2]`` from a :class:`Placement` or from corners given directly (checked; errors name ``name``)."""
    corners = placement.corners(size_hw) if isinstance(placement, Placement) else placement
    return check_corners(corners, name).to(torch.float32)
