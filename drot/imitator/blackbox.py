"""The black-box renderer interface and batch rendering (optionally in worker processes).

A :class:`BlackBoxRenderer` maps a batch of parameter vectors (see :mod:`drot.imitator.space`) —
and, for try-on style renderers, a batch of source images — to images, with no gradients:

    images = renderer(vectors, sources)     # vectors float [B, D]; sources float [B, H, W, 3] or None
                                            # -> float32 [B, H, W, 3] in [0, 1], requires_grad False

Subclasses implement :meth:`BlackBoxRenderer.render_one` (one decoded setting → one image as a
numpy array) and set :attr:`space`, :attr:`resolution` and :attr:`needs_source`. The base class
decodes vectors (discrete blocks by argmax), renders in a loop or in a process pool
(:func:`render_batch`, ``workers > 1``: the renderer is pickled to each worker, so a renderer must
hold its heavy state lazily and drop it in ``__getstate__``), and counts its calls
(:attr:`BlackBoxRenderer.calls`, the budget a gradient-free optimiser is compared at).
"""
from __future__ import annotations

import concurrent.futures
import multiprocessing
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from .space import ParameterSpace

__all__ = ["BlackBoxRenderer", "render_batch"]


class BlackBoxRenderer:
    """Base class of renderers drot cannot differentiate.

    Attributes:
        space: the :class:`ParameterSpace` of its settings.
        resolution: ``(H, W)`` of its images.
        needs_source: whether it edits a source image (try-on) rather than drawing from parameters alone.
        calls: images rendered so far by this object (in this process).
    """

    space: ParameterSpace
    resolution: tuple[int, int]
    needs_source: bool = False

    def __init__(self) -> None:
        self.calls = 0

    def render_one(self, setting: Mapping[str, Any], source: np.ndarray | None, seed: int) -> np.ndarray:
        """One image, float ``[H, W, 3]`` in [0, 1] (numpy), for a decoded ``setting``."""
        raise NotImplementedError

    def sources(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor | None:
        """``n`` random source images float32 ``[n, H, W, 3]`` for a source renderer, else None."""
        return None

    def _check(self, vectors, sources) -> tuple[torch.Tensor, torch.Tensor | None]:
        v = self.space.check_vectors(vectors)
        if self.needs_source:
            if sources is None:
                raise ValueError(f"{type(self).__name__} edits a source image: pass sources [B, H, W, 3]")
            s = torch.as_tensor(sources)
            if s.ndim == 3:
                s = s[None]
            if s.shape != (v.shape[0], *self.resolution, 3):
                raise ValueError(f"sources must be [B, H, W, 3] = [{v.shape[0]}, {self.resolution[0]}, "
                                 f"{self.resolution[1]}, 3], got {tuple(s.shape)}")
            return v, s.detach().float()
        if sources is not None:
            raise ValueError(f"{type(self).__name__} draws from parameters alone: sources must be None")
        return v, None

    def __call__(self, vectors: torch.Tensor, sources: torch.Tensor | None = None, *, seed: int = 0,
                 workers: int = 1) -> torch.Tensor:
        """Render a batch: float32 ``[B, H, W, 3]`` in [0, 1], no gradient (see the module docstring).

        Args:
            vectors: ``[B, D]`` (or ``[D]``); relaxed one-hots are decoded by argmax.
            sources: ``[B, H, W, 3]`` for a source renderer, else None.
            seed: base seed of stochastic renderers (row ``b`` uses ``seed + b``).
            workers: worker processes (1 = in this process).
        """
        v, s = self._check(vectors, sources)
        images = render_batch(self, v, s, seed=seed, workers=workers)
        self.calls += v.shape[0]
        return images


def _render_chunk(renderer: BlackBoxRenderer, settings: list, sources: list, seeds: list) -> list:
    torch.set_num_threads(1)
    return [renderer.render_one(st, src, sd) for st, src, sd in zip(settings, sources, seeds)]


def render_batch(renderer: BlackBoxRenderer, vectors: torch.Tensor, sources: torch.Tensor | None = None,
                 seed: int = 0, workers: int = 1) -> torch.Tensor:
    """Decode ``vectors`` ``[B, D]`` and render each row; ``workers > 1`` splits the batch over a
    spawned process pool (for single-threaded renderers). Returns float32 ``[B, H, W, 3]``."""
    if not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    settings = renderer.space.decode(vectors)
    srcs: Sequence[Any] = [None] * len(settings) if sources is None else list(sources.numpy())
    seeds = [seed + b for b in range(len(settings))]
    with torch.no_grad():
        if workers == 1 or len(settings) < 2:
            images = _render_chunk(renderer, settings, srcs, seeds)
        else:
            n = min(workers, len(settings))
            bounds = np.linspace(0, len(settings), n + 1).astype(int)
            ctx = multiprocessing.get_context("spawn")  # each worker runs torch on one thread (_render_chunk)
            with concurrent.futures.ProcessPoolExecutor(n, mp_context=ctx) as pool:
                parts = [pool.submit(_render_chunk, renderer, settings[a:b], srcs[a:b], seeds[a:b])
                         for a, b in zip(bounds[:-1], bounds[1:])]
                images = [im for p in parts for im in p.result()]
    for b, im in enumerate(images):
        _check_image(renderer, im, settings[b])
    out = torch.from_numpy(np.stack([np.asarray(im, dtype=np.float32) for im in images])) if images else \
        torch.zeros(0, *renderer.resolution, 3)
    if out.shape[1:] != (*renderer.resolution, 3):
        raise ValueError(f"{type(renderer).__name__}.render_one returned images of shape {tuple(out.shape[1:])}, "
                         f"expected {(*renderer.resolution, 3)}")
    return out.clamp(0, 1)


def _check_image(renderer: BlackBoxRenderer, image: Any, setting: Mapping[str, Any]) -> None:
    """Refuse an image that would train the imitator on garbage: integer pixels (0-255 read as
    all-white after clamping), NaN / inf, or floats far outside [0, 1]."""
    name = f"{type(renderer).__name__}.render_one"
    arr = np.asarray(image)
    if not np.issubdtype(arr.dtype, np.floating):
        raise TypeError(f"{name} returned a {arr.dtype} image for {dict(setting)}; it must return floats in [0, 1] "
                        f"(divide 8-bit images by 255)")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} returned an image with {int((~np.isfinite(arr)).sum())} NaN or infinite "
                         f"values for {dict(setting)}")
    if arr.size and (arr.max() > 1.5 or arr.min() < -0.5):  # a little over/undershoot is clamped
        raise ValueError(f"{name} returned values in [{arr.min():.3g}, {arr.max():.3g}] for {dict(setting)}; "
                         f"images must be in [0, 1] (0-255 images: divide by 255)")
