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
"""
from __future__ import annotations

import argparse
import dataclasses
import functools
import hashlib
import importlib
import math
import sys
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

import torch

from .. import metrics, report
from ..optim.loop import OptimizeSettings, optimize
from ..render.backend import get_backend
from ..render.renderer import render
from .sweep import RunSpec, run_sweep

# --------------------------------------------------------------------------- rows

#: Row groups, in the paper's order.
GROUPS = {
    "a": "(a) matching (K=5, basic)",
    "b": "(b) λ (K=5, basic)",
    "c": "(c) match interval K (λ=0.5, basic)",
    "d": "(d) strategy (K=5, λ=0.5)",
    "e": "(e) L2 baselines",
}


@dataclasses.dataclass(frozen=True)
class Variant:
    """One row of the table.

    Attributes:
        id: stable short name (part of every run key), e.g. ``"lam0.1"``.
        group: key of :data:`GROUPS`.
        label: row label; ``{base}``, ``{high}`` and ``{bip}`` are replaced by the protocol's resolutions.
        overrides: :class:`~drot.optim.OptimizeSettings` fields.
        resolution: ``"base"``, ``"high"`` or ``"bipartite"``: the render resolution of the run.
        same_as: id of a row with the same configuration, whose runs this row shows (run once).
    """

    id: str
    group: str
    label: str
    overrides: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    resolution: str = "base"
    same_as: str | None = None


_BASIC = {"strategy": "basic"}
VARIANTS: tuple[Variant, ...] = (
    Variant("flow", "a", "optical flow", {**_BASIC, "matcher": "flow"}),
    Variant("bipartite", "a", "bipartite ({bip}²)", {**_BASIC, "matcher": "bipartite"}, resolution="bipartite"),
    Variant("lam0.01", "b", "λ = 0.01", {**_BASIC, "lam": 0.01}),
    Variant("lam0.1", "b", "λ = 0.1", {**_BASIC, "lam": 0.1}),
    Variant("lam0.5", "b", "λ = 0.5", same_as="basic"),
    Variant("lam0.9", "b", "λ = 0.9", {**_BASIC, "lam": 0.9}),
    Variant("lam0.99", "b", "λ = 0.99", {**_BASIC, "lam": 0.99}),
    Variant("K0", "c", "K = 0", {**_BASIC, "match_interval": 0}),
    Variant("K1", "c", "K = 1", {**_BASIC, "match_interval": 1}),
    Variant("K5", "c", "K = 5", same_as="basic"),
    Variant("K10", "c", "K = 10", {**_BASIC, "match_interval": 10}),
    Variant("K50", "c", "K = 50", {**_BASIC, "match_interval": 50}),
    Variant("random", "d", "random", {"strategy": "random"}),
    Variant("hybrid", "d", "hybrid", {"strategy": "hybrid"}),
    Variant("basic", "d", "basic", dict(_BASIC)),
    Variant("l2", "e", "L2, {base}²", {"strategy": "standard"}),
    Variant("l2-high", "e", "L2, {high}²", {"strategy": "standard"}, resolution="high"),
    Variant("l2-multires", "e", "L2, multi-res 8²→{high}²", {"strategy": "standard", "l2_schedule": "multires"},
            resolution="high"),
    Variant("l2-downsampled", "e", "L2, {high}² render, loss on 8²→{high}²",
            {"strategy": "standard", "l2_schedule": "downsampled"}, resolution="high"),
    Variant("softras", "e", "SoftRas (soft silhouette + colour), {base}²", {"strategy": "softras"}),
)
VARIANTS_BY_ID = {v.id: v for v in VARIANTS}

# --------------------------------------------------------------------------- protocols


@dataclasses.dataclass(frozen=True)
class Protocol:
    """How much of the table to run, and how long each run is.

    Attributes:
        name: label (``"quick"``, ``"full"``).
        seeds: random starts per scene (scenes with a fixed start run one).
        iterations: per run.
        resolution: base render and evaluation resolution.
        high_resolution: the "L2 at high resolution" rows (render resolution; multi-res target).
        bipartite_resolution: exact bipartite matching's render resolution.
        variants: ids of the rows to run (None: every row).
        max_points: cap on the points per side of a Sinkhorn matching (random subsampling; None: no
            cap). Only views with more foreground pixels than that are affected (e.g. BOX, where
            the room fills the image).
        curve_points: points kept per error-vs-time curve (also the PSNR evaluations of PSNR scenes).
        device: torch device.
    """

    name: str
    seeds: int
    iterations: int
    resolution: int
    high_resolution: int
    bipartite_resolution: int = 32
    variants: tuple[str, ...] | None = None
    max_points: int | None = None
    curve_points: int = 40
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.seeds < 1 or self.iterations < 1:
            raise ValueError("a protocol needs at least one seed and one iteration")
        if min(self.resolution, self.high_resolution, self.bipartite_resolution) < 16:
            raise ValueError("resolutions must be at least 16 (SSIM needs 11 x 11 pixels)")
        unknown = [v for v in (self.variants or ()) if v not in VARIANTS_BY_ID]
        if unknown:
            raise ValueError(f"unknown variant(s) {unknown}; valid: {', '.join(VARIANTS_BY_ID)}")

    def rows(self) -> list[Variant]:
        """The rows this protocol shows (a row shown "same as" another also runs that one)."""
        return [v for v in VARIANTS if self.variants is None or v.id in self.variants]

    def resolution_of(self, variant: Variant) -> int:
        return {"base": self.resolution, "high": self.high_resolution,
                "bipartite": self.bipartite_resolution}[variant.resolution]

    def label(self, variant: Variant) -> str:
        return variant.label.format(base=self.resolution, high=self.high_resolution, bip=self.bipartite_resolution)

    def describe(self) -> str:
        rows = "every row" if self.variants is None else "rows " + ", ".join(self.variants)
        cap = "" if self.max_points is None else f", Sinkhorn point sets capped at {self.max_points} per side"
        return (f"{self.name} protocol: {self.seeds} seed(s) per scene (1 for fixed-start scenes), "
                f"{self.iterations} iterations, base resolution {self.resolution}², high resolution "
                f"{self.high_resolution}², bipartite {self.bipartite_resolution}²{cap}, {rows}, device {self.device}")


#: The paper's protocol (§6.1): 10 seeds × 1000 iterations × 128², the L2 rows at 1024². Meant for a
#: GPU (``--device cuda``): 53 scene-seed pairs × 18 run configurations × 1000 iterations is many
#: hours on this project's 2-core CPU (mostly the 1024² L2 rows).
FULL = Protocol("full", seeds=10, iterations=1000, resolution=128, high_resolution=1024)

#: The whole table on a 2-core CPU in under 15 minutes: 4 seeds (1 for fixed-start scenes), 200
#: iterations, 64² (the "high resolution" L2 rows at 128², bipartite at 32²), Sinkhorn point sets
#: capped at 1024 per side (only BOX, whose room fills the view, has more); rows λ = 0.01 / 0.99 and
#: K = 1 / 50 left out (the remaining λ and K rows still bracket the defaults).
QUICK = Protocol("quick", seeds=4, iterations=200, resolution=64, high_resolution=128, max_points=1024,
                 curve_points=25,
                 variants=("flow", "bipartite", "lam0.1", "lam0.5", "lam0.9", "K0", "K5", "K10",
                           "random", "hybrid", "basic", "l2", "l2-high", "l2-multires", "l2-downsampled",
                           "softras"))

PROTOCOLS = {"quick": QUICK, "full": FULL}

# --------------------------------------------------------------------------- scenes

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

    @property
    def higher_is_better(self) -> bool:
        return metrics.HIGHER_IS_BETTER[self.metric]


def scene_entry(name: str, title: str | None = None, metric: str | None = None) -> SceneEntry:
    """Read a scene file's ``[benchmark]`` table; a missing or unreadable file gives ``found=False``
    with the reason in ``note`` (the table reports it and skips the scene)."""
    from ..scene.loader import find_scene_file, scene_config

    default_metric = metric or dict((n, m) for n, _, m in TABLE1_SCENES).get(name, "vertex_mae")
    title = title or dict((n, t) for n, t, _ in TABLE1_SCENES).get(name, Path(name).stem.upper())
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
    single = not any("init_range" in p for p in cfg.get("parameters", []))
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]
    return SceneEntry(name, title, m, threshold, source, single, True, digest=digest)


# --------------------------------------------------------------------------- specs and runs

_SETTINGS_NOT_HASHED = ("seed", "progress", "record_frames", "frame_view")


def run_settings(protocol: Protocol, variant: Variant, scene: SceneEntry) -> OptimizeSettings:
    """The :class:`OptimizeSettings` of a row on a scene (seed 0)."""
    every = max(1, protocol.iterations // max(1, protocol.curve_points)) if scene.metric == "psnr" else 0
    return OptimizeSettings(iterations=protocol.iterations, device=protocol.device, eval_every=every,
                            max_points=protocol.max_points, **dict(variant.overrides))


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
            hashed = {k: v for k, v in settings.flat().items() if k not in _SETTINGS_NOT_HASHED}
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
    from ..scene.loader import load_scene

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


# --------------------------------------------------------------------------- the table


def _main_value(rec: Mapping[str, Any], metric: str) -> float | None:
    res = rec.get("result", {})
    value = res.get(metric, res.get("metrics", {}).get(metric))
    return None if value is None else float(value)


def _mean(values: Sequence[float]) -> float | None:
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def summarize(protocol: Protocol, scenes: Sequence[SceneEntry], cells: Mapping[tuple[str, str], Sequence[str]],
              records: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One dict per row: ``id``, ``group``, ``label``, ``same_as``, ``it_per_s`` (mean over the row's
    finished runs on every scene) and ``scenes``: per scene None (no runs: scene skipped) or a cell
    with ``n`` (runs), ``done`` (recorded), ``ok`` (finished without error), ``errors`` (messages),
    ``success`` (finished runs meeting the threshold) and the mean of every metric over ``ok`` runs."""
    extra = sorted({m for r in records.values() for m in r.get("result", {}).get("metrics", {})}
                   - {"psnr", "ssim", "rmse"})
    rows = []
    for row in protocol.rows():
        out: dict[str, Any] = {"id": row.id, "group": row.group, "label": protocol.label(row),
                               "same_as": row.same_as, "scenes": {}}
        speeds = []
        for scene in scenes:
            keys = cells.get((scene.name, row.id))
            if keys is None:
                out["scenes"][scene.name] = None
                continue
            recs = [records[k] for k in keys if k in records]
            ok = [r for r in recs if r.get("status") == "ok"]
            main = [_main_value(r, scene.metric) for r in ok]
            main = [v for v in main if v is not None and not math.isnan(v)]
            cell = {"n": len(keys), "done": len(recs), "ok": len(ok),
                    "errors": [r.get("error", "") for r in recs if r.get("status") != "ok"],
                    "success": sum(metrics.meets_threshold(v, scene.threshold, scene.higher_is_better)
                                   for v in main)}
            for m in ("vertex_mae", "psnr", "ssim", "rmse", *extra):
                cell[m] = _mean([_main_value(r, m) for r in ok])
            out["scenes"][scene.name] = cell
            speeds += [r["result"]["it_per_s"] for r in ok]
        out["it_per_s"] = _mean(speeds)
        rows.append(out)
    return rows


def _fmt(value: float | None, metric: str) -> str:
    if value is None:
        return "—"
    if math.isinf(value):
        return "∞"
    return format(value, METRIC_FORMATS.get(metric, ".3f"))


def markdown_table(protocol: Protocol, scenes: Sequence[SceneEntry], rows: Sequence[Mapping[str, Any]]) -> str:
    """The Markdown report: the main table (like the paper's Table 1), success rates, notes."""
    header = ["", "method"]
    for s in scenes:
        header += [f"{s.title} {METRIC_TITLES[m]}" for m in METRIC_PAIRS[s.metric]]
    header.append("it/s")
    main_rows, success_rows = [], []
    last_group = None
    for row in rows:
        group = GROUPS[row["group"]] if row["group"] != last_group else ""
        last_group = row["group"]
        label = row["label"] + (f" (= {VARIANTS_BY_ID[row['same_as']].label})" if row["same_as"] else "")
        line, succ = [group, label], [group, label]
        for s in scenes:
            cell = row["scenes"].get(s.name)
            if cell is None or cell["ok"] == 0:
                why = "—" if cell is None or cell["done"] == 0 else "failed"
                line += [why, why]
                succ.append(why)
                continue
            mark = "" if cell["ok"] == cell["n"] else f" ({cell['ok']}/{cell['n']} runs)"
            line += [_fmt(cell[m], m) + mark for m in METRIC_PAIRS[s.metric]]
            succ.append(f"{cell['success']}/{cell['ok']}")
        line.append("—" if row["it_per_s"] is None else f"{row['it_per_s']:.1f}")
        main_rows.append(line)
        success_rows.append(succ)

    def table(head: list[str], body: list[list[str]]) -> str:
        align = ["---", "---"] + ["---:"] * (len(head) - 2)
        return "\n".join("| " + " | ".join(r) + " |" for r in [head, align, *body])

    succ_head = ["", "method"] + [
        f"{s.title} {METRIC_TITLES[s.metric]} {'≥' if s.higher_is_better else '≤'} {s.threshold:g}" for s in scenes]
    parts = [f"# Table 1 — {protocol.name} protocol", "", protocol.describe() + ".",
             "Means over seeds of the final figures; image metrics rendered at the base resolution.", "",
             table(header, main_rows), "", "## Success rate (runs meeting the scene's threshold / finished runs)", "",
             table(succ_head, success_rows), "", "## Notes", ""]
    for s in scenes:
        if not s.found:
            parts.append(f"- {s.title}: {s.note}")
        else:
            parts.append(f"- {s.title}: main metric {s.metric}, success threshold {s.threshold:g} "
                         f"({s.threshold_source})"
                         f"{', fixed start: 1 seed' if s.single_init else ''}.")
    errors = [(row["label"], s.title, e) for row in rows for s in scenes
              for e in ((row["scenes"].get(s.name) or {}).get("errors") or [])]
    if errors:
        parts.append(f"- {len(errors)} run(s) failed (details in runs.csv; rerun them with --retry-failed):")
        parts += [f"  - {label} on {title}: {e.splitlines()[0][:160]}" for label, title, e in errors[:20]]
    pending = sum(c["n"] - c["done"] for row in rows for c in row["scenes"].values() if c)
    if pending:
        parts.append(f"- {pending} run(s) not done yet (run the same command again to finish them).")
    return "\n".join(parts) + "\n"


def csv_rows(specs: Sequence[RunSpec], records: Mapping[str, Mapping[str, Any]], protocol: Protocol,
             scenes: Sequence[SceneEntry]) -> list[dict[str, Any]]:
    """One flat row per run of ``specs`` (finished or failed; pending runs are left out)."""
    by_name = {s.name: s for s in scenes}
    out = []
    for spec in {s.key: s for s in specs}.values():  # rows sharing runs list them once
        rec = records.get(spec.key)
        if rec is None:
            continue
        res = rec.get("result", {})
        scene = by_name[spec.scene]
        main = _main_value(rec, scene.metric) if rec.get("status") == "ok" else None
        row = {"scene": spec.scene, "group": VARIANTS_BY_ID[spec.variant].group, "variant": spec.variant,
               "label": protocol.label(VARIANTS_BY_ID[spec.variant]), "seed": spec.seed, "status": rec.get("status"),
               "vertex_mae": res.get("vertex_mae"), "psnr": res.get("psnr"), "ssim": res.get("ssim"),
               "rmse": res.get("rmse")}
        row.update({k: v for k, v in res.get("metrics", {}).items() if k not in row})
        row.update({
            "main_metric": scene.metric, "threshold": scene.threshold,
            "success": None if main is None else metrics.meets_threshold(main, scene.threshold,
                                                                         scene.higher_is_better),
            "it_per_s": res.get("it_per_s"), "wall_s": res.get("wall_s"), "matching_s": res.get("matching_s"),
            "resolution": spec.config.get("resolution"), "iterations": res.get("iterations"),
            "error": rec.get("error"), "traceback": rec.get("traceback"),
            "metric_errors": res.get("metric_errors") or None,
            "settings_hash": spec.settings_hash, "key": spec.key, "settings": spec.config.get("settings"),
        })
        out.append(row)
    return out


def plot_scene_curves(path: Path, protocol: Protocol, scene: SceneEntry, cells: Mapping[tuple[str, str], Sequence[str]],
                      records: Mapping[str, Mapping[str, Any]]) -> Path | None:
    """Error (the scene's main metric) vs time, one panel per row group, one colour per row."""
    panels: dict[str, dict[str, Any]] = {}
    for row in protocol.rows():
        for key in cells.get((scene.name, row.id), []):
            rec = records.get(key)
            if not rec or rec.get("status") != "ok":
                continue
            curve = rec["result"].get("curves", {}).get(scene.metric) or []
            if curve:
                panels.setdefault(GROUPS[row.group], {})[f"{protocol.label(row)}/seed{rec['seed']}"] = (
                    [p[0] for p in curve], [p[1] for p in curve])
    if not panels:
        return None
    return report.plot_curve_panels(path, panels, xlabel="seconds", ylabel=METRIC_TITLES[scene.metric],
                                    title=f"{scene.title}: {METRIC_TITLES[scene.metric]} vs time ({protocol.name})",
                                    logy=scene.metric == "vertex_mae", threshold=scene.threshold)


def write_outputs(out_dir: Path, protocol: Protocol, scenes: Sequence[SceneEntry], specs: Sequence[RunSpec],
                  cells: Mapping[tuple[str, str], Sequence[str]], records: Mapping[str, Mapping[str, Any]],
                  curves: bool = True) -> list[Path]:
    """Write ``table1.md``, ``runs.csv``, ``summary.json`` and ``curves_<scene>.png``; returns the paths."""
    out_dir = Path(out_dir)
    rows = summarize(protocol, scenes, cells, records)
    written = [report.write_text(out_dir / "table1.md", markdown_table(protocol, scenes, rows)),
               report.write_csv(out_dir / "runs.csv", csv_rows(specs, records, protocol, scenes)),
               report.write_json(out_dir / "summary.json", {"protocol": protocol, "scenes": scenes, "rows": rows})]
    if curves:
        for scene in scenes:
            if scene.found:
                path = plot_scene_curves(out_dir / f"curves_{scene.name}.png", protocol, scene, cells, records)
                if path is not None:
                    written.append(path)
    return written


# --------------------------------------------------------------------------- command line


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="benchmarks/table1.py", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Reproduce the paper's Table 1 as a resumable sweep (rerun the same command to resume).",
        epilog="protocols:\n  --quick   " + QUICK.describe() + "\n  (default) " + FULL.describe())
    p.add_argument("--quick", action="store_true",
                   help="the quick CPU protocol (every row and scene in about 12 min on a 2-core CPU)")
    p.add_argument("--out", default=None, help="sweep folder (default: table1-results/<protocol>)")
    p.add_argument("--scenes", default=",".join(n for n, _, _ in TABLE1_SCENES),
                   help="comma-separated scene names or .toml paths (missing ones are reported and skipped)")
    p.add_argument("--variants", default=None, help=f"comma-separated row ids, or 'all' (default: the protocol's); "
                                                     f"ids: {','.join(VARIANTS_BY_ID)}")
    p.add_argument("--seeds", type=int, default=None, help="override the protocol's seeds")
    p.add_argument("--iterations", type=int, default=None, help="override the protocol's iterations")
    p.add_argument("--resolution", type=int, default=None, help="override the base resolution")
    p.add_argument("--high-resolution", type=int, default=None, help="override the high resolution of the L2 rows")
    p.add_argument("--max-points", type=int, default=None,
                   help="override the protocol's cap on Sinkhorn points per side (0: no cap)")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--retry-failed", action="store_true", help="rerun the runs recorded as failed")
    p.add_argument("--report-only", action="store_true", help="write the table from the runs done so far, run nothing")
    p.add_argument("--rescore", action="store_true",
                   help="recompute image metrics (e.g. a newly registered LPIPS) of finished runs, run nothing new")
    p.add_argument("--plugin", action="append", default=[], metavar="MODULE",
                   help="import MODULE first (it may call drot.metrics.register_metric, e.g. for LPIPS)")
    p.add_argument("--no-curves", action="store_true", help="skip the error-vs-time PNGs")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--list", action="store_true", help="print the runs the command would do and exit")
    return p


def protocol_from_args(args: argparse.Namespace) -> Protocol:
    base = QUICK if args.quick else FULL
    changes: dict[str, Any] = {"device": args.device}
    for field, value in (("seeds", args.seeds), ("iterations", args.iterations), ("resolution", args.resolution),
                         ("high_resolution", args.high_resolution)):
        if value is not None:
            changes[field] = value
    if args.max_points is not None:
        changes["max_points"] = args.max_points or None
    if args.variants == "all":
        changes["variants"] = None
    elif args.variants:
        changes["variants"] = tuple(v.strip() for v in args.variants.split(",") if v.strip())
    return dataclasses.replace(base, **changes)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        for module in args.plugin:
            importlib.import_module(module)
        protocol = protocol_from_args(args)
        if protocol.device.startswith("cuda") and not torch.cuda.is_available():
            raise ValueError("--device cuda requested but CUDA is not available "
                             "(this torch build or machine has no GPU)")
        scenes = [scene_entry(n.strip()) for n in args.scenes.split(",") if n.strip()]
    except (ValueError, ImportError) as exc:
        print(f"table1: error: {exc}", file=sys.stderr)
        return 2
    out_dir = Path(args.out or Path("table1-results") / protocol.name)
    specs, cells = build_specs(protocol, scenes)
    print(f"table1: {protocol.describe()}")
    for s in scenes:
        if not s.found:
            print(f"table1: {s.title}: {s.note}")
    if args.list:
        for key in dict.fromkeys(s.key for s in specs):
            print(key)
        return 0
    runner = Table1Runner(curve_points=protocol.curve_points)
    t0 = time.perf_counter()
    from .sweep import RunStore

    store = RunStore(out_dir)
    if args.rescore:
        updated = rescore({k: v for k, v in store.records().items() if k in {s.key for s in specs}}, runner)
        for rec in updated:
            store.append(rec)
        print(f"table1: rescored {len(updated)} run(s)")
    if args.report_only or args.rescore:
        records = store.records()
    else:
        n_unique = len({s.key for s in specs})
        print(f"table1: {n_unique} runs ({len(specs) - n_unique} shared by identical rows), folder {out_dir}")

        def on_record(rec: dict[str, Any]) -> None:
            if rec["status"] != "ok":
                print(f"\ntable1: run {rec['key']} failed: {rec['error']}", file=sys.stderr, flush=True)

        try:
            records = run_sweep(specs, runner, out_dir, retry_failed=args.retry_failed,
                                progress=not args.no_progress, on_record=on_record)
        except KeyboardInterrupt:
            print(f"\ntable1: interrupted; finished runs are kept in {out_dir}/runs.jsonl — "
                  f"run the same command again to finish", file=sys.stderr)
            records = store.records()
            write_outputs(out_dir, protocol, scenes, specs, cells, records, curves=False)
            return 130
    written = write_outputs(out_dir, protocol, scenes, specs, cells, records, curves=not args.no_curves)
    print((out_dir / "table1.md").read_text())
    print(f"table1: wrote {', '.join(p.name for p in written)} in {out_dir} ({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
