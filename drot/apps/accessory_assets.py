"""Generated images for the accessory application: a face-like portrait and three accessories.

Everything is drawn by this module's own code (no downloaded assets):

* :func:`portrait` — a head-and-shoulders portrait ``[S, S, 3]``: background gradient, hair, head,
  ears, eyes, eyebrows, mouth, neck, a white shirt between jacket lapels.
* :func:`accessory_image` — an RGBA accessory ``[h, w, 4]`` (alpha 1 on the accessory, 0 elsewhere):
  ``"glasses"`` (24 x 8: red frame, dark lenses with a highlight), ``"hat"`` (26 x 14: purple
  crown and brim, yellow band, red feather) or ``"tie"`` (10 x 22: knot and blade, diagonal stripes).
  Each has some asymmetric colour detail, so its orientation is visible in colour, not only in shape.
* :data:`TARGET_PLACEMENTS` — where each accessory sits on the 64 x 64 portrait (glasses on the
  eyes, hat on the head, tie on the shirt): the "ground-truth composite" of the STRAT setting.

Images are float32 tensors in [0, 1], row 0 at the top.
"""
from __future__ import annotations

import numpy as np
import torch

from .accessory import Placement

__all__ = ["ACCESSORY_KINDS", "accessory_image", "portrait", "TARGET_PLACEMENTS", "target_placement"]

ACCESSORY_KINDS = ("glasses", "hat", "tie")

# Where the accessory goes on a portrait of side S, as fractions of S (centre) and a scale for a
# 64-pixel portrait; the small angles / tilts make the ground truth a genuine perspective warp.
_PLACEMENTS = {
    "glasses": dict(center=(0.5, 0.365), scale=1.05, angle=4.0, tilt=(0.08, 0.0)),
    "hat": dict(center=(0.5, 0.14), scale=1.0, angle=-6.0, tilt=(0.0, 0.06)),
    "tie": dict(center=(0.5, 0.80), scale=1.0, angle=3.0, tilt=(0.0, 0.0)),
}


def target_placement(kind: str, size: int = 64) -> Placement:
    """Where accessory ``kind`` sits on :func:`portrait` of side ``size`` (pixels)."""
    if kind not in _PLACEMENTS:
        raise ValueError(f"unknown accessory kind {kind!r}; choose one of {', '.join(ACCESSORY_KINDS)}")
    p = _PLACEMENTS[kind]
    return Placement(center=(p["center"][0] * size, p["center"][1] * size), scale=p["scale"] * size / 64,
                     angle=p["angle"], tilt=p["tilt"])


#: kind → :class:`~drot.apps.accessory.Placement` on the 64 x 64 :func:`portrait`.
TARGET_PLACEMENTS = {kind: target_placement(kind) for kind in ACCESSORY_KINDS}


# ------------------------------------------------------------------------------------ portrait
def _ellipse(x, y, cx, cy, rx, ry):
    return ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1.0


def portrait(size: int = 64, supersample: int = 4) -> torch.Tensor:
    """A simple face-like portrait, float32 ``[size, size, 3]``, drawn with ``supersample``² samples per pixel."""
    if not isinstance(size, int) or size < 16:
        raise ValueError(f"portrait size must be an integer >= 16 pixels, got {size!r}")
    n = size * supersample
    s = (np.arange(n) + 0.5) / n
    y, x = np.meshgrid(s, s, indexing="ij")  # unit coordinates, y down
    img = np.empty((n, n, 3), dtype=np.float64)
    top, bottom = np.array([0.60, 0.74, 0.86]), np.array([0.38, 0.52, 0.70])
    img[:] = top + (bottom - top) * y[..., None]

    def paint(mask, color):
        img[mask] = color

    skin, skin_shade = (0.96, 0.78, 0.64), (0.86, 0.64, 0.50)
    # Jacket and shirt: shoulders from y = 0.64 down, a white V of shirt between the lapels.
    shoulders = (y > 0.62) & (np.abs(x - 0.5) < 0.20 + (y - 0.62) * 1.6)
    paint(shoulders, (0.22, 0.24, 0.30))
    paint(shoulders & (np.abs(x - 0.5) < 0.03 + (y - 0.62) * 0.55), (0.95, 0.95, 0.97))
    paint((np.abs(x - 0.5) < 0.075) & (y > 0.48) & (y < 0.66), skin_shade)  # neck
    paint(_ellipse(x, y, 0.5, 0.325, 0.185, 0.215), (0.30, 0.18, 0.10))  # hair, behind the head
    paint(_ellipse(x, y, 0.335, 0.38, 0.03, 0.05) | _ellipse(x, y, 0.665, 0.38, 0.03, 0.05), skin_shade)  # ears
    paint(_ellipse(x, y, 0.5, 0.37, 0.165, 0.2) & (y > 0.22), skin)  # face below the hairline
    paint(_ellipse(x, y, 0.43, 0.365, 0.04, 0.022) | _ellipse(x, y, 0.57, 0.365, 0.04, 0.022), (1.0, 1.0, 1.0))
    paint(_ellipse(x, y, 0.43, 0.365, 0.017, 0.017) | _ellipse(x, y, 0.57, 0.365, 0.017, 0.017), (0.15, 0.25, 0.45))
    brows = (np.abs(y - 0.32) < 0.008) & ((np.abs(x - 0.43) < 0.045) | (np.abs(x - 0.57) < 0.045))
    paint(brows, (0.30, 0.18, 0.10))
    paint((np.abs(x - 0.5) < 0.012) & (y > 0.38) & (y < 0.45), skin_shade)  # nose
    paint(_ellipse(x, y, 0.5, 0.49, 0.055, 0.016), (0.80, 0.30, 0.32))  # mouth
    img = img.reshape(size, supersample, size, supersample, 3).mean(axis=(1, 3))
    return torch.from_numpy(img.astype(np.float32))


# ---------------------------------------------------------------------------------- accessories
def _glasses() -> np.ndarray:
    h, w = 8, 24
    rgba = np.zeros((h, w, 4))
    frame, lens, shine = (0.75, 0.08, 0.12), (0.12, 0.20, 0.32), (0.55, 0.75, 0.90)
    for x0 in (1, 13):  # two lenses, 10 x 7 with clipped corners, 1-pixel frame
        for yy in range(0, 7):
            for xx in range(x0, x0 + 10):
                corner = (yy in (0, 6)) and (xx in (x0, x0 + 9))
                if corner:
                    continue
                edge = yy in (0, 6) or xx in (x0, x0 + 9)
                rgba[yy, xx] = (*(frame if edge else lens), 1.0)
        rgba[2, x0 + 2] = rgba[2, x0 + 3] = rgba[3, x0 + 2] = (*shine, 1.0)  # highlight, upper left
    rgba[1:3, 11:13] = (*frame, 1.0)  # bridge
    rgba[1:3, 0] = rgba[1:3, 23] = (*frame, 1.0)  # temples
    rgba[7, 20:23] = (0.95, 0.80, 0.20, 1.0)  # a gold hinge detail on the right lens only
    return rgba


def _hat() -> np.ndarray:
    h, w = 14, 26
    rgba = np.zeros((h, w, 4))
    brim, crown, band, feather = (0.22, 0.16, 0.40), (0.38, 0.28, 0.62), (0.95, 0.80, 0.20), (0.85, 0.15, 0.20)
    rgba[11:14, 1:25] = (*brim, 1.0)
    rgba[12, 0] = rgba[12, 25] = (*brim, 1.0)  # rounded brim ends
    rgba[1:11, 6:20] = (*crown, 1.0)
    rgba[0, 8:18] = (*crown, 1.0)  # rounded crown top
    rgba[8:10, 6:20] = (*band, 1.0)
    rgba[2:8, 17:19] = (*feather, 1.0)  # feather on the right of the crown
    rgba[1, 18:20] = (*feather, 1.0)
    return rgba


def _tie() -> np.ndarray:
    h, w = 22, 10
    rgba = np.zeros((h, w, 4))
    navy, gold = (0.10, 0.14, 0.45), (0.92, 0.72, 0.20)
    rgba[0:3, 3:7] = (*navy, 1.0)  # knot
    rgba[3, 4:6] = (*navy, 1.0)
    for yy in range(4, 22):  # blade: widens to the full 10 px, then a pointed tip
        half = 1.0 + 4.0 * min(1.0, (yy - 4) / 11.0) if yy < 18 else 5.0 - 1.0 * (yy - 17)
        for xx in range(w):
            if abs(xx + 0.5 - 5.0) <= half:
                stripe = ((xx + yy) // 3) % 2 == 0
                rgba[yy, xx] = (*(gold if stripe else navy), 1.0)
    return rgba


_DRAW = {"glasses": _glasses, "hat": _hat, "tie": _tie}


def accessory_image(kind: str) -> torch.Tensor:
    """The RGBA accessory ``kind`` (one of :data:`ACCESSORY_KINDS`) as float32 ``[h, w, 4]``; its
    opaque texels touch all four sides, so the image is the accessory's bounding box."""
    if kind not in _DRAW:
        raise ValueError(f"unknown accessory kind {kind!r}; choose one of {', '.join(ACCESSORY_KINDS)}")
    rgba = torch.from_numpy(_DRAW[kind]().astype(np.float32))
    opaque = rgba[..., 3] >= 0.5
    assert opaque[0].any() and opaque[-1].any() and opaque[:, 0].any() and opaque[:, -1].any(), kind
    return rgba
