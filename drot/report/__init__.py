"""Writing a run's results to a folder: images, strips, animations, plots, JSON/CSV, tables.

Images in this project are float tensors ``[H, W, 3]`` with values in [0, 1] and row 0
at the top; every function here also accepts numpy arrays, ``uint8`` images, and
``[H, W]`` / ``[H, W, 1]`` grey or ``[H, W, 4]`` RGBA images.

Plots and text are drawn with matplotlib's object API (``Figure`` + ``FigureCanvasAgg``),
never ``pyplot``: that touches no global backend/figure state, so it is safe to call
from scripts, notebooks and threads that use pyplot for something else. Text uses
matplotlib's bundled DejaVu Sans, so no system fonts are needed.

Modules: :mod:`~drot.report.images` (images, strips, animations), :mod:`~drot.report.plots`
(curve plots), :mod:`~drot.report.files` (text / JSON / CSV, atomic writes),
:mod:`~drot.report.tables` (text and Markdown tables). Their public names are re-exported here.
This package imports no other part of drot.
"""

from __future__ import annotations

from ._paths import PathLike
from .files import to_jsonable, write_csv, write_json, write_text
from .images import LABEL_HEIGHT, ImageLike, image_strip, save_animation, save_image, save_strip, to_uint8
from .plots import Curve, plot_curve_panels, plot_curves
from .tables import format_table

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
