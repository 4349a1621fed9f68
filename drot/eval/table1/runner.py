"""Runs of Table 1: the sweep's specs (:func:`build_specs`) and run function (:class:`Table1Runner`)."""
from __future__ import annotations

import functools
import warnings
from typing import Any, Mapping, Sequence

import torch

from ... import metrics
from ...optim import OptimizeSettings, optimize
from ...render.backend import get_backend
from ...render.renderer import render
from ..run_keys import key_settings
from ..sweep import RunSpec
from .protocol import Protocol
from .scenes import SceneEntry
from .variants import VARIANTS_BY_ID, Variant

_SETTINGS_NOT_HASHED = ("seed", "progress", "record_frames", "frame_view")


def run_settings(protocol: Protocol, variant: Variant, scene: SceneEntry) -> OptimizeSettings:
    """The :class:`OptimizeSettings` of a row on a scene (seed 0)."""
    every = max(1, protocol.iterations // max(1, protocol.curve_points)) if scene.metric == "psnr" else 0
    starts = {"starts": protocol.starts} if variant.multistart else {}
    return OptimizeSettings(iterations=protocol.iterations, device=protocol.device, eval_every=every,
                            max_points=protocol.max_points, **{**dict(scene.overrides), **dict(variant.overrides)},
                            **starts)


def build_specs(protocol: Protocol, scenes: Sequence[SceneEntry]
                ) -> tuple[list[RunSpec], dict[tuple[str, str], list[str]]]:
    """Every run of the table, and which run keys each cell ``(scene, row id)`` shows."""
    specs: list[RunSpec] = []
    cells: dict[tuple[str, str], list[str]] = {}
    for scene in scenes:
        if not scene.found:
            continue
        seeds = 1 if scene.single_init else protocol.seeds
        for row in protocol.rows():
            variant = VARIANTS_BY_ID[row.same_as] if row.same_as else row
            settings = run_settings(protocol, variant, scene)
            hashed = key_settings(settings, _SETTINGS_NOT_HASHED)
            config = {"resolution": protocol.resolution_of(variant), "eval_resolution": protocol.resolution,
                      "scene_digest": scene.digest, "settings": hashed}
            keys = []
            for seed in range(seeds):
                spec = RunSpec(scene.name, variant.id, seed, config)
                specs.append(spec)
                keys.append(spec.key)
            cells[(scene.name, row.id)] = keys
    return specs, cells


@functools.lru_cache(maxsize=32)
def _scene(name: str, resolution: int, digest: str):
    from ...scene.loader import load_scene

    return load_scene(name, resolution=resolution)


def _thin(points: list[tuple[float, float]], n: int) -> list[list[float]]:
    """At most ``n`` points of a curve, evenly spaced, always keeping the last."""
    if len(points) <= n:
        return [list(p) for p in points]
    idx = sorted({round(i * (len(points) - 1) / (n - 1)) for i in range(n)})
    return [list(points[i]) for i in idx]


class Table1Runner:
    """The run function of the sweep: optimise, then score at the evaluation resolution.

    Args:
        extra_metrics: image metrics applied besides PSNR/SSIM/RMSE and the registered ones.
        curve_points: points kept per error-vs-time curve.
    """

    def __init__(self, extra_metrics: Mapping[str, metrics.ImageMetric] | None = None, curve_points: int = 40) -> None:
        self.extra_metrics = dict(extra_metrics or {})
        self.curve_points = curve_points

    def __call__(self, spec: RunSpec) -> dict[str, Any]:
        cfg = spec.config
        digest = cfg.get("scene_digest", "")
        scene = _scene(spec.scene, int(cfg["resolution"]), digest)
        settings = OptimizeSettings(**cfg["settings"], seed=spec.seed)
        with warnings.catch_warnings():
            # The protocol's subsampling cap is set on every row (it is part of the run keys, so that
            # stores resume) and only rows that match read it: not worth a warning per L2 run.
            warnings.filterwarnings("ignore", message=r"drot\.optimize: setting 'max_points' is ignored")
            result = optimize(scene, settings=settings)
        figures = self.score(spec.scene, int(cfg["eval_resolution"]), digest, result.parameters, settings)
        mae_curve = [(h["seconds"], h["vertex_mae"]) for h in result.history if h["vertex_mae"] is not None]
        psnr_curve = [(h["seconds"], h["psnr"]) for h in result.history if h.get("psnr") is not None]
        return {
            **figures, "vertex_mae": result.vertex_mae, "it_per_s": result.iterations_per_second,
            "wall_s": result.wall_seconds, "matching_s": result.matching_seconds, "iterations": settings.iterations,
            "resolution": list(scene.resolution),
            "curves": {"vertex_mae": _thin(mae_curve, self.curve_points), "psnr": _thin(psnr_curve, self.curve_points)},
            "parameters": {k: v.tolist() for k, v in result.parameters.items()},
            "initial_parameters": {k: v.tolist() for k, v in result.initial_parameters.items()},
        }

    def score(self, scene_name: str, resolution: int, digest: str, parameters: Mapping[str, Any],
              settings: OptimizeSettings) -> dict[str, Any]:
        """Image metrics of ``parameters`` against the scene's target, every view at ``resolution``²."""
        scene = _scene(scene_name, resolution, digest)
        device = torch.device(settings.device)
        backend = get_backend(settings.backend, device)
        views = list(range(scene.num_views))
        params = {k: torch.as_tensor(v, dtype=torch.float32, device=device) for k, v in parameters.items()}
        with torch.no_grad():
            final = render(scene.evaluate(params, device), views, scene.resolution, backend).image
            target = render(scene.evaluate({k: v.to(device) for k, v in scene.target_values().items()}, device),
                            views, scene.resolution, backend).image
        errors: dict[str, str] = {}
        values = metrics.image_metrics(final.clamp(0, 1).cpu(), target.clamp(0, 1).cpu(), self.extra_metrics, errors)
        return {"metrics": values, "metric_errors": errors, **{k: values[k] for k in ("psnr", "ssim", "rmse")}}


def rescore(records: Mapping[str, dict[str, Any]], runner: Table1Runner) -> list[dict[str, Any]]:
    """Recompute the image metrics of finished runs from their stored final parameters (e.g. after
    registering LPIPS), without optimising again. Returns the updated records."""
    out = []
    for rec in records.values():
        if rec.get("status") != "ok" or "parameters" not in rec.get("result", {}):
            continue
        cfg = rec["config"]
        settings = OptimizeSettings(**cfg["settings"], seed=rec["seed"])
        figures = runner.score(rec["scene"], int(cfg["eval_resolution"]), cfg.get("scene_digest", ""),
                               rec["result"]["parameters"], settings)
        out.append({**rec, "result": {**rec["result"], **figures}})
    return out
