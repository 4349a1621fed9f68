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

from .. import metrics
from ..render.backend import RasterBackend
from ..render.renderer import render
from ..scene.scene import Scene


def check_finite(values: dict[str, torch.Tensor], what: str) -> None:
    """Raise naming the first parameter of ``values`` that holds NaN or inf."""
    for name, v in values.items():
        if not torch.isfinite(torch.as_tensor(v)).all():
            raise ValueError(f"{what} parameter {name!r} contains NaN or inf")


#: How far outside [0, 1] a float target image may reach before it is refused (values within it are
#: clamped, as drot's own renders of specular or environment-lit scenes overshoot 1 a little);
#: an image on another scale (0-255, 0-65535) is far outside.
RANGE_TOLERANCE = 0.5
#: Integer image dtypes and the value of full intensity (files and in-memory images alike).
INTEGER_SCALES = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}


def _image_array(image, what: str) -> torch.Tensor:
    """One target image (tensor or array) as float32, integers scaled like image files; ``what`` names it."""
    if isinstance(image, torch.Tensor):
        image = image.detach().cpu()
        if image.is_floating_point():
            return image.to(torch.float32)
        if image.dtype not in (torch.uint8, torch.uint16):
            raise ValueError(f"{what} has dtype {image.dtype}: give float values in [0, 1], uint8 (0-255) or "
                             f"uint16 (0-65535)")
        image = image.to(torch.int32).numpy().astype(np.uint8 if image.dtype == torch.uint8 else np.uint16)
    array = np.asarray(image)
    if array.dtype.kind == "f":
        return torch.from_numpy(array.astype(np.float32))
    scale = INTEGER_SCALES.get(array.dtype)
    if scale is None:
        raise ValueError(f"{what} has dtype {array.dtype}: give float values in [0, 1], uint8 (0-255) or "
                         f"uint16 (0-65535)")
    return torch.from_numpy(array.astype(np.float32) / scale)


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
    return _image_array(arr, f"target image file {path}")


def _check_image(image: torch.Tensor, what: str, scene: Scene) -> None:
    """One target image ``[H, W, C]``: channels, size, finite values, range; ``what`` names it."""
    if image.ndim != 3 or image.shape[-1] not in (3, 4):
        raise ValueError(f"{what} must be [H, W, 3 or 4], got shape {tuple(image.shape)}")
    if tuple(image.shape[:2]) != scene.resolution:
        raise ValueError(f"target images are {tuple(image.shape[:2])} pixels but the scene renders at "
                         f"{scene.resolution}; resize them or change the scene resolution ({what})")
    if not torch.isfinite(image).all():
        raise ValueError(f"target images contain NaN or inf ({what})")
    low, high = float(image.min()), float(image.max())
    if low < -RANGE_TOLERANCE or high > 1 + RANGE_TOLERANCE:
        raise ValueError(f"{what} has values in [{low:g}, {high:g}]: float target images must be in [0, 1] "
                         f"(tolerance {RANGE_TOLERANCE}); divide 0-255 values by 255 or pass a uint8 image")


def target_images(target, scene: Scene) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Normalise a target given as images → (``[V, H, W, 3]`` in [0, 1], optional mask ``[V, H, W]``).

    Accepted: a tensor or array ``[V, H, W, 3|4]`` (``[H, W, 3|4]`` for one view), or a list with one
    image (file path, tensor or array) per view. Float images must lie in [0, 1] (within
    :data:`RANGE_TOLERANCE`; then clamped), uint8 and uint16 images are scaled by 255 and 65535 as
    image files are; other dtypes are refused. Errors name the offending image (index or file).
    """
    if isinstance(target, (str, os.PathLike)):
        target = [target]
    if isinstance(target, (list, tuple)):
        images, names = [], []
        for i, item in enumerate(target):
            is_file = isinstance(item, (str, os.PathLike))
            names.append(f"target image {i} ({item})" if is_file else f"target image {i}")
            image = load_image_file(item) if is_file else _image_array(item, names[-1])
            _check_image(image, names[-1], scene)
            if images and image.shape[-1] != images[0].shape[-1]:
                raise ValueError(f"{names[-1]} has {image.shape[-1]} channels but {names[0]} has "
                                 f"{images[0].shape[-1]}: give every view RGB, or every view RGBA")
            images.append(image)
        if not images:
            raise ValueError("no target images were given (an empty list)")
        images = torch.stack(images)
    else:
        images = _image_array(target, "target images")
        if images.ndim == 3:
            images = images[None]
        if images.ndim != 4 or images.shape[-1] not in (3, 4):
            raise ValueError(f"target images must be [V, H, W, 3 or 4], got shape {tuple(images.shape)}")
        names = [f"target image {i}" for i in range(images.shape[0])]
        for image, name in zip(images, names):
            _check_image(image, name, scene)
    if images.shape[0] != scene.num_views:
        raise ValueError(f"scene {scene.name!r} has {scene.num_views} views but {images.shape[0]} target images were given")
    mask = None
    if images.shape[-1] == 4:
        mask = images[..., 3] > 0.5
        if not bool(mask.any()):
            raise ValueError(f"the alpha channel of every target image is (almost) zero, max "
                             f"{float(images[..., 3].max()):g}: nothing is foreground (alpha > 0.5), nothing to "
                             f"match; give RGB images, or an alpha channel that is 1 on the object")
        images = images[..., :3] * mask[..., None]
    return images.clamp(0, 1), mask


@dataclasses.dataclass(frozen=True)
class Goal:
    """The target: images ``[V, H, W, 3]``, optional foreground mask ``[V, H, W]``, and — when
    known — the target parameter values and world vertices ``[N, 3]``; ``source`` says where the
    images came from: ``"rendered"`` (from parameter values), ``"alpha"`` (images with an alpha
    channel) or ``"images"`` (RGB images: the foreground is their non-black pixels)."""

    images: torch.Tensor
    mask: torch.Tensor | None
    params: dict[str, torch.Tensor] | None
    vertices: torch.Tensor | None
    source: str = "rendered"

    def foreground(self) -> torch.Tensor:
        """Bool ``[V, H, W]``: the mask, or the non-black pixels of images without one."""
        return self.mask if self.mask is not None else self.images.amax(-1) > 1e-6


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
        return Goal(images.to(device), None if mask is None else mask.to(device), None, None,
                    "images" if mask is None else "alpha")
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


def object_errors(scene: Scene, state, goal: Goal) -> dict[str, float] | None:
    """Each object's final vertex error, for a scene of several objects with known target vertices."""
    if goal.vertices is None or not scene.objects:
        return None
    return {name: metrics.vertex_mae(state.vertices[a:b], goal.vertices[a:b])
            for name, (a, b) in scene.object_ranges().items()}


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
