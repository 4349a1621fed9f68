"""Applications (paper §6.2): DROT-hybrid vs the L2 baseline from the same seeded starts.

    python benchmarks/applications.py --app furniture                 # CPU defaults (see APPS)
    python benchmarks/applications.py --app smpl --seeds 5 --iterations 1000
    python benchmarks/applications.py --app smpl --methods hybrid,hybrid-one-adam,standard
    python benchmarks/applications.py --app furniture --resolution 256 --iterations 1000   # the paper's protocol

Every method runs on the same problem per seed (furniture: the seed draws the start layout;
SMPL and blendshapes: the seed draws the target, the start is the rest pose / neutral face) with
the same settings; only the derivatives differ (see drot/apps/_compare.py for the methods and the
learning-rate decay kept at the paper's overall 0.37x for short runs). Prints one row per run and
a per-method summary (mean errors, success count with its threshold, mean time); ``--json PATH``
also writes every row. ``--first-seed`` lets a long protocol run in chunks.
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

import torch

from drot import report
from drot.apps._compare import METHODS, run_method


@dataclasses.dataclass(frozen=True)
class App:
    """One application: how to build its problem for a seed and measure a result.

    ``build(seed, resolution)`` returns an object with ``.scene`` and ``.errors(values)``;
    ``measure(errors)`` turns those errors into table columns (floats), ``success(errors)`` a bool.
    """

    name: str
    resolution: int              # the paper's
    iterations: int              # this script's default (CPU-sized; the paper runs 1000)
    settings: dict               # OptimizeSettings fields used for every method
    columns: dict                # column → format
    threshold: str               # success criterion, in words
    build: Callable[[int, int], Any]
    measure: Callable[[Any], dict]
    success: Callable[[Any], bool]
    default_resolution: int


def _furniture() -> App:
    from drot.apps import furniture as fu

    return App(
        "furniture", 256, 500, {"max_points": 2048},
        {"position_m": ".3f", "angle_deg": ".1f", "items_ok": "s"},
        f"mean position error <= {fu.POSITION_THRESHOLD} m and mean angle error <= "
        f"{math.degrees(fu.ANGLE_THRESHOLD):.0f} deg (items_ok: items within both)",
        lambda seed, res: fu.furniture_scene(seed=seed, resolution=res),
        lambda e: {"position_m": e.position, "angle_deg": math.degrees(e.angle),
                   "items_ok": f"{sum(p <= fu.POSITION_THRESHOLD and a <= fu.ANGLE_THRESHOLD for p, a in e.per_item.values())}"
                               f"/{len(e.per_item)}"},
        lambda e: e.success, 128)


def _smpl() -> App:
    from drot.apps import smpl

    body = {}

    def build(seed, res):
        if "body" not in body:  # drot's generated SMPL-format model, loaded through smplx (once)
            body["body"] = smpl.generated_body()
        return smpl.smpl_scene(body["body"], seed=seed, resolution=res)

    return App(
        "smpl", 128, 300, {},
        {"joint_angle_mae": ".3f", "rotation_err": ".3f", "vertex_mae": ".4f"},
        f"vertex MAE <= {smpl.VERTEX_THRESHOLD} m",
        build,
        lambda e: {"joint_angle_mae": e.joint_angle_mae, "rotation_err": e.rotation_error, "vertex_mae": e.vertex_mae},
        lambda e: e.success, 128)


def _blendshapes() -> App:
    from drot.apps import blendshapes as bs

    shapes = {}

    def build(seed, res):
        if "set" not in shapes:
            shapes["set"] = bs.default_blendshapes()
        return bs.expression_scene(shapes["set"], seed=seed, resolution=res)

    return App(
        "blendshapes", 256, 300, {"max_points": 2048},
        {"weight_mae": ".4f", "vertex_mae": ".5f"},
        f"weight MAE <= {bs.WEIGHT_THRESHOLD}",
        build, lambda e: {"weight_mae": e.weight_mae, "vertex_mae": e.vertex_mae}, lambda e: e.success, 256)


APPS = {"furniture": _furniture, "smpl": _smpl, "blendshapes": _blendshapes}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--app", required=True, choices=sorted(APPS))
    parser.add_argument("--seeds", type=int, default=5, help="number of seeded problems (default 5)")
    parser.add_argument("--first-seed", type=int, default=0, help="first seed (run a long protocol in chunks)")
    parser.add_argument("--iterations", type=int, default=None, help="iterations per run (default: the app's CPU default)")
    parser.add_argument("--resolution", type=int, default=None,
                        help="image side (default: 128 for furniture and smpl, 256 for blendshapes; paper: 256/128/256)")
    parser.add_argument("--methods", default="hybrid,standard", help=f"comma-separated, from {', '.join(METHODS)}")
    parser.add_argument("--json", type=Path, default=None, help="also write every row to this JSON file")
    args = parser.parse_args(argv)

    app = APPS[args.app]()
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    bad = [m for m in methods if m not in METHODS]
    if bad:
        parser.error(f"unknown method(s) {bad}; choose from {', '.join(METHODS)}")
    if args.seeds < 1:
        parser.error("--seeds must be >= 1")
    iterations = args.iterations or app.iterations
    resolution = args.resolution or app.default_resolution
    print(f"{app.name}: {args.seeds} seeds from {args.first_seed}, {iterations} iterations, {resolution}^2 "
          f"(paper: {app.resolution}^2, 1000 iterations), settings {app.settings or 'defaults'}, "
          f"torch threads {torch.get_num_threads()}", flush=True)

    rows: list[dict] = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        problem = app.build(seed, resolution)
        for method in methods:
            t0 = time.perf_counter()
            result = run_method(problem.scene, method, iterations, seed=seed, **app.settings)
            errors = problem.errors(result.parameters)
            start = problem.errors(result.initial_parameters)
            row = {"method": method, "seed": seed, **app.measure(errors), "success": bool(app.success(errors)),
                   "start_" + next(iter(app.columns)): app.measure(start)[next(iter(app.columns))],
                   "wall_s": time.perf_counter() - t0, "it_per_s": result.iterations_per_second}
            rows.append(row)
            print(f"{method:>15} seed {seed}: " + ", ".join(f"{c} {row[c]:{f}}" for c, f in app.columns.items())
                  + f", success {row['success']}, {row['wall_s']:.1f} s", flush=True)

    print()
    print(report.format_table(rows, ["method", "seed", "start_" + next(iter(app.columns)), *app.columns, "success",
                                      "wall_s", "it_per_s"],
                              {**app.columns, "start_" + next(iter(app.columns)): app.columns[next(iter(app.columns))],
                               "wall_s": ".1f", "it_per_s": ".1f"}, markdown=True))
    summary = []
    for method in methods:
        mine = [r for r in rows if r["method"] == method]
        line = {"method": METHODS[method]}
        for col, fmt in app.columns.items():
            vals = [r[col] for r in mine]
            if fmt == "s":  # "k/n" counts: sum them
                line[col] = f"{sum(int(v.split('/')[0]) for v in vals)}/{sum(int(v.split('/')[1]) for v in vals)}"
            else:
                line[col] = statistics.mean(vals)
                line[col + " (median)"] = statistics.median(vals)
        line["success"] = f"{sum(r['success'] for r in mine)}/{len(mine)}"
        line["mean wall_s"] = statistics.mean(r["wall_s"] for r in mine)
        summary.append(line)
    cols = ["method"] + [c for col in app.columns for c in ((col,) if app.columns[col] == "s" else (col, col + " (median)"))]
    fmts = {c: app.columns[c.split(" ")[0]] for c in cols[1:]}
    print(f"\n{app.name}, {len(rows) // len(methods)} seeds, {iterations} iterations, {resolution}^2; "
          f"success = {app.threshold}")
    print(report.format_table(summary, cols + ["success", "mean wall_s"], {**fmts, "mean wall_s": ".1f"}, markdown=True))
    if args.json:
        report.write_json(args.json, {"app": app.name, "iterations": iterations, "resolution": resolution,
                                      "settings": app.settings, "threshold": app.threshold, "rows": rows})
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
