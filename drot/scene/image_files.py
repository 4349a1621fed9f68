"""Why an image file a mesh names (an OBJ material's ``map_Kd``) cannot be used: empty, not an
image (a text file under a .png name), or truncated. trimesh drops such a texture without a word,
or fails with the image library's bare message; drot names the file and drops it with a warning."""
from __future__ import annotations

import warnings
from pathlib import Path

__all__ = ["image_file_problem"]


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
