"""The paper's Table 1 (§6.1) as a resumable sweep: method variants × scenes × seeds.

Rows (method variants, all through :func:`drot.optimize`):

* (a) matching, K = 5, basic strategy: optical flow (OpenCV Farnebäck) at the base resolution,
  exact bipartite matching at 32² (all it affords);
* (b) λ ∈ {0.01, 0.1, 0.5, 0.9, 0.99}, K = 5, basic;
* (c) K ∈ {0, 1, 5, 10, 50}, λ = 0.5, basic;
* (d) strategies random / hybrid / basic, K = 5, λ = 0.5 (basic = λ 0.5 of (b) = K 5 of (c): one run);
* (e) L2 baselines (standard derivatives): at the base resolution, at the high resolution,
  multi-resolution 8² → high, high-resolution render with the loss on images downsampled 8² → high,
  and the SoftRas-style soft rasterizer at the base resolution.

Columns: the eight scenes with their main metric pair — vertex MAE / PSNR for KITTY, BUDDHA, CUBE,
GINGER; PSNR / SSIM for BOX, TEAPOT, OUTDOOR, JOINT — and it/s. Every run's final parameters are
re-rendered at the base resolution for the image metrics (PSNR, SSIM, RMSE, and any metric added
with :func:`drot.metrics.register_metric`, e.g. LPIPS), so rows run at other resolutions compare
fairly. A scene's ``[benchmark]`` table may set ``metric`` ("vertex_mae" or "psnr") and
``success_threshold``; otherwise the paper's metric and a default threshold (MAE ≤ 0.01,
PSNR ≥ 30 dB) are used. Scenes whose start is fixed (no parameter with ``init_range``) — GINGER,
OUTDOOR, JOINT in the paper — run one seed.

Outputs (:func:`write_outputs`): ``table1.md`` (laid out like the paper's table, plus success
rates and notes), ``runs.csv`` (every run), ``curves_<scene>.png`` (error vs time per row group,
like the paper's Fig. 6), ``summary.json``; the run log ``runs.jsonl`` is :mod:`drot.eval.sweep`'s.

The command line is ``python benchmarks/table1.py`` (see :func:`main`).

Modules: :mod:`.variants` (the rows), :mod:`.protocol` (quick / full protocols), :mod:`.scenes`
(the columns), :mod:`.runner` (run specs and the run function), :mod:`.tables` (the outputs),
:mod:`.cli` (the command line). Their public names are re-exported here.
"""
from __future__ import annotations

from .cli import build_parser, main, protocol_from_args
from .protocol import FULL, PROTOCOLS, QUICK, Protocol
from .runner import Table1Runner, build_specs, rescore, run_settings
from .scenes import (DEFAULT_THRESHOLDS, METRIC_FORMATS, METRIC_PAIRS, METRIC_TITLES, TABLE1_SCENES, SceneEntry,
                     scene_entry)
from .tables import csv_rows, markdown_table, plot_scene_curves, summarize, write_outputs
from .variants import GROUPS, VARIANTS, VARIANTS_BY_ID, Variant

__all__ = [
    "GROUPS", "Variant", "VARIANTS", "VARIANTS_BY_ID",
    "Protocol", "FULL", "QUICK", "PROTOCOLS",
    "TABLE1_SCENES", "DEFAULT_THRESHOLDS", "METRIC_PAIRS", "METRIC_TITLES", "METRIC_FORMATS", "SceneEntry", "scene_entry",
    "run_settings", "build_specs", "Table1Runner", "rescore",
    "summarize", "markdown_table", "csv_rows", "plot_scene_curves", "write_outputs",
    "build_parser", "protocol_from_args", "main",
]
