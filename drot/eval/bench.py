"""Benchmark runs: several methods × seeds on one scene, same seeded starts, results written to a folder.

Used by ``drot-bench`` and by the scripts in ``benchmarks/``. A method is a strategy name
(``hybrid``, ``basic``, ``random``, ``standard``, ``softras``); ``standard`` is the L2 baseline with
standard derivatives through the analytic antialiasing (what nvdiffrast gives), ``softras`` the L2
loss on soft-rasterized images. The whole of the paper's Table 1 is :mod:`drot.eval.table1`.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable, Sequence

from .. import metrics, report
from ..optim.schedule import STRATEGIES
from ..optim import OptimizationResult, OptimizeSettings, optimize
from ..scene.scene import Scene



def method_label(method: str) -> str:
    """A strategy's label for tables and plots (from the strategy registry)."""
    return STRATEGIES[method].label if method in STRATEGIES else method


@dataclasses.dataclass(frozen=True)
class BenchmarkRun:
    method: str
    seed: int
    result: OptimizationResult


def run_benchmark(scene: Scene, methods: Sequence[str], seeds: Sequence[int], settings: OptimizeSettings,
                  on_result: Callable[[BenchmarkRun], None] | None = None) -> list[BenchmarkRun]:
    """Optimise ``scene`` with every method from every seed's start (the same start for all methods)."""
    runs = []
    for seed in seeds:
        for method in methods:
            res = optimize(scene, settings=dataclasses.replace(settings, strategy=method, seed=int(seed)))
            run = BenchmarkRun(method, int(seed), res)
            runs.append(run)
            if on_result is not None:
                on_result(run)
    return runs


SUMMARY_COLUMNS = ("seed", "vertex_mae", "psnr", "ssim", "it_per_s", "wall_s", "matching_s")


def summary_rows(runs: Sequence[BenchmarkRun]) -> list[dict[str, Any]]:
    """One row per run (the scalar figures of :meth:`OptimizationResult.summary`), labelled by method."""
    rows = []
    for r in runs:
        figures = r.result.summary()
        rows.append({"method": method_label(r.method), **{k: figures[k] for k in SUMMARY_COLUMNS}})
    return rows


def succeeded(result, metric: str, threshold: float) -> bool | None:
    """Whether a run reached the scene's success threshold: vertex MAE at most it, or PSNR at least it."""
    value = result.psnr if metric == "psnr" else result.vertex_mae
    return None if value is None else metrics.meets_threshold(value, threshold, metrics.HIGHER_IS_BETTER[metric])


def aggregate_rows(runs: Sequence[BenchmarkRun], threshold: float, metric: str = "vertex_mae") -> list[dict[str, Any]]:
    """Per method: mean and median vertex MAE, successes over seeds (``metric`` against ``threshold``,
    see :func:`succeeded`), mean PSNR, it/s."""
    out = []
    for method in dict.fromkeys(r.method for r in runs):
        rs = [r.result for r in runs if r.method == method]
        maes = sorted(r.vertex_mae for r in rs if r.vertex_mae is not None)
        row: dict[str, Any] = {"method": method_label(method), "runs": len(rs)}
        if maes:
            row.update(mean_mae=sum(maes) / len(maes), median_mae=maes[len(maes) // 2])
        verdicts = [v for v in (succeeded(r, metric, threshold) for r in rs) if v is not None]
        if verdicts:
            row["success"] = f"{sum(verdicts)}/{len(verdicts)}"
        row.update(mean_psnr=sum(r.psnr for r in rs) / len(rs),
                   it_per_s=sum(r.iterations_per_second for r in rs) / len(rs),
                   wall_s=sum(r.wall_seconds for r in rs))
        out.append(row)
    return out


TABLE_COLUMNS = ["method", "seed", "vertex_mae", "psnr", "ssim", "it_per_s", "wall_s"]
TABLE_FORMATS = {"vertex_mae": ".4f", "psnr": ".2f", "ssim": ".4f", "it_per_s": ".1f", "wall_s": ".1f",
                 "mean_mae": ".4f", "median_mae": ".4f", "mean_psnr": ".2f", "matching_s": ".1f"}


def write_results(out_dir: Path, scene: Scene, runs: Sequence[BenchmarkRun], threshold: float,
                  animate: bool = True, metric: str = "vertex_mae") -> list[Path]:
    """Write JSON, CSV, image strips, the error plot and animations; returns the files written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    settings = runs[0].result.settings if runs else None
    written.append(report.write_json(out_dir / "results.json", {
        "scene": scene.name, "resolution": scene.resolution, "views": scene.num_views,
        "success_metric": metric, "success_threshold": threshold, "settings": settings,
        "summary": aggregate_rows(runs, threshold, metric), "runs": [
            {**r.result.summary(), "method": r.method,
             "initial_parameters": {k: v.tolist() for k, v in r.result.initial_parameters.items()},
             "history": r.result.history} for r in runs]}))
    written.append(report.write_csv(out_dir / "results.csv", summary_rows(runs)))
    written.append(report.write_csv(out_dir / "history.csv", [
        {"method": r.method, "seed": r.seed, **h} for r in runs for h in r.result.history]))
    for r in runs:
        res = r.result
        # Small renders are enlarged (nearest neighbour) so that strips stay legible.
        zoom = max(1, 128 // res.final_images.shape[2])
        big = lambda img: img.repeat_interleave(zoom, 0).repeat_interleave(zoom, 1)  # noqa: E731
        rows = [[big(res.initial_images[v]), big(res.target_images[v]), big(res.final_images[v])]
                for v in range(res.final_images.shape[0])]
        written.append(report.save_strip(out_dir / f"strip_{r.method}_seed{r.seed}.png", rows,
                                         ["start", "target", method_label(r.method)]))
        if animate and res.frames:
            written.append(report.save_animation(out_dir / f"animation_{r.method}_seed{r.seed}.gif",
                                                 [big(f) for f in res.frames], fps=12))
    curves = {f"{method_label(r.method)}/seed{r.seed}":
              ([h["iteration"] for h in r.result.history], [h["vertex_mae"] for h in r.result.history])
              for r in runs if r.result.vertex_mae is not None}
    if curves:
        written.append(report.plot_curves(out_dir / "error_vs_iteration.png", curves, xlabel="iteration",
                                          ylabel="vertex MAE", title=f"{scene.name}: vertex error", logy=True,
                                          threshold=threshold if metric == "vertex_mae" else None))
    return written
