"""Accessory and portrait images: validation (array-likes → float32 tensors) and loading (PNG, JPEG, ...).

An accessory is RGBA ``[h, w, 4]`` whose alpha marks it (alpha >= :data:`ALPHA_THRESHOLD`); a
portrait is RGB ``[H, W, 3]``: the canvas and the scene's background.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

#: A texel belongs to the accessory when its alpha is at least this.
ALPHA_THRESHOLD = 0.5


def _to_float_image(image, what: str) -> torch.Tensor:
    """Array-like ``[H, W, C]`` (uint8, uint16 or float in [0, 1]) → float32 tensor."""
    if isinstance(image, torch.Tensor):
        arr = image.detach().cpu().numpy()
    else:
        arr = np.asarray(image)
    if arr.dtype == np.uint8:
        arr = arr.astype(np.float32) / 255.0
    elif arr.dtype == np.uint16:
        arr = arr.astype(np.float32) / 65535.0
    elif np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float32)
    else:
        raise ValueError(f"{what} must be uint8, uint16 or float (values in [0, 1]), got dtype {arr.dtype}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{what} contains NaN or inf")
    if arr.size and (arr.min() < -1e-3 or arr.max() > 1 + 1e-3):
        raise ValueError(f"{what} has float values in [{arr.min():g}, {arr.max():g}]; expected [0, 1] (an 8-bit image "
                         f"stored as float? divide it by 255, or pass it as uint8)")
    return torch.from_numpy(np.ascontiguousarray(arr))


def as_accessory(image, crop: bool = False) -> torch.Tensor:
    """Validate an accessory image → float32 RGBA tensor ``[h, w, 4]`` in [0, 1].

    Args:
        image: array-like ``[h, w, 4]`` (RGBA) or ``[h, w, 2]`` (grey + alpha), uint8/uint16/float.
        crop: crop to the bounding box of the opaque texels (alpha ≥ 0.5), so that the four
            corners are those of the accessory itself rather than of the image's padding.

    Raises:
        ValueError: no alpha channel (RGB or grey image), wrong shape, no opaque texel.
    """
    img = _to_float_image(image, "accessory image")
    if img.ndim == 2 or (img.ndim == 3 and img.shape[2] in (1, 3)):
        channels = 1 if img.ndim == 2 else img.shape[2]
        raise ValueError(f"accessory image has no alpha channel: got shape {tuple(img.shape)} ({channels} channel"
                         f"{'s' if channels > 1 else ''}); expected RGBA [h, w, 4] whose alpha marks the accessory "
                         f"(alpha >= {ALPHA_THRESHOLD} = accessory, below = transparent)")
    if img.ndim != 3 or img.shape[2] not in (2, 4) or min(img.shape[:2]) < 1:
        raise ValueError(f"accessory image must be RGBA [h, w, 4] (or grey + alpha [h, w, 2]), got {tuple(img.shape)}")
    if img.shape[2] == 2:
        img = torch.cat([img[..., :1].expand(-1, -1, 3), img[..., 1:]], 2)
    img = img.clamp(0, 1)
    opaque = img[..., 3] >= ALPHA_THRESHOLD
    if not bool(opaque.any()):
        raise ValueError(f"accessory image is fully transparent: no texel has alpha >= {ALPHA_THRESHOLD}")
    if crop:
        rows, cols = opaque.any(1).nonzero().squeeze(1), opaque.any(0).nonzero().squeeze(1)
        img = img[int(rows[0]): int(rows[-1]) + 1, int(cols[0]): int(cols[-1]) + 1]
    return img.contiguous()


def as_portrait(image) -> torch.Tensor:
    """Validate a portrait → float32 RGB tensor ``[H, W, 3]`` in [0, 1].

    Accepts ``[H, W]`` grey, ``[H, W, 3]`` RGB or ``[H, W, 4]`` RGBA (composited over black, drot's
    background colour: give an opaque portrait to keep its colours).
    """
    img = _to_float_image(image, "portrait image")
    if img.ndim == 2:
        img = img[..., None].expand(-1, -1, 3)
    if img.ndim != 3 or img.shape[2] not in (3, 4) or min(img.shape[:2]) < 1:
        raise ValueError(f"portrait must be an image [H, W, 3] (RGB), [H, W, 4] (RGBA) or [H, W] (grey), "
                         f"got shape {tuple(img.shape)}")
    if img.shape[2] == 4:
        img = img[..., :3] * img[..., 3:]
    return img.clamp(0, 1).contiguous()


def _read_image(path: str | os.PathLike, what: str, alpha: bool = False) -> np.ndarray:
    import imageio.v3 as iio

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} file not found: {path}")
    try:
        image = np.asarray(iio.imread(path))
    except Exception as exc:  # imageio raises many exception types for unreadable files
        raise ValueError(f"cannot read {what} file {path}: {exc}") from exc
    if alpha and (image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (1, 3))):
        # A palette or grey PNG can carry its transparency in a tRNS chunk, which imageio drops.
        try:
            from PIL import Image

            with Image.open(path) as im:
                if "transparency" in im.info:
                    image = np.asarray(im.convert("RGBA"))
        except Exception:  # noqa: BLE001  (not a format Pillow reads: keep imageio's pixels)
            pass
    return image


def load_accessory(path: str | os.PathLike, crop: bool = True) -> torch.Tensor:
    """Read an RGBA accessory image (PNG, ...) → float32 ``[h, w, 4]``, cropped to its opaque texels.

    Raises FileNotFoundError, or ValueError for an unreadable file or one without alpha channel.
    """
    arr = _read_image(path, "accessory image", alpha=True)
    try:
        return as_accessory(arr, crop=crop)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def load_portrait(path: str | os.PathLike) -> torch.Tensor:
    """Read a portrait image (RGB or RGBA PNG, JPEG, ...) → float32 ``[H, W, 3]``."""
    arr = _read_image(path, "portrait image")
    try:
        return as_portrait(arr)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
