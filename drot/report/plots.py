"""Line plots of runs: ``plot_curves`` (one figure) and ``plot_curve_panels`` (several side by side).

Drawn with matplotlib's object API (``Figure`` + ``FigureCanvasAgg``), never ``pyplot``
(see :mod:`drot.report`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Union

import numpy as np
import torch

from ._paths import PathLike, _prepare_path

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
    # A method keeps its colour in every panel.
    method_colors: dict[str, str] = {}
    for curves in panels.values():
        for name in curves:
            method_colors.setdefault(str(name).split(group_sep, 1)[0], f"C{len(method_colors) % 10}")
    for ax, (name, curves) in zip(axes, panels.items()):
        _draw_curves(ax, curves, xlabel, ylabel, str(name), logy, threshold, group_sep, method_colors)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path = _prepare_path(path)
    fig.savefig(path, format="png", facecolor="white")
    return path


def _draw_curves(ax, curves: Mapping[str, Curve], xlabel: str, ylabel: str, title: str, logy: bool,
                 threshold: float | None, group_sep: str, method_colors: Mapping[str, str] | None = None) -> None:
    """Draw the curves of :func:`plot_curves` on a matplotlib ``Axes`` (``method_colors``: a colour
    per method shared by several panels; else by first-seen order)."""
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

    colors = [method_colors[m] if method_colors and m in method_colors else f"C{i % 10}"
              for i, m in enumerate(methods)]
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
