"""A scene file's ``[benchmark]`` table: the scene's main metric and success threshold.

The scene loader (:mod:`drot.scene.loader`) accepts the table but does not interpret it; the
evaluation tools (``drot-bench``, :mod:`drot.eval.cli`) read it here::

    [benchmark]                           # drot-bench defaults for this scene
    metric = "vertex_mae"                 # the scene's main metric: "vertex_mae" (lower is better) or "psnr" (dB, higher)
    success_threshold = 0.01              # a run counts as converged at vertex MAE <= threshold, or PSNR >= threshold

Also the ``[optimize]`` table (a protocol's defaults for the scene, :func:`optimize_defaults`) and
:data:`MIN_RESOLUTION`, the smallest resolution a benchmark takes (SSIM's window).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..metrics import _SSIM_WIN, HIGHER_IS_BETTER

# The main metrics a scene's benchmark may report → whether higher is better.
METRICS = HIGHER_IS_BETTER
#: Smallest render resolution a benchmark takes: SSIM's 11×11 window must fit in the image (the
#: renderer, the matchers and the L2 schedules all run at 11², and SSIM fails below it).
MIN_RESOLUTION = _SSIM_WIN


def benchmark_config(cfg: dict[str, Any], path: Path | None = None) -> dict[str, Any]:
    """The ``[benchmark]`` table of a parsed scene file, checked, with defaults filled in.

    Returns ``{"metric": "vertex_mae" | "psnr", "success_threshold": float}`` (default: vertex MAE
    at most 0.01). A run succeeds when its metric is at most (vertex MAE) or at least (PSNR) the threshold.
    """
    where = f"scene file {path} [benchmark]" if path is not None else "[benchmark]"
    table = cfg.get("benchmark", {})
    unknown = set(table) - {"metric", "success_threshold"}
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {sorted(unknown)}; use `metric` and `success_threshold`")
    metric = table.get("metric", "vertex_mae")
    if metric not in METRICS:
        raise ValueError(f"{where}: unknown metric {metric!r}; choose one of {', '.join(METRICS)}")
    threshold = table.get("success_threshold", 0.01)
    if not isinstance(threshold, (int, float)) or isinstance(threshold, bool):
        raise ValueError(f"{where}: success_threshold must be a number, got {threshold!r}")
    return {"metric": metric, "success_threshold": float(threshold)}


#: Keys of a scene file's ``[optimize]`` table (a protocol's defaults for the scene) and their checks.
OPTIMIZE_KEYS = {
    "iterations": ("a positive integer", lambda v: isinstance(v, int) and not isinstance(v, bool) and v > 0),
    "seeds": ("a positive integer", lambda v: isinstance(v, int) and not isinstance(v, bool) and v > 0),
    "resolution": (f"an integer >= {MIN_RESOLUTION}",
                   lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= MIN_RESOLUTION),
    "lr": ("a positive number", lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0),
    "lr_decay": ("a number in (0, 1]", lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)
                 and 0 < v <= 1),
}


def optimize_defaults(cfg: dict[str, Any], path: Path | None = None) -> dict[str, Any]:
    """The ``[optimize]`` table of a parsed scene file (the protocol's defaults for it), checked::

        [optimize]            # e.g. the paper's JOINT protocol
        iterations = 1000
        lr = 0.02
        lr_decay = 0.998
        seeds = 1             # 1 for a manual (fixed) start
        resolution = 128

    Returns only the keys the file gives (empty without the table).
    """
    where = f"scene file {path} [optimize]" if path is not None else "[optimize]"
    table = cfg.get("optimize", {})
    for key, value in table.items():
        if key not in OPTIMIZE_KEYS:
            raise ValueError(f"{where}: unknown key {key!r}; valid keys: {', '.join(OPTIMIZE_KEYS)}")
        what, ok = OPTIMIZE_KEYS[key]
        if not ok(value):
            raise ValueError(f"{where}: {key} must be {what}, got {value!r}")
    return dict(table)


#: Scene sets (``--protocol``): where their files live relative to a scene folder.
SCENE_SETS = {"drot": "", "paper": "paper/"}


def scene_in_set(name: str, scene_set: str) -> str:
    """The scene to load for ``name`` in ``scene_set``: a ``.toml`` path as given, else ``"<folder>/<name>"``."""
    return name if name.endswith(".toml") else SCENE_SETS[scene_set] + name
