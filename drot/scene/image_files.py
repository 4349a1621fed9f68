"""Why an image file a mesh names (an OBJ material's ``map_Kd``) cannot be used: empty, not an
image (a text file under a .png name), or truncated. trimesh drops such a texture without a word,
or fails with the image library's bare message; drot names the file and drops it with a warning.
Also: an image (array or file) as a drot texture."""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import torch

__all__ = ["image_file_problem", "image_to_texture", "load_texture"]


def image_file_problem(path: Path) -> str | None:
    """What makes ``path`` an unusable image (``"is empty (0 bytes)"``, ``"is not an image ..."``,
    ``"is truncated or damaged ..."``), or None when it decodes whole."""
    from PIL import Image, UnidentifiedImageError

    try:
        if path.stat().st_size == 0:
            return "is empty (0 bytes)"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # PIL's decompression-bomb and palette notes are not the point
            with Image.open(path) as image:
                image.load()  # decodes every pixel: a truncated file fails here
    except UnidentifiedImageError:
        return "is not an image (no image format recognises it)"
    except (OSError, SyntaxError, ValueError) as exc:
        return f"is truncated or damaged ({exc})"
    return None


def image_to_texture(image, where: str = "texture image") -> torch.Tensor:
    """An image (numpy array or PIL image, first row = top) as a drot texture ``[Ht, Wt, 3]``.

    Rows are flipped so that row 0 is v = 0 (the bottom of the image); 8-bit values are divided by
    255 (16-bit by 65535). Grey images are repeated to RGB; an alpha channel that is not fully
    opaque is dropped with a warning naming ``where``.
    """
    try:
        a = np.asarray(image)  # a PIL image decodes here: a truncated file fails here
    except (OSError, SyntaxError) as exc:
        raise ValueError(f"{where}: cannot decode the image (truncated or damaged: {exc})") from None
    if a.dtype == bool:
        a = a.astype(np.uint8) * 255
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim != 3 or a.shape[2] not in (1, 2, 3, 4) or min(a.shape[:2]) < 1:
        raise ValueError(f"{where}: expected an image [H, W] or [H, W, 1-4], got shape {a.shape}")
    if np.issubdtype(a.dtype, np.integer):
        a = a.astype(np.float64) / (65535.0 if a.dtype.itemsize > 1 else 255.0)
    a = np.clip(a.astype(np.float64), 0.0, 1.0)
    if a.shape[2] in (2, 4):
        if (a[..., -1] < 1.0).any():
            warnings.warn(f"{where}: the alpha channel (transparency) is dropped: drot renders opaque albedo",
                          UserWarning, stacklevel=3)
        a = a[..., :-1]
    if a.shape[2] == 1:
        a = np.repeat(a, 3, axis=2)
    return torch.as_tensor(a[::-1].copy(), dtype=torch.float32)  # a copy: no negative strides (1-row images)


def load_texture(path: str | os.PathLike) -> torch.Tensor:
    """Read an image file (PNG, JPEG...) as a drot texture ``[Ht, Wt, 3]`` (see :func:`image_to_texture`).

    Raises:
        FileNotFoundError: no such file. ValueError: the file is not a readable image.
    """
    import imageio.v3 as iio

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"texture image not found: {path}")
    try:
        with warnings.catch_warnings():  # imageio's plugin deprecations while it tries each plugin
            warnings.simplefilter("ignore", DeprecationWarning)
            image = iio.imread(path)
    except Exception as exc:  # imageio raises many types for unreadable files
        raise ValueError(f"cannot read texture image {path}: {exc}") from exc
    return image_to_texture(image, f"texture image {path}")
