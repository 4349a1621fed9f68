"""An AR lipstick try-on renderer on drot's procedural portraits, in the spirit of Kips et al. §4.1.

Sources are 64 x 64 crops around the mouth of :func:`drot.apps.accessory_assets.portrait` (three
portrait sizes, a few pixels of jitter, a lighting factor, lip shading added), float32 ``[H, W, 3]``.
The renderer works on 8-bit images and is non-differentiable on purpose:

1. **lip mask** — a hard threshold on redness: ``R − G > 64`` and ``R > 100`` (8-bit values);
2. **re-colouring** — an 8-bit lookup table per channel, ``LUT_c[v] = round(255 · colour_c ·
   (v / v̄)^γ)`` indexed by the pixel's 8-bit grey level ``v`` (``v̄``: the lips' mean grey, the
   illumination adaptation; ``γ`` from the finish: matte 0.5, satin 1.0, shimmer 1.0);
3. **blending** — ``out = src + opacity · mask · (recoloured − src)``, rounded to 8 bits;
4. **gloss** — a hard highlight threshold: lip pixels whose grey level exceeds ``(1 − gloss_size)``
   of the lips' maximum get ``+ gloss · 200`` (white);
5. **finish** ``shimmer`` — fixed sparkles (lip pixels where a fixed noise exceeds 0.9) get ``+ 120 · opacity``.

Parameters (:func:`tryon_space`): ``r, g, b`` ∈ [0, 1] (lip colour), ``opacity`` ∈ [0.2, 1],
``gloss`` ∈ [0, 1], ``gloss_size`` ∈ [0.02, 0.4], ``finish`` ∈ {matte, satin, shimmer}.

:meth:`TryOnRenderer.soft` is the same pipeline in differentiable torch (no rounding, the highlight
threshold a steep sigmoid, the finish a mixture): the gradient reference of the benchmarks.
"""
from __future__ import annotations

import functools
from typing import Any, Mapping

import numpy as np
import torch

from ...apps.accessory_assets import portrait
from ..blackbox import BlackBoxRenderer
from ..space import Continuous, Discrete, ParameterSpace

__all__ = ["TryOnRenderer", "tryon_space", "EXAMPLE_LIPSTICKS", "FINISH_GAMMA"]

FINISH_GAMMA = {"matte": 0.5, "satin": 1.0, "shimmer": 1.0}
_SIZES = (384, 448, 512)
_HIGHLIGHT, _SPARKLE = 200.0, 120.0

#: Example "expert" lipstick settings (reds, pinks, nudes, berries) the sampling Gaussian is fitted to.
EXAMPLE_LIPSTICKS = [
    dict(r=0.80, g=0.10, b=0.15, opacity=0.90, gloss=0.2, gloss_size=0.10, finish="satin"),
    dict(r=0.70, g=0.05, b=0.10, opacity=0.95, gloss=0.0, gloss_size=0.05, finish="matte"),
    dict(r=0.90, g=0.45, b=0.55, opacity=0.70, gloss=0.6, gloss_size=0.20, finish="shimmer"),
    dict(r=0.75, g=0.50, b=0.45, opacity=0.60, gloss=0.3, gloss_size=0.15, finish="satin"),
    dict(r=0.50, g=0.08, b=0.25, opacity=0.85, gloss=0.1, gloss_size=0.08, finish="matte"),
    dict(r=0.95, g=0.30, b=0.35, opacity=0.80, gloss=0.8, gloss_size=0.30, finish="shimmer"),
    dict(r=0.60, g=0.30, b=0.30, opacity=0.50, gloss=0.4, gloss_size=0.12, finish="satin"),
    dict(r=0.85, g=0.20, b=0.40, opacity=0.75, gloss=0.5, gloss_size=0.25, finish="satin"),
]


def tryon_space(uniform_mix: float = 0.5) -> ParameterSpace:
    """The lipstick parameter space, its Gaussian fitted to :data:`EXAMPLE_LIPSTICKS`."""
    space = ParameterSpace([Continuous("r", 0, 1), Continuous("g", 0, 1), Continuous("b", 0, 1),
                            Continuous("opacity", 0.2, 1.0), Continuous("gloss", 0, 1),
                            Continuous("gloss_size", 0.02, 0.4), Discrete("finish", tuple(FINISH_GAMMA))],
                           uniform_mix)
    return space.fit(EXAMPLE_LIPSTICKS)


@functools.lru_cache(maxsize=None)
def _portrait(size: int) -> np.ndarray:
    return portrait(size, supersample=2).numpy()


def _source(size: int, dy: int, dx: int, light: float, res: int) -> np.ndarray:
    """A mouth crop ``[res, res, 3]`` with lip shading (upper lip darker, a mouth line, a lit lower lip)."""
    img = _portrait(size)
    cy, cx = int(0.49 * size), int(0.5 * size)
    crop = img[cy - res // 2 + dy: cy + res // 2 + dy, cx - res // 2 + dx: cx + res // 2 + dx].copy()
    lip = np.clip((crop[..., 0] - crop[..., 1] - 0.18) / 0.32, 0, 1)
    ry = 0.016 * size
    t = (np.arange(res) + 0.5 - (res // 2 - dy) - (0.49 * size - cy)) / ry
    shade = 0.8 + 0.3 * np.exp(-((t - 0.45) / 0.35) ** 2) - 0.35 * np.exp(-(t / 0.18) ** 2)
    crop = crop * (1 - lip[..., None]) + crop * shade[:, None, None] * lip[..., None]
    return np.clip(crop * light, 0, 1).astype(np.float32)


class TryOnRenderer(BlackBoxRenderer):
    """The lipstick try-on (see the module docstring): ``renderer(vectors, sources)`` → ``[B, 64, 64, 3]``.

    Args:
        resolution: side of the square crops (>= 32, even).
    """

    needs_source = True

    def __init__(self, resolution: int = 64) -> None:
        super().__init__()
        if not isinstance(resolution, int) or resolution < 32 or resolution % 2:
            raise ValueError(f"try-on resolution must be an even integer >= 32, got {resolution!r}")
        self.space = tryon_space()
        self.resolution = (resolution, resolution)
        self._noise = np.random.default_rng(7).random((resolution, resolution))

    def sources(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` random mouth crops float32 ``[n, H, W, 3]``: portrait size, ±3 px jitter, lighting 0.8–1.1."""
        g = torch.randint(0, 10**9, (n, 4), generator=generator).numpy()
        res = self.resolution[0]
        out = [_source(_SIZES[a % 3], int(b % 7) - 3, int(c % 7) - 3, 0.8 + 0.3 * (d % 1000) / 999, res)
               for a, b, c, d in g]
        return torch.from_numpy(np.stack(out)) if out else torch.zeros(0, res, res, 3)

    @staticmethod
    def lip_mask(source8: np.ndarray) -> np.ndarray:
        """The thresholded lip mask, bool ``[H, W]``, of an 8-bit image ``[H, W, 3]``."""
        s = source8.astype(np.int32)
        return ((s[..., 0] - s[..., 1]) > 64) & (s[..., 0] > 100)

    def render_one(self, setting: Mapping[str, Any], source: np.ndarray | None, seed: int) -> np.ndarray:
        src = np.round(np.clip(source, 0, 1) * 255).astype(np.int32)
        mask = self.lip_mask(src)
        gray = (299 * src[..., 0] + 587 * src[..., 1] + 114 * src[..., 2]) // 1000
        if not mask.any():
            return src.astype(np.float32) / 255
        ref = max(1, int(gray[mask].mean()))
        levels = np.arange(256) / ref
        colour = np.array([setting["r"], setting["g"], setting["b"]])
        lut = np.clip(np.round(255 * colour[None, :] * levels[:, None] ** FINISH_GAMMA[setting["finish"]]), 0, 255)
        recol = lut.astype(np.int32)[gray]                                     # [H, W, 3] via the 8-bit LUT
        alpha = int(round(setting["opacity"] * 255))
        m = mask[..., None].astype(np.int32)
        out = (src * (255 - alpha * m) + recol * alpha * m + 127) // 255
        top = gray[mask].max()
        spec = mask & (gray > (1 - setting["gloss_size"]) * top)                # hard highlight threshold
        out = out + np.round(setting["gloss"] * _HIGHLIGHT) * spec[..., None]
        if setting["finish"] == "shimmer":
            out = out + round(_SPARKLE * setting["opacity"]) * (mask & (self._noise > 0.9))[..., None]
        return np.clip(out, 0, 255).astype(np.float32) / 255

    def soft(self, vectors: torch.Tensor, sources: torch.Tensor, sharpness: float = 0.02) -> torch.Tensor:
        """The same pipeline, differentiable in ``vectors`` ``[B, D]`` (relaxed finish allowed):
        float ``[B, H, W, 3]``. The mask and grey levels depend on the source only."""
        v = self.space.check_vectors(vectors)
        sp = self.space
        lo_hi = {p.name: (p.low, p.high) for p in sp.continuous}
        val = {n: lo_hi[n][0] + v[:, sp.slices[n].start] * (lo_hi[n][1] - lo_hi[n][0]) for n in lo_hi}
        finish = v[:, sp.slices["finish"]]
        out = []
        for b in range(v.shape[0]):
            src = torch.round(sources[b].clamp(0, 1) * 255)
            mask = torch.from_numpy(self.lip_mask(src.numpy().astype(np.int32)))
            gray = torch.floor((299 * src[..., 0] + 587 * src[..., 1] + 114 * src[..., 2]) / 1000)
            if not mask.any():
                out.append(src / 255)
                continue
            ref = max(1.0, float(torch.floor(gray[mask].mean())))
            colour = torch.stack([val["r"][b], val["g"][b], val["b"][b]])
            recol = sum(finish[b, k] * (gray[..., None] / ref) ** gam for k, gam in enumerate(FINISH_GAMMA.values()))
            recol = (255 * colour * recol).clamp(0, 255)
            m = mask[..., None].float()
            img = src + val["opacity"][b] * m * (recol - src)
            top = gray[mask].max()
            spec = torch.sigmoid((gray / top - (1 - val["gloss_size"][b])) / sharpness) * mask
            img = img + val["gloss"][b] * _HIGHLIGHT * spec[..., None]
            sparkle = torch.from_numpy((self._noise > 0.9)).float() * mask
            img = img + finish[b, 2] * _SPARKLE * val["opacity"][b] * sparkle[..., None]
            out.append(img.clamp(0, 255) / 255)
        return torch.stack(out)
