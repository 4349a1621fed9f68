"""``drot-bench``: run DROT and the L2 baseline on a scene from the same seeded starts.

    drot-bench --scene kitty                       # quick CPU defaults (about a minute on 2 cores)
    drot-bench --scene kitty --iterations 1000 --seeds 10 --resolution 128   # the paper's protocol
    drot-bench --scene kitty --device cuda         # on a GPU the defaults are the paper's full protocol

Prints a table (method, seed, vertex MAE, PSNR, SSIM, it/s, wall s) and writes a results folder:
``results.json`` / ``results.csv`` / ``history.csv``, one PNG strip (start / target / result per
view) per run, ``error_vs_iteration.png``, and a GIF animation per run.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from .. import report
from ..matching import MATCHERS
from ..matching.sinkhorn import SOLVERS
from ..optim.multiscale import L2_SCHEDULES
from ..optim.schedule import STRATEGIES
from ..optim.settings import BACKGROUND_MODES, DEFAULTS, OptimizeSettings
from ..render.backend import backend_names
from ..scene.loader import available_scenes, scene_config, scene_from_config
from .bench import TABLE_COLUMNS, TABLE_FORMATS, aggregate_rows, method_label, run_benchmark, summary_rows, write_results
from .scene_benchmark import benchmark_config, optimize_defaults

#: Scene sets: where their files live relative to a scene folder.
PROTOCOLS = {"drot": "", "paper": "paper/"}

# Quick defaults sized to finish in about a minute on a 2-core CPU while still showing the effect;
# on a GPU the defaults are the paper's full protocol (10 seeds x 1000 iterations x 128²).
QUICK = {"iterations": 400, "seeds": 4, "resolution": 128}
FULL = {"iterations": 1000, "seeds": 10, "resolution": 128}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="drot-bench", description=__doc__.split("\n\n")[0].replace("``", ""),
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--scene", default="kitty", help="scene name (a file in scenes/) or path to a .toml scene file")
    p.add_argument("--protocol", default="drot", choices=list(PROTOCOLS),
                   help="which scene files: drot's own (scenes/*.toml) or the paper's exact protocol "
                        "(scenes/paper/*.toml, whose [optimize] tables give iterations, seeds, lr and lr decay)")
    p.add_argument("--methods", default="hybrid,standard",
                   help="comma-separated strategies among: " + "; ".join(
                       f"{name} ({strategy.description})" for name, strategy in STRATEGIES.items()))
    p.add_argument("--seeds", type=int, default=None,
                   help=f"number of random starts (default: {QUICK['seeds']} on CPU, {FULL['seeds']} on CUDA)")
    p.add_argument("--first-seed", type=int, default=0, help="seed of the first start")
    p.add_argument("--iterations", type=int, default=None,
                   help=f"iterations per run (default: {QUICK['iterations']} on CPU, {FULL['iterations']} on CUDA)")
    p.add_argument("--resolution", type=int, default=None,
                   help=f"render resolution, square (default: {QUICK['resolution']})")
    p.add_argument("--device", default=DEFAULTS["device"], help="cpu or cuda")
    p.add_argument("--backend", default=DEFAULTS["backend"],
                   help=f"rendering backend: auto or one of {', '.join(backend_names())}")
    # Settings flags: defaults and choices are read from OptimizeSettings and the registries.
    p.add_argument("--lr", type=float, default=None,
                   help=f"Adam learning rate (default: the scene's [optimize] lr, else {DEFAULTS['lr']})")
    p.add_argument("--lr-decay", type=float, default=None,
                   help=f"per-iteration lr decay (default: the scene's [optimize] lr_decay, else {DEFAULTS['lr_decay']})")
    p.add_argument("--lam", type=float, default=DEFAULTS["lam"], help="λ: colour vs position weight of the matching cost")
    p.add_argument("--blur", type=float, default=DEFAULTS["blur"], help="Sinkhorn ε (GeomLoss blur)")
    p.add_argument("--K", type=int, default=DEFAULTS["match_interval"], dest="match_interval",
                   help="matching interval: rematch every K+1 iterations")
    p.add_argument("--hybrid-fraction", type=float, default=DEFAULTS["rgbxy_fraction"],
                   help="share of RGBXY iterations in the hybrid strategy")
    p.add_argument("--matcher", default=DEFAULTS["matcher"], choices=list(MATCHERS),
                   help="pixel matching (flow: OpenCV optical flow, pip install \"drot[flow]\")")
    p.add_argument("--l2-schedule", default=DEFAULTS["l2_schedule"], choices=list(L2_SCHEDULES),
                   help="resolution of the L2 iterations: fixed, multires (8² → full, render and loss) or "
                        "downsampled (full render, loss on 8² → full)")
    p.add_argument("--solver", default=DEFAULTS["sinkhorn_solver"], choices=list(SOLVERS),
                   help="Sinkhorn solver: drot's fast solver or the GeomLoss reference")
    p.add_argument("--max-points", type=int, default=DEFAULTS["max_points"],
                   help="cap on points per side of a matching (subsampling)")
    p.add_argument("--background", default=DEFAULTS["background"], choices=list(BACKGROUND_MODES))
    p.add_argument("--threshold", type=float, default=None,
                   help="success threshold on the scene's metric: vertex MAE at most, or PSNR (dB) at least (default: the scene's)")
    p.add_argument("--out", default=None, help="results folder (default: drot-results/<scene>)")
    p.add_argument("--frames", type=int, default=40, help="animation frames per run (0: no animation)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--list-scenes", action="store_true", help="list available scenes and exit")
    return p


def apply_protocol_defaults(args: argparse.Namespace, scene_defaults: dict | None = None) -> argparse.Namespace:
    """Fill unset --iterations / --seeds / --resolution / --lr / --lr-decay: from the scene's
    ``[optimize]`` table for the paper protocol, else the full protocol on CUDA and quick ones on CPU;
    lr and its decay from the scene's table, else OptimizeSettings' defaults."""
    paper = getattr(args, "protocol", "drot") == "paper"
    base = FULL if paper or args.device.startswith("cuda") else QUICK
    given = scene_defaults or {}
    for key, value in base.items():
        if getattr(args, key) is None:
            setattr(args, key, given.get(key, value) if paper else value)
    for key, dest in (("lr", "lr"), ("lr_decay", "lr_decay")):
        if getattr(args, dest, None) is None:
            setattr(args, dest, given.get(key, DEFAULTS[key]))
    return args


def scene_name(args: argparse.Namespace) -> str:
    """The scene file to load: ``--scene`` as given, or from ``scenes/paper/`` with ``--protocol paper``."""
    return args.scene if args.protocol == "drot" or Path(args.scene).suffix == ".toml" else PROTOCOLS[args.protocol] + args.scene


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.list_scenes:
        print("\n".join(available_scenes(PROTOCOLS[args.protocol])))
        return 0
    try:
        cfg, path = scene_config(scene_name(args))
        args = apply_protocol_defaults(args, optimize_defaults(cfg, path))
        methods = [m.strip() for m in args.methods.split(",") if m.strip()]
        bad = [m for m in methods if m not in STRATEGIES]
        if bad or not methods:
            raise ValueError(f"unknown method(s) {bad}; choose among {', '.join(STRATEGIES)}")
        if args.seeds <= 0:
            raise ValueError(f"--seeds must be positive, got {args.seeds}")
        if args.resolution < 8:
            raise ValueError(f"--resolution must be at least 8, got {args.resolution}")
        if args.device.startswith("cuda") and not torch.cuda.is_available():
            raise ValueError("--device cuda requested but CUDA is not available (this torch build or machine has no GPU)")
        scene = scene_from_config(cfg, path, resolution=args.resolution)
        bench_cfg = benchmark_config(cfg, path)
        metric = bench_cfg["metric"]
        threshold = args.threshold if args.threshold is not None else bench_cfg["success_threshold"]
        settings = OptimizeSettings(
            iterations=args.iterations, lr=args.lr, lr_decay=args.lr_decay, lam=args.lam, blur=args.blur,
            match_interval=args.match_interval,
            rgbxy_fraction=args.hybrid_fraction, matcher=args.matcher, sinkhorn_solver=args.solver,
            max_points=args.max_points, background=args.background, l2_schedule=args.l2_schedule,
            device=args.device, backend=args.backend, progress=not args.no_progress, record_frames=args.frames)
    except (ValueError, FileNotFoundError) as exc:
        print(f"drot-bench: error: {exc}", file=sys.stderr)
        return 2

    out_dir = Path(args.out or Path("drot-results") / (f"{args.protocol}-{scene.name}" if args.protocol != "drot"
                                                       else scene.name))
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    print(f"drot-bench: scene {scene.name} ({scene.num_views} views, {scene.resolution[0]}x{scene.resolution[1]}), "
          f"methods {', '.join(method_label(m) for m in methods)}, seeds {seeds[0]}..{seeds[-1]}, "
          f"{args.iterations} iterations, device {args.device}", flush=True)
    t0 = time.perf_counter()

    def on_result(run):
        r = run.result
        mae = "n/a" if r.vertex_mae is None else f"{r.vertex_mae:.4f}"
        print(f"  {method_label(run.method):<14} seed {run.seed}: vertex MAE {mae}, "
              f"PSNR {r.psnr:.2f} dB, {r.iterations_per_second:.1f} it/s", flush=True)

    runs = run_benchmark(scene, methods, seeds, settings, on_result=on_result)
    print()
    print(report.format_table(summary_rows(runs), TABLE_COLUMNS, TABLE_FORMATS))
    print()
    agg = aggregate_rows(runs, threshold, metric)
    print(f"per method (success = {'PSNR >= ' if metric == 'psnr' else 'vertex MAE <= '}{threshold}):")
    print(report.format_table(agg, [c for c in ["method", "runs", "mean_mae", "median_mae", "success", "mean_psnr",
                                                "it_per_s", "wall_s"] if c in agg[0]], TABLE_FORMATS))
    write_results(out_dir, scene, runs, threshold, animate=args.frames > 0, metric=metric)
    print(f"\nresults written to {out_dir}/ (results.json, results.csv, strips, error_vs_iteration.png, animations)")
    print(f"total wall time {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
