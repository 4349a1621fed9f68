"""What to match, whatever form it was given in: target images, parameter values or another scene,
and where to start.

:func:`resolve_goal` turns any accepted target into a :class:`Goal` (images ``[V, H, W, 3]``, an
optional foreground mask and, when known, the target parameter values and world vertices);
:func:`start_values` draws or checks the start values.
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import torch

from ..render.backend import RasterBackend
from ..render.renderer import render
from ..scene.scene import Scene


def check_finite(values: dict[str, torch.Tensor], what: str) -> None:
    """Raise naming the first parameter of ``values`` that holds NaN or inf."""
    for name, v in values.items():
        if not torch.isfinite(torch.as_tensor(v)).all():
            raise ValueError(f"{what} parameter {name!r} contains NaN or inf")


def load_image_file(path: str | os.PathLike) -> torch.Tensor:
    """An image file as float ``[H, W, 3|4]`` in [0, 1] (8- and 16-bit integers scaled)."""
    import imageio.v3 as iio

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"target image not found: {path}")
    try:
        arr = np.asarray(iio.imread(path))
    except Exception as exc:
        raise ValueError(f"cannot read target image {path}: {exc}") from exc
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    scale = 65535.0 if arr.dtype == np.uint16 else (255.0 if arr.dtype == np.uint8 else 1.0)
    return torch.from_numpy(arr.astype(np.float32) / scale)


def target_images(target, scene: Scene) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Normalise a target given as images → (``[V, H, W, 3]`` in [0, 1], optional mask ``[V, H, W]``)."""
    if isinstance(target, (str, os.PathLike)):
        target = [target]
    if isinstance(target, (list, tuple)):
        target = torch.stack([load_image_file(p) if isinstance(p, (str, os.PathLike)) else torch.as_tensor(p)
                              for p in target])
    images = torch.as_tensor(target, dtype=torch.float32)
    if images.ndim == 3:
        images = images[None]
    if images.ndim != 4 or images.shape[-1] not in (3, 4):
        raise ValueError(f"target images must be [V, H, W, 3 or 4], got shape {tuple(images.shape)}")
    if images.shape[0] != scene.num_views:
        raise ValueError(f"scene {scene.name!r} has {scene.num_views} views but {images.shape[0]} target images were given")
    if tuple(images.shape[1:3]) != scene.resolution:
        raise ValueError(f"target images are {tuple(images.shape[1:3])} pixels but the scene renders at "
                         f"{scene.resolution}; resize them or change the scene resolution")
    if not torch.isfinite(images).all():
        raise ValueError("target images contain NaN or inf")
    mask = None
    if images.shape[-1] == 4:
        mask = images[..., 3] > 0.5
        images = images[..., :3] * mask[..., None]
    return images.clamp(0, 1), mask


@dataclasses.dataclass(frozen=True)
class Goal:
    """The target: images ``[V, H, W, 3]``, optional foreground mask ``[V, H, W]``, and — when
    known — the target parameter values and world vertices ``[N, 3]``."""

    images: torch.Tensor
    mask: torch.Tensor | None
    params: dict[str, torch.Tensor] | None
    vertices: torch.Tensor | None


def resolve_goal(scene: Scene, target, device: torch.device, backend: RasterBackend) -> Goal:
    """The :class:`Goal` of ``target`` (None, a Scene, a dict of values, or images; see ``drot.optimize``)."""
    if target is None:
        params = scene.target_values()
    elif isinstance(target, Scene):
        if target.num_views != scene.num_views or target.resolution != scene.resolution:
            raise ValueError("a target scene must have the same number of views and resolution as the scene")
        params = target.target_values()
        if set(params) != {p.name for p in scene.parameters}:
            raise ValueError(f"target scene parameters {sorted(params)} differ from the scene's "
                             f"{sorted(p.name for p in scene.parameters)}")
    elif isinstance(target, dict):
        params = {k: torch.as_tensor(v, dtype=torch.float32) for k, v in target.items()}
        missing = {p.name for p in scene.parameters} - set(params)
        if missing:
            raise ValueError(f"target values missing for parameter(s) {sorted(missing)}")
    else:
        images, mask = target_images(target, scene)
        return Goal(images.to(device), None if mask is None else mask.to(device), None, None)
    check_finite(params, "target")
    for p in scene.parameters:
        if tuple(params[p.name].shape) != tuple(p.target.shape):
            raise ValueError(f"target value of {p.name!r} has shape {tuple(params[p.name].shape)}, "
                             f"expected {tuple(p.target.shape)}")
    params = {k: v.to(device) for k, v in params.items()}
    with torch.no_grad():
        state = scene.evaluate(params, device)
        frame = render(state, list(range(scene.num_views)), scene.resolution, backend)
    return Goal(frame.image, frame.mask, params, state.vertices)


def start_values(scene: Scene, initial: dict[str, torch.Tensor] | None, seed: int) -> dict[str, torch.Tensor]:
    """Start values: drawn from the scene with ``seed``, with ``initial`` (name → value) overriding."""
    start = scene.initial_values(seed)
    for name, value in (initial or {}).items():
        if name not in start:
            raise ValueError(f"initial value given for unknown parameter {name!r}; scene parameters: {sorted(start)}")
        value = torch.as_tensor(value, dtype=torch.float32)
        if value.shape != start[name].shape:
            raise ValueError(f"initial value of {name!r} has shape {tuple(value.shape)}, expected {tuple(start[name].shape)}")
        start[name] = value
    check_finite(start, "initial")
    return start
