"""Benchmark runs: several methods × seeds on one scene, same seeded starts, each run kept as it finishes.

Used by ``drot-bench`` (:mod:`drot.eval.cli`). The runs are a sweep of :mod:`drot.eval.sweep`:
one :class:`~drot.eval.sweep.RunSpec` per (method, seed) (:func:`bench_specs`), keyed
``scene|method|seed=N|<hash>``, where the hash (:func:`bench_config`) covers the scene file's bytes,
the resolution and every setting except the seed and the progress bar. :class:`BenchRunner` is the
sweep's run function: it optimises one run, writes that run's strip PNG (and GIF) at once and
returns its row (summary figures, start, history, file names), which the sweep appends to
``runs.jsonl`` before the next run starts. The tables (:func:`summary_rows`, :func:`aggregate_rows`)
are made from those rows, as read back from the store; :mod:`drot.eval.bench_files` writes the
results folder from them.

A method is a strategy name (``hybrid``, ``basic``, ``random``, ``standard``, ``softras``);
``standard`` is the L2 baseline with standard derivatives through the analytic antialiasing (what
nvdiffrast gives), ``softras`` the L2 loss on soft-rasterized images. The whole of the paper's
Table 1 is :mod:`drot.eval.table1`.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Mapping, Sequence

from .. import metrics, report
from ..optim import OptimizeSettings, optimize
from ..optim.schedule import STRATEGIES
from ..scene.scene import Scene
from .bench_files import remove_files, remove_stale_run_files, run_file_names, run_files, write_run_images
from .run_keys import key_settings
from .sweep import RUNS_FILE, RunSpec

#: Settings left out of a run's key: they do not change its result.
NOT_HASHED = ("seed", "strategy", "progress")
#: Figures of a run's row that are numbers (read back as floats: the store writes inf/nan as strings).
FIGURES = ("vertex_mae", "psnr", "ssim", "it_per_s", "wall_s", "matching_s")


#: ``strategy@S``: the strategy run from S starts instead of the command's ``--starts`` (``hybrid@1``:
#: the seeded start alone, what the summary compares at one start).
STARTS_SEPARATOR = "@"


def split_method(method: str) -> tuple[str, int | None]:
    """``"hybrid@1"`` → ``("hybrid", 1)``; ``"hybrid"`` → ``("hybrid", None)`` (the command's starts)."""
    strategy, sep, starts = method.partition(STARTS_SEPARATOR)
    if not sep:
        return strategy, None
    if not starts.isdigit() or int(starts) < 1:
        raise ValueError(f"method {method!r}: after {STARTS_SEPARATOR!r} comes a number of starts >= 1 (e.g. hybrid@1)")
    return strategy, int(starts)


def method_label(method: str) -> str:
    """A method's label for tables and plots (the strategy registry's label, with its starts when set)."""
    strategy, starts = split_method(method)
    label = STRATEGIES[strategy].label if strategy in STRATEGIES else strategy
    return label if starts is None else f"{label} ×{starts}"


def scene_digest(path: str | Path) -> str:
    """Hash of a scene file's bytes (part of every run's key: editing the scene reruns its runs)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def bench_config(settings: OptimizeSettings, resolution: int, digest: str) -> dict[str, Any]:
    """What a run's key hashes besides scene, method and seed."""
    return {"scene_digest": digest, "resolution": resolution,
            "settings": key_settings(settings, NOT_HASHED)}


def bench_specs(scene: str, methods: Sequence[str], seeds: Sequence[int], config: Mapping[str, Any]) -> list[RunSpec]:
    """One spec per seed and method (seed by seed, every method from the same start)."""
    return [RunSpec(scene, method, int(seed), config) for seed in seeds for method in methods]


class BenchRunner:
    """The sweep's run function: optimise ``scene`` with the spec's method and seed, write the
    run's strip (and GIF when ``animate``) into ``out_dir`` at once, return the run's row."""

    def __init__(self, scene: Scene, settings: OptimizeSettings, out_dir: str | Path, animate: bool = True) -> None:
        self.scene, self.settings, self.out_dir, self.animate = scene, settings, Path(out_dir), animate

    def __call__(self, spec: RunSpec) -> dict[str, Any]:
        strategy, starts = split_method(spec.variant)
        settings = self.settings.replace(strategy=strategy, seed=spec.seed,
                                         **({} if starts is None else {"starts": starts}))
        res = optimize(self.scene, settings=settings)
        files = write_run_images(self.out_dir, spec.variant, spec.seed, res, method_label(spec.variant), self.animate)
        # initial_parameters: the declared seeded start (start 0), the same for every method of a seed;
        # winning_start: where the start the result describes began (several starts only).
        row = {**res.summary(), "method": spec.variant, "initial_parameters": {k: v.tolist() for k, v in res.initial_parameters.items()},
               "history": res.history, "files": files}
        if len(res.starts) > 1:
            won = res.starts[res.best_start]
            row["winning_start"] = {"index": won.index,
                                    "initial_parameters": {k: v.tolist() for k, v in won.initial_parameters.items()}}
        return row


def figures(row: Mapping[str, Any]) -> dict[str, Any]:
    """A run's row with its figures as numbers again (``"inf"`` → ``inf``)."""
    return {**row, **{k: float(row[k]) for k in FIGURES if isinstance(row.get(k), str)}}


SUMMARY_COLUMNS = ("seed", "vertex_mae", "psnr", "ssim", "it_per_s", "wall_s", "matching_s")


def summary_rows(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One table row per run (its scalar figures), labelled by method."""
    return [{"method": method_label(r["method"]), **{k: figures(r).get(k) for k in SUMMARY_COLUMNS}} for r in rows]


def succeeded(row: Mapping[str, Any], metric: str, threshold: float) -> bool | None:
    """Whether a run reached the scene's success threshold: vertex MAE at most it, or PSNR at least it."""
    value = figures(row).get("psnr" if metric == "psnr" else "vertex_mae")
    return None if value is None else metrics.meets_threshold(value, threshold, metrics.HIGHER_IS_BETTER[metric])


def aggregate_rows(rows: Sequence[Mapping[str, Any]], threshold: float, metric: str = "vertex_mae") -> list[dict[str, Any]]:
    """Per method: mean and median vertex MAE, successes over seeds (``metric`` against ``threshold``,
    see :func:`succeeded`), mean PSNR, it/s, total wall time."""
    out = []
    for method in dict.fromkeys(r["method"] for r in rows):
        rs = [figures(r) for r in rows if r["method"] == method]
        maes = sorted(r["vertex_mae"] for r in rs if r.get("vertex_mae") is not None)
        row: dict[str, Any] = {"method": method_label(method), "runs": len(rs)}
        if maes:
            row.update(mean_mae=sum(maes) / len(maes), median_mae=maes[len(maes) // 2])
        verdicts = [v for v in (succeeded(r, metric, threshold) for r in rs) if v is not None]
        if verdicts:
            row["success"] = f"{sum(verdicts)}/{len(verdicts)}"
        row.update(mean_psnr=sum(r["psnr"] for r in rs) / len(rs), it_per_s=sum(r["it_per_s"] for r in rs) / len(rs),
                   wall_s=sum(r["wall_s"] for r in rs))
        out.append(row)
    return out


def rgbxy_vs_l2(agg: Sequence[Mapping[str, Any]], starts: int) -> str | None:
    """What RGBXY derivatives bought against L2 from the same seeded starts, e.g.
    "DROT-hybrid vs L2 (standard) at 8 starts per run, from the same seeded starts: converged 4/4 vs
    3/4, mean vertex MAE 0.0021 vs 0.2990, ..." — and, when the table also has the ``strategy@1`` runs
    of both, a second line for one start per run. None unless the table has an RGBXY method and the
    L2 baseline."""
    by_label = {row["method"]: row for row in agg}

    def line(suffix: str, where: str) -> str | None:
        l2 = by_label.get(method_label("standard" + suffix))
        rgbxy = next((by_label[lab] for lab in (method_label(m + suffix) for m, s in STRATEGIES.items()
                                                if s.uses_rgbxy and m != "standard") if lab in by_label), None)
        if l2 is None or rgbxy is None:
            return None
        parts = []
        if "success" in rgbxy and "success" in l2:
            parts.append(f"converged {rgbxy['success']} vs {l2['success']}")
        if "mean_mae" in rgbxy and "mean_mae" in l2:
            parts.append(f"mean vertex MAE {rgbxy['mean_mae']:.4f} vs {l2['mean_mae']:.4f}")
        parts.append(f"mean PSNR {rgbxy['mean_psnr']:.2f} vs {l2['mean_psnr']:.2f} dB")
        parts.append(f"wall {rgbxy['wall_s']:.0f} vs {l2['wall_s']:.0f} s")
        return f"{rgbxy['method']} vs {l2['method']} at {where}, from the same seeded starts: " + ", ".join(parts)

    lines = [line("", f"{starts} starts per run" if starts > 1 else "one start per run")]
    if starts > 1:
        lines.append(line(f"{STARTS_SEPARATOR}1", "one start per run"))
    lines = [x for x in lines if x is not None]
    return "\n".join(lines) if lines else None


TABLE_COLUMNS = ["method", "seed", "vertex_mae", "psnr", "ssim", "it_per_s", "wall_s"]
TABLE_FORMATS = {"vertex_mae": ".4f", "psnr": ".2f", "ssim": ".4f", "it_per_s": ".1f", "wall_s": ".1f",
                 "mean_mae": ".4f", "median_mae": ".4f", "mean_psnr": ".2f", "matching_s": ".1f"}


def write_results(out_dir: str | Path, scene: Scene, specs: Sequence[RunSpec], records: Mapping[str, Mapping[str, Any]],
                  threshold: float, metric: str = "vertex_mae", settings: OptimizeSettings | None = None,
                  plot: bool = True, in_flight: bool = False) -> list[Path]:
    """Write ``results.json`` / ``results.csv`` / ``history.csv`` (and ``error_vs_iteration.png`` when
    ``plot``; it takes half a second) from the store's ``records`` of ``specs`` (the current command's
    runs, finished ones only), and remove the strips and GIFs of no finished run in the store (a run
    interrupted while writing them) — while runs are still ``in_flight``, also keeping the current
    runs' (a parallel worker writes a run's strip before the driver records the run). The files of
    finished runs of earlier commands (other seeds or methods) are kept. Returns the files written.

    ``results.json`` also lists the current runs that failed (``failed``) and those not run yet
    (``pending``, after Ctrl-C); ``complete`` is true when every run finished.
    """
    out_dir = Path(out_dir)
    done = [records[s.key] for s in specs if records.get(s.key, {}).get("status") == "ok"]
    rows = [{**rec["result"], "key": rec["key"]} for rec in done]
    failed = [{"method": s.variant, "seed": s.seed, "error": records[s.key].get("error")}
              for s in specs if s.key in records and records[s.key].get("status") != "ok"]
    pending = [{"method": s.variant, "seed": s.seed} for s in specs if s.key not in records]
    written = [report.write_json(out_dir / "results.json", {
        "scene": scene.name, "resolution": scene.resolution, "views": scene.num_views,
        "success_metric": metric, "success_threshold": threshold,
        "settings": None if settings is None else key_settings(settings, NOT_HASHED),
        "store": RUNS_FILE, "complete": not failed and not pending, "requested": len(specs), "finished": len(rows),
        "failed": failed, "pending": pending, "summary": aggregate_rows(rows, threshold, metric), "runs": rows})]
    written.append(report.write_csv(out_dir / "results.csv", summary_rows(rows)))
    written.append(report.write_csv(out_dir / "history.csv", [
        {"method": r["method"], "seed": r["seed"], **h} for r in rows for h in r["history"]]))
    # Files of every finished run in the store stay, of this command or an earlier one (fewer seeds
    # now must not delete the other seeds' strips); only files of no finished run are removed.
    keep = [name for rec in records.values() if rec.get("status") == "ok" for name in run_files(rec.get("result") or {})]
    if in_flight:
        keep += [name for sp in specs for name in run_file_names(sp.variant, sp.seed)]
    remove_stale_run_files(out_dir, keep)
    # One panel per method on a shared axis: drawn over each other, the methods' curves tangle.
    panels: dict[str, dict] = {}
    for r in rows:
        if r.get("vertex_mae") is not None:
            label = method_label(r["method"])
            panels.setdefault(label, {})[f"{label}/seed{r['seed']}"] = (
                [h["iteration"] for h in r["history"]], [float(h["vertex_mae"]) for h in r["history"]])
    plot_file = out_dir / "error_vs_iteration.png"
    if not plot:
        pass
    elif panels:
        written.append(report.plot_curve_panels(plot_file, panels, xlabel="iteration", ylabel="vertex MAE",
                                                title=f"{scene.name}: vertex error", logy=True,
                                                threshold=threshold if metric == "vertex_mae" else None,
                                                columns=len(panels)))
    else:
        remove_files([plot_file])  # an earlier command's plot would show runs that are not current
    return written
