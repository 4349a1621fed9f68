"""Training samples for the imitator and the encoder: sampled settings, their renders and, for the
sensitivity loss, the same settings with one parameter resampled and their renders.

:func:`generate` renders in batches (``batch`` settings per call of the renderer, each call split
over ``workers`` processes when ``workers > 1``) with a progress bar, and times itself.
Renders of a setting and of its shifted twin use the same seed (common random numbers), so a
stochastic renderer's noise cancels in their difference.
"""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import torch
from tqdm import tqdm

from .blackbox import BlackBoxRenderer
from .files import read_plain, write_plain

__all__ = ["Samples", "generate"]


@dataclasses.dataclass
class Samples:
    """``N`` training samples.

    Attributes:
        vectors: float32 ``[N, D]`` settings (hard one-hots).
        images: float32 ``[N, H, W, 3]`` their renders.
        shift_index: long ``[N]`` the parameter (position in the space) resampled in ``shifted``.
        shifted: float32 ``[N, D]`` the settings with that parameter resampled.
        shifted_images: float32 ``[N, H, W, 3]`` their renders.
        sources: float32 ``[N, H, W, 3]`` source images (try-on renderers) or None.
        seconds: rendering time.
    """

    vectors: torch.Tensor
    images: torch.Tensor
    shift_index: torch.Tensor
    shifted: torch.Tensor
    shifted_images: torch.Tensor
    sources: torch.Tensor | None = None
    seconds: float = 0.0

    def __len__(self) -> int:
        return self.vectors.shape[0]

    def subset(self, index: torch.Tensor) -> "Samples":
        """The samples at ``index`` (long ``[M]``)."""
        return Samples(self.vectors[index], self.images[index], self.shift_index[index], self.shifted[index],
                       self.shifted_images[index], None if self.sources is None else self.sources[index], self.seconds)

    def save(self, path: str | Path) -> None:
        """Write the samples as a plain-data file (:mod:`~drot.imitator.files`), atomically."""
        write_plain(path, "samples", dataclasses.asdict(self))

    @classmethod
    def load(cls, path: str | Path) -> "Samples":
        """The samples written by :meth:`save`; ValueError naming ``path`` and what is wrong when it is
        foreign, truncated, carries code, or its tensors do not fit together."""
        data = read_plain(path, "samples", required=_FIELDS, what="samples file")
        fields = {k: data[k] for k in (*_FIELDS, "sources", "seconds") if k in data}
        for key in _FIELDS:
            if not isinstance(fields[key], torch.Tensor):
                raise ValueError(f"{path}: samples file key {key!r} is a {type(fields[key]).__name__}, not a tensor")
        n = fields["vectors"].shape[0]
        shapes = {"vectors": 2, "images": 4, "shift_index": 1, "shifted": 2, "shifted_images": 4}
        for key, ndim in shapes.items():
            t = fields[key]
            if t.ndim != ndim or t.shape[0] != n:
                raise ValueError(f"{path}: samples file key {key!r} has shape {tuple(t.shape)}; expected {ndim} "
                                 f"dimensions and {n} rows (as 'vectors')")
        if fields["shifted"].shape != fields["vectors"].shape or \
                fields["shifted_images"].shape != fields["images"].shape:
            raise ValueError(f"{path}: samples file 'shifted' / 'shifted_images' do not match 'vectors' / 'images' in shape")
        return cls(**fields)


#: The keys every samples file holds.
_FIELDS = ("vectors", "images", "shift_index", "shifted", "shifted_images")


def generate(renderer: BlackBoxRenderer, n: int, seed: int = 0, batch: int = 32, workers: int = 1,
             progress: bool = True) -> Samples:
    """Sample ``n`` settings from ``renderer.space`` (and sources), render them and their one-parameter shifts.

    Args:
        renderer: the black box.
        n: number of settings (``2 n`` renders).
        seed: seeds the settings, the sources, the shifts and the renderer's own sampling.
        batch: settings per rendering call.
        workers: processes per rendering call (1 = this process).
        progress: show a progress bar.
    """
    if n < 1:
        raise ValueError(f"generate: n must be >= 1, got {n}")
    g = torch.Generator().manual_seed(seed)
    space = renderer.space
    vectors = space.sample(n, g)
    index = torch.randint(0, len(space.parameters), (n,), generator=g)
    shifted = space.shift(vectors, index, g)
    sources = renderer.sources(n, g)
    images, shifted_images = [], []
    start = time.perf_counter()
    for a in tqdm(range(0, n, batch), desc="rendering samples", disable=not progress, unit="batch"):
        b = min(n, a + batch)
        src = None if sources is None else sources[a:b]
        images.append(renderer(vectors[a:b], src, seed=seed * 1_000_003 + a, workers=workers))
        shifted_images.append(renderer(shifted[a:b], src, seed=seed * 1_000_003 + a, workers=workers))
    return Samples(vectors, torch.cat(images), index, shifted, torch.cat(shifted_images), sources,
                   time.perf_counter() - start)
