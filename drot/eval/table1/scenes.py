"""The columns of Table 1: scenes (:class:`SceneEntry`), their main metric pair and success threshold."""
from __future__ import annotations

import dataclasses
import functools
import hashlib
from pathlib import Path

from ... import metrics
from ..scene_benchmark import optimize_defaults

#: The paper's eight scenes: (file name, column title, main metric).
TABLE1_SCENES: tuple[tuple[str, str, str], ...] = (
    ("kitty", "KITTY", "vertex_mae"), ("buddha", "BUDDHA", "vertex_mae"), ("cube", "CUBE", "vertex_mae"),
    ("ginger", "GINGER", "vertex_mae"), ("box", "BOX", "psnr"), ("teapot", "TEAPOT", "psnr"),
    ("outdoor", "OUTDOOR", "psnr"), ("joint", "JOINT", "psnr"),
)
#: Success thresholds used when a scene file does not state one.
DEFAULT_THRESHOLDS = {"vertex_mae": 0.01, "psnr": 30.0}
#: The two numbers shown per scene, by main metric (as in the paper).
METRIC_PAIRS = {"vertex_mae": ("vertex_mae", "psnr"), "psnr": ("psnr", "ssim")}
METRIC_TITLES = {"vertex_mae": "MAE", "psnr": "PSNR", "ssim": "SSIM", "rmse": "RMSE"}
METRIC_FORMATS = {"vertex_mae": ".3f", "psnr": ".2f", "ssim": ".3f", "rmse": ".4f"}


@dataclasses.dataclass(frozen=True)
class SceneEntry:
    """A column of the table.

    Attributes:
        name: scene file name; title: column title.
        metric: ``"vertex_mae"`` (lower is better) or ``"psnr"`` (higher is better).
        threshold: success threshold on ``metric``; threshold_source: "scene file" or "default".
        single_init: the start is fixed (one seed).
        found: the scene file exists; note: why not, otherwise "".
        digest: hash of the scene file's bytes (part of every run's key: editing the scene reruns it).
        overrides: settings from the scene file's ``[optimize]`` table (``lr``, ``lr_decay``) for every row.
    """

    name: str
    title: str
    metric: str
    threshold: float
    threshold_source: str
    single_init: bool
    found: bool
    note: str = ""
    digest: str = ""
    overrides: tuple[tuple[str, float], ...] = ()

    @property
    def higher_is_better(self) -> bool:
        return metrics.HIGHER_IS_BETTER[self.metric]


def scene_entry(name: str, title: str | None = None, metric: str | None = None) -> SceneEntry:
    """Read a scene file's ``[benchmark]`` table; a missing or unreadable file gives ``found=False``
    with the reason in ``note`` (the table reports it and skips the scene)."""
    from ...scene.loader import find_scene_file, scene_config

    stem = Path(name).stem  # "paper/cube" is the paper's CUBE
    default_metric = metric or dict((n, m) for n, _, m in TABLE1_SCENES).get(stem, "vertex_mae")
    title = title or dict((n, t) for n, t, _ in TABLE1_SCENES).get(stem, stem.upper())
    missing = functools.partial(SceneEntry, name, title, default_metric, DEFAULT_THRESHOLDS[default_metric],
                                "default", False, False)
    try:
        path = find_scene_file(name)
    except (ValueError, FileNotFoundError):
        return missing(note=f"scene not found, skipped (no scene file {name!r} on the scene path)")
    try:
        cfg, path = scene_config(path)
    except ValueError as exc:
        return missing(note=f"skipped: {exc}")
    bench = cfg.get("benchmark", {})
    m = bench.get("metric", default_metric)
    if m not in METRIC_PAIRS:
        raise ValueError(f"scene {name}: [benchmark] metric must be 'vertex_mae' or 'psnr', got {m!r}")
    source = "scene file" if "success_threshold" in bench else "default"
    threshold = float(bench.get("success_threshold", DEFAULT_THRESHOLDS[m]))
    declared = [*cfg.get("parameters", []), *(p for o in cfg.get("objects", []) for p in o.get("parameters", []))]
    single = not any("init_range" in p for p in declared)
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]
    overrides = tuple((k, float(v)) for k, v in optimize_defaults(cfg, path).items() if k in ("lr", "lr_decay"))
    return SceneEntry(name, title, m, threshold, source, single, True, digest=digest, overrides=overrides)
