"""Writing a run's results to a folder: images, strips, animations, plots, JSON/CSV, tables.

Images in this project are float tensors ``[H, W, 3]`` with values in [0, 1] and row 0
at the top; every function here also accepts numpy arrays, ``uint8`` images, and
``[H, W]`` / ``[H, W, 1]`` grey or ``[H, W, 4]`` RGBA images.

Plots and text are drawn with matplotlib's object API (``Figure`` + ``FigureCanvasAgg``),
never ``pyplot``: that touches no global backend/figure state, so it is safe to call
from scripts, notebooks and threads that use pyplot for something else. Text uses
matplotlib's bundled DejaVu Sans, so no system fonts are needed.
"""

from __future__ import annotations

import csv
import dataclasses
import enum
import io
import json
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Union

import numpy as np
import torch

__all__ = [
    "to_uint8",
    "save_image",
    "image_strip",
    "save_strip",
    "save_animation",
    "plot_curves",
    "plot_curve_panels",
    "to_jsonable",
    "write_text",
    "write_json",
    "write_csv",
    "format_table",
]

PathLike = Union[str, os.PathLike]
ImageLike = Union[torch.Tensor, np.ndarray]

# Height in pixels of the band above the columns that holds the column labels.
LABEL_HEIGHT = 16
_BACKGROUND = 255  # white padding / label band
_FONT = "DejaVu Sans"  # bundled with matplotlib


# ----------------------------------------------------------------------------- images


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


def _prepare_path(path: PathLike) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


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


# ----------------------------------------------------------------------------- plots

Curve = Union[Sequence[tuple[float, float]], tuple[Sequence[float], Sequence[float]], np.ndarray]


def _is_sequence(x: Any) -> bool:
    return isinstance(x, (list, tuple, np.ndarray, torch.Tensor)) and np.ndim(_to_numpy(x)) >= 1


def _to_numpy(x: Any) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def _curve_xy(name: str, data: Curve) -> tuple[np.ndarray, np.ndarray]:
    """Normalise one curve to ``(xs, ys)`` float64 arrays of equal length."""
    if isinstance(data, tuple) and len(data) == 2 and all(_is_sequence(d) for d in data):
        xs, ys = _to_numpy(data[0]).ravel(), _to_numpy(data[1]).ravel()
    else:
        arr = _to_numpy(data)
        if arr.size == 0:
            return np.zeros(0), np.zeros(0)
        if arr.ndim == 1:  # plain list of y values: x = 0, 1, 2, ...
            xs, ys = np.arange(arr.shape[0], dtype=np.float64), arr
        elif arr.ndim == 2 and arr.shape[1] == 2:
            xs, ys = arr[:, 0], arr[:, 1]
        else:
            raise ValueError(
                f"plot_curves: curve {name!r} must be a list of (x, y) pairs or an (xs, ys) "
                f"tuple, got an array of shape {arr.shape}"
            )
    if xs.shape != ys.shape:
        raise ValueError(
            f"plot_curves: curve {name!r} has {xs.size} x values but {ys.size} y values"
        )
    return xs, ys


def plot_curves(
    path: PathLike,
    curves: Mapping[str, Curve],
    xlabel: str = "iteration",
    ylabel: str = "error",
    title: str = "",
    logy: bool = True,
    threshold: float | None = None,
    group_sep: str = "/",
) -> Path:
    """Line plot of several runs, one colour and one legend entry per method, saved as PNG.

    Args:
        path: output ``.png`` path (parent directories are created).
        curves: ``{name: curve}``. The method of a curve is the part of ``name`` before the
            first ``group_sep`` (``"ot/seed3"`` -> ``"ot"``); curves of the same method share
            a colour and a single legend entry (``"ot (5 runs)"``). A curve is a list of
            ``(x, y)`` pairs, an ``(xs, ys)`` tuple of two sequences, an ``[N, 2]`` array, or a
            plain list of y values (x = 0, 1, ...).
        xlabel, ylabel, title: axis labels and title.
        logy: logarithmic y axis. Values ``<= 0`` (e.g. an exact zero error) are clipped to a
            small positive floor (half the smallest positive value plotted) so they stay visible.
        threshold: if given, a horizontal dashed line (e.g. the success threshold).
        group_sep: separator between method and run in ``name``.

    Non-finite y values (a diverged run) are left as gaps in the line.

    Returns the path written.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.0, 4.5), dpi=120)
    FigureCanvasAgg(fig)
    _draw_curves(fig.add_subplot(1, 1, 1), curves, xlabel, ylabel, title, logy, threshold, group_sep)
    fig.tight_layout()
    path = _prepare_path(path)
    fig.savefig(path, format="png", facecolor="white")
    return path


def plot_curve_panels(
    path: PathLike,
    panels: Mapping[str, Mapping[str, Curve]],
    xlabel: str = "seconds",
    ylabel: str = "error",
    title: str = "",
    logy: bool = True,
    threshold: float | None = None,
    group_sep: str = "/",
    columns: int = 3,
) -> Path:
    """Several :func:`plot_curves` panels side by side in one PNG (e.g. one per method group).

    Args:
        panels: ``{panel title: curves}``, each ``curves`` as in :func:`plot_curves`; panels are
            laid out row by row, ``columns`` per row, and share the y axis range.
        title: the figure's title; the other arguments apply to every panel.

    Returns the path written.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not panels:
        raise ValueError("plot_curve_panels: no panels")
    n = len(panels)
    cols = max(1, min(columns, n))
    rows = -(-n // cols)
    fig = Figure(figsize=(5.2 * cols, 3.8 * rows + (0.4 if title else 0.0)), dpi=110)
    FigureCanvasAgg(fig)
    axes = [fig.add_subplot(rows, cols, i + 1) for i in range(n)]
    for ax in axes[1:]:
        ax.sharey(axes[0])
    for ax, (name, curves) in zip(axes, panels.items()):
        _draw_curves(ax, curves, xlabel, ylabel, str(name), logy, threshold, group_sep)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path = _prepare_path(path)
    fig.savefig(path, format="png", facecolor="white")
    return path


def _draw_curves(ax, curves: Mapping[str, Curve], xlabel: str, ylabel: str, title: str, logy: bool,
                 threshold: float | None, group_sep: str) -> None:
    """Draw the curves of :func:`plot_curves` on a matplotlib ``Axes``."""
    data = {}
    for name, curve in curves.items():
        xs, ys = _curve_xy(str(name), curve)
        ys = np.where(np.isfinite(ys), ys, np.nan)
        data[str(name)] = (xs, ys)

    floor = None
    if logy:
        positives = [ys[ys > 0] for _, ys in data.values()]
        if threshold is not None and threshold > 0:
            positives.append(np.array([threshold], dtype=np.float64))
        positives = np.concatenate(positives) if positives else np.zeros(0)
        floor = 0.5 * float(positives.min()) if positives.size else 1e-12
        data = {k: (xs, np.where(ys > 0, ys, np.where(np.isnan(ys), np.nan, floor)))
                for k, (xs, ys) in data.items()}

    # Group by method, keeping first-seen order for colours and the legend.
    methods: dict[str, list[str]] = {}
    for name in data:
        methods.setdefault(name.split(group_sep, 1)[0], []).append(name)

    colors = [f"C{i % 10}" for i in range(len(methods))]
    for color, (method, names) in zip(colors, methods.items()):
        n = len(names)
        # Fainter lines when a method has many runs, so overlapping runs stay readable.
        alpha = 1.0 if n == 1 else max(0.35, 0.9 / math.sqrt(n))
        label = method if n == 1 else f"{method} ({n} runs)"
        for name in names:
            xs, ys = data[name]
            if xs.size == 0:
                continue
            # Only the first drawn run of a method carries the legend label.
            ax.plot(xs, ys, color=color, alpha=alpha, linewidth=1.4,
                    marker="o" if xs.size == 1 else None, label=label)
            label = "_nolegend_"
    if threshold is not None:
        t = threshold if not (logy and threshold <= 0) else floor
        ax.axhline(t, color="0.3", linestyle="--", linewidth=1.2,
                   label=f"threshold = {threshold:g}")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        legend = ax.legend(loc="best", fontsize="small", framealpha=0.85)
        for handle in legend.legend_handles:
            handle.set_alpha(1.0)  # the faint multi-run alpha is hard to read in the legend


# ----------------------------------------------------------------------------- JSON / CSV


def _float_json(x: float) -> float | str:
    # JSON has no inf/nan: write them as strings that float() parses back.
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def _jsonable(obj: Any) -> Any:
    """Recursively convert ``obj`` to plain JSON types (see :func:`write_json`)."""
    if obj is None or isinstance(obj, (bool, str, int)):
        return obj
    if isinstance(obj, float):
        return _float_json(obj)
    if isinstance(obj, torch.Tensor):
        return _jsonable(obj.detach().cpu().tolist())
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.generic):  # numpy scalars: np.float32, np.int64, np.bool_, ...
        return _jsonable(obj.item())
    if isinstance(obj, enum.Enum):
        return _jsonable(obj.value)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        # Field by field rather than dataclasses.asdict, which deep-copies (tensors too).
        return {f.name: _jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, Mapping):
        return {_json_key(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (torch.dtype, torch.device)):
        return str(obj)
    # Anything else (a function, a custom object): its repr, rather than losing a long run's
    # results to a TypeError at the very end.
    return repr(obj)


def to_jsonable(obj: Any) -> Any:
    """``obj`` converted to plain JSON types, as :func:`write_json` writes it."""
    return _jsonable(obj)


def _json_key(key: Any) -> str:
    if isinstance(key, str):
        return key
    value = _jsonable(key)
    return value if isinstance(value, str) else json.dumps(value)


def _atomic_write_text(path: PathLike, text: str) -> Path:
    """Write via a temporary file + rename so readers never see a half-written file."""
    path = _prepare_path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def write_text(path: PathLike, text: str) -> Path:
    """Write a text file atomically (readers never see it half written); creates parent dirs."""
    return _atomic_write_text(path, text)


def write_json(path: PathLike, obj: Any) -> Path:
    """Write ``obj`` as pretty-printed (indent 2), strictly valid JSON.

    Converted on the way: tensors and numpy arrays -> nested lists; numpy scalars and 0-d
    tensors -> numbers; dataclass instances -> dicts of their fields; paths -> strings;
    enums -> their value; tuples/sets -> lists; non-string dict keys -> strings;
    ``inf``/``-inf``/``nan`` -> the strings ``"inf"``/``"-inf"``/``"nan"`` (``float()``
    reads them back); anything else -> its ``repr``.

    Returns the path written.
    """
    text = json.dumps(_jsonable(obj), indent=2, allow_nan=False, ensure_ascii=False)
    return _atomic_write_text(path, text + "\n")


def _cell_value(v: Any) -> Any:
    """A scalar for CSV/table cells: unwrap 0-d tensors/arrays and numpy scalars."""
    if isinstance(v, torch.Tensor) and v.numel() == 1:
        return v.detach().cpu().item()
    if isinstance(v, np.ndarray) and v.size == 1:
        return v.item()
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, os.PathLike):
        return os.fspath(v)
    if isinstance(v, (torch.Tensor, np.ndarray, list, tuple, dict)) or dataclasses.is_dataclass(v):
        return json.dumps(_jsonable(v))
    return v


def write_csv(path: PathLike, rows: Sequence[Mapping[str, Any]]) -> Path:
    """Write dict rows as CSV.

    The columns are the union of the rows' keys in first-seen order; a key missing from a
    row gives an empty cell, ``None`` too. Tensors/numpy scalars are written as numbers,
    non-scalar values as JSON. No rows -> an empty file.

    Returns the path written.
    """
    columns: dict[str, None] = {}  # ordered set
    for row in rows:
        for k in row:
            columns.setdefault(str(k), None)
    lines: list[list[str]] = []
    if columns:
        lines.append(list(columns))
    for row in rows:
        cells = {str(k): _cell_value(v) for k, v in row.items()}
        lines.append(["" if cells.get(c) is None else str(cells[c]) for c in columns])

    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(lines)
    return _atomic_write_text(path, buf.getvalue())


# ----------------------------------------------------------------------------- tables


def _format_cell(v: Any, spec: str | None) -> str:
    v = _cell_value(v)
    if v is None:
        return ""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            return str(v)  # inf / -inf / nan
        spec = spec or ".4g"
    if spec is not None and isinstance(v, (int, float)):
        # Accept both "{:.3f}" and ".3f".
        return spec.format(v) if "{" in spec else format(v, spec)
    return str(v)


def format_table(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    floatfmt: Mapping[str, str] | None = None,
    markdown: bool = False,
) -> str:
    """Format dict rows as an aligned plain-text (or GitHub Markdown) table.

    Args:
        rows: one dict per table row; missing keys / ``None`` give empty cells.
        columns: the keys to show, in order (also the header).
        floatfmt: per-column format spec for numbers, e.g. ``{"mae": ".2e"}`` or
            ``{"mae": "{:.2e}"}``; other floats use ``".4g"``.
        markdown: emit a GitHub Markdown table (``| a | b |`` with an alignment row);
            it is padded too, so it also reads well as plain text.

    Numeric columns are right-aligned, others left-aligned.

    Returns the table as a string without a trailing newline.
    """
    if not columns:
        raise ValueError("format_table: no columns given")
    floatfmt = dict(floatfmt or {})
    header = [str(c) for c in columns]
    body = [[_format_cell(row.get(c), floatfmt.get(c)) for c in columns] for row in rows]

    numeric = []
    for c in columns:
        vals = [_cell_value(row.get(c)) for row in rows]
        vals = [v for v in vals if v is not None]
        numeric.append(bool(vals) and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals))

    if markdown:
        # A literal '|' would split the cell.
        header = [h.replace("|", "\\|") for h in header]
        body = [[cell.replace("|", "\\|") for cell in r] for r in body]
    widths = [max(len(header[i]), *(len(r[i]) for r in body)) if body else len(header[i])
              for i in range(len(columns))]
    if markdown:
        widths = [max(w, 3) for w in widths]  # room for the '--:' alignment marker

    def line(cells: Sequence[str]) -> str:
        parts = [cell.rjust(w) if num else cell.ljust(w)
                 for cell, w, num in zip(cells, widths, numeric)]
        return "| " + " | ".join(parts) + " |" if markdown else "  ".join(parts)

    if markdown:
        sep = "| " + " | ".join(("-" * (w - 1) + ":") if num else "-" * w
                                for w, num in zip(widths, numeric)) + " |"
    else:
        sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), sep] + [line(r) for r in body])
