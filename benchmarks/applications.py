"""Applications (paper §6.2): DROT-hybrid vs the L2 baseline from the same seeded starts.

    python benchmarks/applications.py --app furniture                 # CPU defaults (see APPS)
    python benchmarks/applications.py --app smpl --seeds 5 --iterations 1000
    python benchmarks/applications.py --app smpl --methods hybrid,hybrid-one-adam,standard
    python benchmarks/applications.py --app furniture --resolution 256 --iterations 1000   # the paper's protocol
    python benchmarks/applications.py --app furniture --resolution 256 --max-points 0     # every covered pixel

Every method runs on the same problem per seed (furniture: the seed draws the start layout;
SMPL and blendshapes: the seed draws the target, the start is the rest pose / neutral face) with
the same settings; only the derivatives differ (see drot/apps/problem.py for the methods and the
learning-rate decay kept at the paper's overall 0.37x for short runs). Prints one row per run and
a per-method summary (mean errors, success count with its threshold, mean time); ``--json PATH``
also writes every row. ``--first-seed`` lets a long protocol run in chunks.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import torch

from drot import report
from drot.apps import METHODS, BlendshapeProblem, FurnitureProblem, SmplProblem, compare, summarize

#: Application → its problem (defaults: CPU-sized resolution and iterations; see each problem).
APPS = {"furniture": FurnitureProblem, "smpl": SmplProblem, "blendshapes": BlendshapeProblem}


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
    parser.add_argument("--max-points", type=int, default=None,
                        help="cap on Sinkhorn points per side instead of the app's (0: no cap)")
    args = parser.parse_args(argv)

    app = APPS[args.app]()
    if args.max_points is not None:
        settings = {k: v for k, v in app.settings.items() if k != "max_points"}
        app = dataclasses.replace(app, settings={**settings, **({"max_points": args.max_points} if args.max_points else {})})
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    bad = [m for m in methods if m not in METHODS]
    if bad:
        parser.error(f"unknown method(s) {bad}; choose from {', '.join(METHODS)}")
    if args.seeds < 1:
        parser.error("--seeds must be >= 1")
    iterations = args.iterations or app.iterations
    resolution = args.resolution or app.resolution
    print(f"{app.name}: {args.seeds} seeds from {args.first_seed}, {iterations} iterations, {resolution}^2 "
          f"(paper: {app.paper_resolution}^2, 1000 iterations), settings {app.settings or 'defaults'}, "
          f"torch threads {torch.get_num_threads()}", flush=True)

    main = next(iter(app.columns))

    def show(run):
        row = run.row()
        print(f"{run.method:>15} seed {run.seed}: " + ", ".join(f"{c} {row[c]:{f}}" for c, f in app.columns.items())
              + f", success {row['success']}, {row['wall_s']:.1f} s", flush=True)

    runs = compare(app, methods, range(args.first_seed, args.first_seed + args.seeds), iterations, resolution,
                   on_run=show)
    rows = [r.row() for r in runs]
    print()
    print(report.format_table(rows, ["method", "seed", "start_" + main, *app.columns, "success", "wall_s", "it_per_s"],
                              {**app.columns, "start_" + main: app.columns[main], "wall_s": ".1f", "it_per_s": ".1f"},
                              markdown=True))
    cols = ["method"] + [c for col in app.columns for c in ((col,) if app.columns[col] == "s" else (col, col + " (median)"))]
    fmts = {c: app.columns[c.split(" ")[0]] for c in cols[1:]}
    print(f"\n{app.name}, {len(rows) // len(methods)} seeds, {iterations} iterations, {resolution}^2; "
          f"success = {app.rule}")
    print(report.format_table(summarize(app, runs), cols + ["success", "mean wall_s"], {**fmts, "mean wall_s": ".1f"},
                              markdown=True))
    if args.json:
        report.write_json(args.json, {"app": app.name, "iterations": iterations, "resolution": resolution,
                                      "settings": app.settings, "threshold": app.rule, "rows": rows})
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
