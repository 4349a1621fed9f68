"""Images, strips and animations: ``to_uint8``, ``save_image``, ``image_strip``, ``save_strip``,
``save_animation``.

Images in this project are float tensors ``[H, W, 3]`` with values in [0, 1] and row 0
at the top; every function here also accepts numpy arrays, ``uint8`` images, and
``[H, W]`` / ``[H, W, 1]`` grey or ``[H, W, 4]`` RGBA images.

Column labels are drawn with matplotlib's object API (``Figure`` + ``FigureCanvasAgg``), never
``pyplot``, in matplotlib's bundled DejaVu Sans (see :mod:`drot.report`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Union

import numpy as np
import torch

from ._paths import PathLike, _prepare_path

ImageLike = Union[torch.Tensor, np.ndarray]

# Height in pixels of the band above the columns that holds the column labels.
LABEL_HEIGHT = 16
_BACKGROUND = 255  # white padding / label band
_FONT = "DejaVu Sans"  # bundled with matplotlib


def to_uint8(image: ImageLike) -> np.ndarray:
    """Convert an image to a ``uint8`` RGB(A) numpy array ``[H, W, 3]`` (or ``[H, W, 4]``).

    Args:
        image: tensor or array ``[H, W]``, ``[H, W, 1]``, ``[H, W, 3]`` or ``[H, W, 4]``;
            float in [0, 1] (clamped, then scaled by 255 and rounded) or already ``uint8``
            (returned unchanged apart from grey -> RGB). Tensors may require grad or live
            on a GPU.

    Returns:
        A C-contiguous ``uint8`` array; grey input is repeated to 3 channels.
    """
    if isinstance(image, torch.Tensor):
        image = image.detach().cpu().numpy()
    arr = np.asarray(image)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4):
        raise ValueError(f"expected an image [H, W], [H, W, 1|3|4], got shape {arr.shape}")
    if arr.dtype != np.uint8:
        if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number):
            raise ValueError(f"expected a float or uint8 image, got dtype {arr.dtype}")
        arr = arr.astype(np.float64)
        if np.isnan(arr).any():
            raise ValueError("image contains NaN values")
        arr = np.round(np.clip(arr, 0.0, 1.0) * 255.0).astype(np.uint8)
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    return np.ascontiguousarray(arr)


def save_image(path: PathLike, image: ImageLike) -> Path:
    """Save one image (see :func:`to_uint8` for accepted inputs) as a PNG; creates parent dirs.

    Returns the path written.
    """
    import imageio.v3 as iio

    path = _prepare_path(path)
    iio.imwrite(path, to_uint8(image), extension=path.suffix or ".png")
    return path


def _render_labels(labels: Sequence[str], centers: Sequence[float], widths: Sequence[int],
                   width: int, height: int) -> np.ndarray:
    """Render text labels onto a white ``uint8`` band ``[height, width, 3]``.

    Label ``i`` is centred at x = ``centers[i]`` and shrunk to fit ``widths[i]`` pixels.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    dpi = 100
    fig = Figure(figsize=(width / dpi, height / dpi), dpi=dpi, facecolor="white")
    canvas = FigureCanvasAgg(fig)
    # Font size in points such that the cap height fills ~70% of the band.
    base_size = 0.7 * height * 72.0 / dpi
    texts = []
    for label, cx in zip(labels, centers):
        texts.append(fig.text(cx / width, 0.5, str(label), ha="center", va="center",
                              fontsize=base_size, family=_FONT, color="black"))
    renderer = canvas.get_renderer()
    # Below ~6.5 pt (at 100 dpi) DejaVu becomes unreadable: shrink to that, then truncate.
    min_size = min(base_size, 6.5)
    for text, w in zip(texts, widths):
        # Labels wider than their column are shrunk, so neighbours never overlap.
        extent = text.get_window_extent(renderer=renderer).width
        if extent > w - 2 and extent > 0:
            text.set_fontsize(max(base_size * (w - 2) / extent, min_size))
            full = text.get_text()
            n = len(full)
            while n > 1 and text.get_window_extent(renderer=renderer).width > w - 2:
                n -= 1
                text.set_text(full[:n].rstrip() + "\u2026")  # ellipsis
    canvas.draw()
    band = np.asarray(canvas.buffer_rgba())[:, :, :3]
    # Guard against off-by-one rounding of the canvas size.
    out = np.full((height, width, 3), _BACKGROUND, dtype=np.uint8)
    h, w = min(height, band.shape[0]), min(width, band.shape[1])
    out[:h, :w] = band[:h, :w]
    return out


def image_strip(
    rows: Sequence[Sequence[ImageLike]],
    labels: Sequence[str] | None = None,
    pad: int = 2,
    label_height: int = LABEL_HEIGHT,
) -> np.ndarray:
    """Arrange images in a grid: one row per view, one column per stage (start/target/result).

    Args:
        rows: ``rows[r][c]`` is an image (see :func:`to_uint8`); every row must have the
            same number of columns. Images may differ in size: each column is as wide as
            its widest image and each row as tall as its tallest; smaller images are centred.
        labels: optional column titles (one per column), drawn in a white band above the grid.
        pad: white border in pixels around and between the cells.
        label_height: height in pixels of the label band (only when ``labels`` is given).

    Returns:
        ``uint8`` array ``[H, W, 3]`` with, for equal cells of size ``h x w``,
        ``H = (label_height if labels else 0) + pad + n_rows * (h + pad)`` and
        ``W = pad + n_cols * (w + pad)``.
    """
    if len(rows) == 0:
        raise ValueError("image_strip: rows is empty")
    n_cols = len(rows[0])
    if n_cols == 0:
        raise ValueError("image_strip: rows[0] has no images")
    for r, row in enumerate(rows):
        if len(row) != n_cols:
            raise ValueError(
                f"image_strip: every row needs {n_cols} images (like row 0), row {r} has {len(row)}"
            )
    if labels is not None and len(labels) != n_cols:
        raise ValueError(f"image_strip: {len(labels)} labels for {n_cols} columns")
    if pad < 0:
        raise ValueError(f"image_strip: pad must be >= 0, got {pad}")

    # RGBA would need compositing; drop alpha (renders are opaque).
    cells = [[to_uint8(img)[:, :, :3] for img in row] for row in rows]
    col_w = [max(cells[r][c].shape[1] for r in range(len(cells))) for c in range(n_cols)]
    row_h = [max(img.shape[0] for img in row) for row in cells]
    band = label_height if labels is not None else 0
    width = pad + sum(w + pad for w in col_w)
    height = band + pad + sum(h + pad for h in row_h)
    out = np.full((height, width, 3), _BACKGROUND, dtype=np.uint8)

    col_x = np.cumsum([pad] + [w + pad for w in col_w])[:-1]
    y = band + pad
    for r, row in enumerate(cells):
        for c, img in enumerate(row):
            h, w = img.shape[:2]
            y0 = y + (row_h[r] - h) // 2
            x0 = int(col_x[c]) + (col_w[c] - w) // 2
            out[y0:y0 + h, x0:x0 + w] = img
        y += row_h[r] + pad

    if labels is not None and band > 0:
        centers = [float(col_x[c]) + col_w[c] / 2 for c in range(n_cols)]
        out[:band] = _render_labels(labels, centers, col_w, width, band)
    return out


def save_strip(
    path: PathLike,
    rows: Sequence[Sequence[ImageLike]],
    labels: Sequence[str] | None = None,
    pad: int = 2,
) -> Path:
    """Build :func:`image_strip` and save it as a PNG. Returns the path written."""
    return save_image(path, image_strip(rows, labels=labels, pad=pad))


def _ffmpeg_available() -> bool:
    try:
        import imageio_ffmpeg  # noqa: F401
    except ImportError:
        return False
    return True


def save_animation(path: PathLike, frames: Sequence[ImageLike], fps: float = 10) -> Path:
    """Save frames as an animated GIF (looping forever) or, with imageio-ffmpeg, an MP4.

    Args:
        path: ``.gif`` (always available, via pillow) or ``.mp4`` (needs ``imageio-ffmpeg``).
        frames: images of one common size, each ``[H, W, 3]`` float in [0, 1] or ``uint8``
            (tensor or array; see :func:`to_uint8`).
        fps: frames per second.

    Note: GIFs hold at most 256 colours per frame, and pillow merges consecutive identical
    frames into one longer frame (the timing is unchanged).

    Returns the path written.
    """
    import imageio.v3 as iio

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".gif", ".mp4"):
        raise ValueError(f"save_animation: unsupported extension {path.suffix!r}; use .gif or .mp4")
    if suffix == ".mp4" and not _ffmpeg_available():
        raise RuntimeError(
            "save_animation: writing .mp4 needs the 'imageio-ffmpeg' package, which is not "
            "installed; save as .gif instead (or `pip install imageio-ffmpeg`)"
        )
    if len(frames) == 0:
        raise ValueError("save_animation: no frames")
    if not fps > 0:
        raise ValueError(f"save_animation: fps must be positive, got {fps}")
    arrays = [to_uint8(f)[:, :, :3] for f in frames]
    shape = arrays[0].shape
    for i, a in enumerate(arrays):
        if a.shape != shape:
            raise ValueError(
                f"save_animation: all frames must have the same size; frame 0 is {shape[:2]}, "
                f"frame {i} is {a.shape[:2]}"
            )
    path = _prepare_path(path)
    stack = np.stack(arrays)  # [N, H, W, 3] uint8
    if suffix == ".gif":
        # duration is per frame in milliseconds; loop=0 loops forever.
        iio.imwrite(path, stack, extension=".gif", plugin="pillow", is_batch=True,
                    duration=1000.0 / fps, loop=0)
    else:
        import imageio.v2 as iio2

        # H.264 with yuv420p needs even sizes: pad the last row/column by edge replication.
        h, w = stack.shape[1:3]
        stack = np.pad(stack, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), mode="edge")
        iio2.mimwrite(path, list(stack), fps=fps, macro_block_size=1)
    return path
