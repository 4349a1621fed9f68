"""``drot-bench``: run DROT and the L2 baseline on a scene from the same seeded starts.

    drot-bench --scene kitty                       # quick CPU defaults (128², 400 it., 4 seeds, 8 starts)
    drot-bench --scene kitty --iterations 1000 --seeds 10 --resolution 128   # the paper's protocol
    drot-bench --scene kitty --device cuda         # on a GPU the defaults are the paper's full protocol

Prints a line per run and a table (method, seed, vertex MAE, PSNR, SSIM, it/s, wall s) and writes a
results folder (default ``drot-results/<scene>``, see :mod:`drot.eval.bench_files`): every run is
kept as soon as it finishes (``runs.jsonl``, its strip PNG and GIF), ``results.json`` /
``results.csv`` / ``history.csv`` are rewritten after every run, ``error_vs_iteration.png`` at the end.

* Ctrl-C after k runs leaves those k runs on disk, says where, and exits with code 130.
* The same command again resumes: finished runs (same scene file, resolution and settings) are
  skipped and reported, the rest run; ``--fresh`` removes the folder's earlier results first;
  ``--retry-failed`` reruns the runs that raised (recorded as failed; exit code 1).
* ``--workers N`` runs N runs at a time as tasks of a local Ray instance, ``--ray-address ADDRESS`` on
  an existing Ray cluster (``pip install "drot[distributed]"``, see :mod:`drot.eval.ray_executor`);
  this process still writes ``runs.jsonl`` as each run finishes. The workers write the strips and
  GIFs into ``--out`` themselves: on a cluster, give an ``--out`` every node shares (a run whose
  strip is missing on the driver's disk is redone by the next command).
* ``--starts S`` (default :data:`~drot.optim.recommended.RECOMMENDED_STARTS`) runs every method from S
  batched starts (the seeded start plus a low-discrepancy set), thinned by successive halving
  (``--halving-interval``); ``--starts 1`` is the paper's single start. With several starts, each
  method also runs from its seeded start alone (``hybrid@1``, ``standard@1``; ``--no-one-start``
  skips them), and the summary says what RGBXY derivatives bought against L2 at both counts.
  ``--methods hybrid@2,...`` runs a method at another count of starts.
* Every flag and ``--out`` are checked before any work (exit code 2, naming the flag, the value and
  what is allowed); the flags that are settings are checked by :class:`OptimizeSettings` itself.
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import torch

from .. import report
from ..matching import MATCHERS
from ..matching.sinkhorn import SOLVERS
from ..optim.multiscale import L2_SCHEDULES
from ..optim.schedule import STRATEGIES
from ..optim.recommended import RECOMMENDED_STARTS
from ..optim.settings import BACKGROUND_MODES, DEFAULTS, OptimizeSettings
from ..render.backend import backend_names
from ..scene.loader import available_scenes, scene_config, scene_from_config
from .bench import (STARTS_SEPARATOR, TABLE_COLUMNS, TABLE_FORMATS, BenchRunner, aggregate_rows, bench_config, bench_specs,
                    method_label, rgbxy_vs_l2, scene_digest, split_method, summary_rows, write_results)
from .bench_files import check_out_dir, missing_files, previous_files, remove_files, run_file_names, run_files
from .scene_benchmark import MIN_RESOLUTION, SCENE_SETS, benchmark_config, optimize_defaults, scene_in_set
from .executor_flags import add_executor_arguments, executor_from_args
from .sweep import RUNS_FILE, RunStore, run_sweep
from ..threads import add_threads_argument, choose_threads

# Quick defaults sized for a 2-core CPU while still showing the effect;
# on a GPU the defaults are the paper's full protocol (10 seeds x 1000 iterations x 128²).
QUICK = {"iterations": 400, "seeds": 4, "resolution": 128}
FULL = {"iterations": 1000, "seeds": 10, "resolution": 128}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="drot-bench", description=__doc__.split("\n\n")[0].replace("``", ""),
                                formatter_class=DefaultsOnceFormatter)
    p.add_argument("--scene", default="kitty", help="scene name (a file in scenes/) or path to a .toml scene file")
    p.add_argument("--protocol", default="drot", choices=list(SCENE_SETS),
                   help="which scene files: drot's own (scenes/*.toml) or the paper's exact protocol "
                        "(scenes/paper/*.toml, whose [optimize] tables give iterations, seeds, lr and lr decay)")
    p.add_argument("--methods", default="hybrid,standard",
                   help="comma-separated strategies among: " + "; ".join(
                       f"{name} ({strategy.description})" for name, strategy in STRATEGIES.items()))
    p.add_argument("--seeds", type=int, default=None,
                   help=f"number of random starts (default: {QUICK['seeds']} on CPU, {FULL['seeds']} on CUDA)")
    p.add_argument("--first-seed", type=int, default=0, help="seed of the first start (seeds are 0 .. 2**32 - 1)")
    p.add_argument("--iterations", type=int, default=None,
                   help=f"iterations per run (default: {QUICK['iterations']} on CPU, {FULL['iterations']} on CUDA)")
    p.add_argument("--resolution", type=int, default=None,
                   help=f"render resolution, square, at least {MIN_RESOLUTION} (default: {QUICK['resolution']}, "
                        "or the scene's [optimize] resolution with --protocol paper)")
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
    # Flags carry the settings' names; the older names stay as aliases.
    p.add_argument("--match-interval", "--K", type=int, action=StoreAsTyped, default=DEFAULTS["match_interval"],
                   dest="match_interval", help="K: a new matching every K+1 iterations")
    p.add_argument("--rgbxy-fraction", "--hybrid-fraction", type=float, action=StoreAsTyped,
                   default=DEFAULTS["rgbxy_fraction"], dest="rgbxy_fraction", help="share of RGBXY iterations in the hybrid strategy")
    p.add_argument("--matcher", default=DEFAULTS["matcher"], choices=list(MATCHERS),
                   help="pixel matching (flow: OpenCV optical flow, pip install \"drot[flow]\")")
    p.add_argument("--l2-schedule", default=DEFAULTS["l2_schedule"], choices=list(L2_SCHEDULES),
                   help="resolution of the L2 iterations: fixed, multires (8² → full, render and loss) or "
                        "downsampled (full render, loss on 8² → full)")
    p.add_argument("--sinkhorn-solver", "--solver", default=DEFAULTS["sinkhorn_solver"], choices=list(SOLVERS),
                   dest="sinkhorn_solver",
                   help="Sinkhorn solver: drot's fast (dense) or multiscale (sparse) solver, auto "
                        "(multiscale for very large point sets) or the GeomLoss reference")
    p.add_argument("--max-points", type=int, default=DEFAULTS["max_points"],
                   help="cap on points per side of a matching (subsampling; default: no cap)")
    p.add_argument("--background", default=DEFAULTS["background"], choices=list(BACKGROUND_MODES),
                   help="pixels matched: exclude (foreground only), include (every pixel, paper §5.2.2), "
                        "auto (exclude when a foreground mask is known)")
    p.add_argument("--sinkhorn-reach", type=float, default=DEFAULTS["sinkhorn_reach"],
                   help="unbalanced transport: pixels without a counterpart within about this embedded distance "
                        "are left unmatched (default: balanced, the paper's)")
    # drot's levers (Table 1's drot row turns them on: drot/optim/recommended.py, docs/guide.md).
    p.add_argument("--jump-interval", type=float, default=DEFAULTS["jump_interval"],
                   help="look-alike jumps (cube-group rotations, quarter turns) every this fraction of the run (0: off)")
    p.add_argument("--appearance-gradients", default=DEFAULTS["appearance_gradients"], choices=["rgbxy", "standard"],
                   help="where appearance parameters (textures, materials, lights) take their gradients in RGBXY iterations")
    p.add_argument("--optimizer", default=DEFAULTS["optimizer"], choices=["adam", "vector_adam"],
                   help="Adam per coordinate, or VectorAdam (one scale per 3-vector: rotations, translations)")
    p.add_argument("--translation-frame", default=DEFAULTS["translation_frame"], choices=["world", "view"],
                   help="translations optimised in world space, or as image position and log depth in view 0")
    p.add_argument("--offset-smoothness", type=float, default=DEFAULTS["offset_smoothness"],
                   help="weight of the smoothness prior on per-vertex offsets (0: none, the paper's)")
    p.add_argument("--l2-supersample", type=int, default=DEFAULTS["l2_supersample"],
                   help="standard derivatives of geometry through a render at this multiple of the resolution, "
                        "area-averaged (k² samples per pixel; 1: one sample, the paper's)")
    p.add_argument("--starts", type=int, default=RECOMMENDED_STARTS,
                   help="batched starts per run, thinned by successive halving (1: a single start, as in the paper)")
    p.add_argument("--one-start", action=argparse.BooleanOptionalAction, default=True,
                   help="with --starts > 1, also run each method from its seeded start alone (method@1), so the "
                        "summary says what RGBXY derivatives bought against L2 at one start too")
    p.add_argument("--halving-interval", type=float, default=DEFAULTS["halving_interval"],
                   help="with several starts: rank and halve them every this fraction of the iterations")
    p.add_argument("--threshold", type=float, default=None,
                   help="success threshold on the scene's metric: vertex MAE at most, or PSNR (dB) at least (default: the scene's)")
    p.add_argument("--out", default=None, help="results folder (default: drot-results/<scene>); a folder of "
                                                "earlier results is resumed: runs already there are skipped")
    p.add_argument("--fresh", action="store_true",
                   help="remove the earlier results drot-bench wrote in --out (its runs.jsonl, results.*, "
                        "history.csv, strips, GIFs, plot) and run everything again")
    p.add_argument("--retry-failed", action="store_true", help="rerun the runs recorded as failed")
    add_executor_arguments(p)
    p.add_argument("--record-frames", "--frames", type=int, action=StoreAsTyped, default=40, dest="record_frames",
                   help="animation frames per run (0: no animation)")
    add_threads_argument(p)
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--list-scenes", action="store_true",
                   help="list the scenes of --protocol with their descriptions and exit")
    return p


class StoreAsTyped(argparse.Action):
    """Stores the value and the flag as typed (an old alias too), so that errors name what the user wrote."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, values)
        typed = dict(getattr(namespace, "typed_flags", None) or {})
        typed[self.dest] = option_string
        namespace.typed_flags = typed


def typed_flag(args: argparse.Namespace, dest: str, flag: str) -> str:
    """The flag the user typed for ``dest`` (e.g. the alias ``--K``), else its name ``flag``."""
    return (getattr(args, "typed_flags", None) or {}).get(dest, flag)


class DefaultsOnceFormatter(argparse.HelpFormatter):
    """Appends "(default: X)" to a flag's help unless the help already states its default or there
    is none to state (ArgumentDefaultsHelpFormatter would print "(default: None)" after a help that
    explains what None means)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if ("default" in text or action.default in (None, False, argparse.SUPPRESS)
                or action.option_strings == [] or "%(default)" in text):
            return text
        return f"{text} (default: %(default)s)"


def scene_listing(protocol: str) -> str:
    """One line per scene of the protocol's set: its name and the description its file gives."""
    folder = SCENE_SETS[protocol]
    lines = []
    for name in available_scenes(folder):
        try:
            description = scene_config(f"{folder}/{name}" if folder else name)[0].get("description", "")
        except (ValueError, FileNotFoundError) as exc:
            description = f"(cannot be read: {exc})"
        lines.append(f"{name:<10} {description}")
    title = {"drot": "drot's own scenes (scenes/*.toml)", "paper": "the paper's protocol (scenes/paper/*.toml)"}
    return f"{title.get(protocol, protocol)}:\n" + "\n".join(f"  {line}" for line in lines)


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
    return scene_in_set(args.scene, args.protocol)


#: drot-bench flag of each setting that OptimizeSettings checks.
SETTING_FLAGS = {"iterations": "--iterations", "lr": "--lr", "lr_decay": "--lr-decay", "lam": "--lam", "blur": "--blur",
                 "match_interval": "--match-interval", "rgbxy_fraction": "--rgbxy-fraction",
                 "max_points": "--max-points", "record_frames": "--record-frames", "starts": "--starts",
                 "halving_interval": "--halving-interval", "sinkhorn_reach": "--sinkhorn-reach",
                 "jump_interval": "--jump-interval", "offset_smoothness": "--offset-smoothness",
                 "l2_supersample": "--l2-supersample"}
#: Flags that take a number: inf and nan are refused (argparse's float() accepts them).
FLOAT_FLAGS = {"lr": "--lr", "lr_decay": "--lr-decay", "lam": "--lam", "blur": "--blur",
               "rgbxy_fraction": "--rgbxy-fraction", "threshold": "--threshold",
               "halving_interval": "--halving-interval", "sinkhorn_reach": "--sinkhorn-reach",
               "jump_interval": "--jump-interval", "offset_smoothness": "--offset-smoothness"}
SEED_LIMIT = 2 ** 32  # numpy's and torch's seeds: 0 .. 2**32 - 1 is safe for both


def check_flags(args: argparse.Namespace) -> None:
    """ValueError naming the flag, its value and what is allowed, for the flags that are not settings."""
    for dest, flag in FLOAT_FLAGS.items():
        value = getattr(args, dest)
        if value is not None and not math.isfinite(value):
            raise ValueError(f"{typed_flag(args, dest, flag)} {value}: must be a finite number")
    if args.seeds < 1:
        raise ValueError(f"--seeds {args.seeds}: must be an integer >= 1 (the number of random starts)")
    if not 0 <= args.first_seed <= SEED_LIMIT - args.seeds:
        raise ValueError(f"--first-seed {args.first_seed}: must be an integer >= 0 with the last seed "
                         f"(--first-seed + --seeds - 1) at most {SEED_LIMIT - 1}")
    if args.resolution < MIN_RESOLUTION:
        raise ValueError(f"--resolution {args.resolution}: must be an integer >= {MIN_RESOLUTION} "
                         f"(SSIM's {MIN_RESOLUTION}x{MIN_RESOLUTION} window must fit in the image)")
    if args.threshold is not None and args.threshold < 0:
        raise ValueError(f"--threshold {args.threshold}: must be a number >= 0 (a vertex MAE, or a PSNR in dB)")


def settings_from_args(args: argparse.Namespace) -> OptimizeSettings:
    """The runs' OptimizeSettings; its ValueError comes back naming the flag that holds the bad value."""
    values = {"iterations": args.iterations, "lr": args.lr, "lr_decay": args.lr_decay, "lam": args.lam,
              "blur": args.blur, "match_interval": args.match_interval, "rgbxy_fraction": args.rgbxy_fraction,
              "max_points": args.max_points, "record_frames": args.record_frames, "starts": args.starts,
              "halving_interval": args.halving_interval, "sinkhorn_reach": args.sinkhorn_reach,
              "jump_interval": args.jump_interval, "offset_smoothness": args.offset_smoothness,
              "l2_supersample": args.l2_supersample}
    try:
        return OptimizeSettings(**values, matcher=args.matcher, sinkhorn_solver=args.sinkhorn_solver,
                                appearance_gradients=args.appearance_gradients, optimizer=args.optimizer,
                                translation_frame=args.translation_frame,
                                background=args.background, l2_schedule=args.l2_schedule, device=args.device,
                                backend=args.backend, progress=not args.no_progress)
    except ValueError as exc:
        for name, flag in SETTING_FLAGS.items():  # which flag: each setting on its own
            try:
                OptimizeSettings(**{name: values[name]})
            except ValueError as one:
                raise ValueError(f"{typed_flag(args, name, flag)} {values[name]}: {one}") from None
        raise exc


def _values(values: dict) -> str:
    """Parameter values in a few characters (a long value, e.g. a texture, by its size)."""
    def one(v):
        flat = v if isinstance(v, list) and not any(isinstance(x, list) for x in v) else None
        return "[" + ", ".join(f"{x:.3g}" for x in flat) + "]" if flat is not None and len(flat) <= 4 else "[...]"
    return ", ".join(f"{k} {one(v)}" for k, v in values.items())


def _run_line(label: str, seed: int, row: dict) -> str:
    mae = "n/a" if row.get("vertex_mae") is None else f"{float(row['vertex_mae']):.4f}"
    line = f"{label:<14} seed {seed}: vertex MAE {mae}, PSNR {float(row['psnr']):.2f} dB, {float(row['it_per_s']):.1f} it/s"
    if "initial_parameters" in row:
        line += f"; seeded start: {_values(row['initial_parameters'])}"
    won = row.get("winning_start")
    if won is not None:
        line += (f"; won: start {won['index']} of {row.get('starts')}" + ("" if won["index"] == 0 else
                 f" ({_values(won['initial_parameters'])})"))
    return line


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.list_scenes:
        print(scene_listing(args.protocol))
        return 0
    choose_threads(args.threads)
    try:
        cfg, path = scene_config(scene_name(args))
        args = apply_protocol_defaults(args, optimize_defaults(cfg, path))
        methods = list(dict.fromkeys(m.strip() for m in args.methods.split(",") if m.strip()))
        bad = [m for m in methods if split_method(m)[0] not in STRATEGIES]
        if bad or not methods:
            raise ValueError(f"--methods: unknown method(s) {bad}; choose among {', '.join(STRATEGIES)} "
                             f"(method@S: that method from S starts)")
        if args.one_start and args.starts > 1:
            methods += [f"{m}{STARTS_SEPARATOR}1" for m in list(methods) if split_method(m)[1] is None
                        and f"{m}{STARTS_SEPARATOR}1" not in methods]
        check_flags(args)
        settings = settings_from_args(args)
        if args.device.startswith("cuda") and not torch.cuda.is_available():
            raise ValueError("--device cuda requested but CUDA is not available (this torch build or machine has no GPU)")
        executor = executor_from_args(args.workers, args.ray_address, args.device)
        scene = scene_from_config(cfg, path, resolution=args.resolution)
        bench_cfg = benchmark_config(cfg, path)
        metric = bench_cfg["metric"]
        threshold = args.threshold if args.threshold is not None else bench_cfg["success_threshold"]
        out_dir = check_out_dir(args.out or Path("drot-results") / (
            f"{args.protocol}-{scene.name}" if args.protocol != "drot" else scene.name))
    except (ValueError, FileNotFoundError, ImportError) as exc:
        print(f"drot-bench: error: {exc}", file=sys.stderr)
        return 2

    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    print(f"drot-bench: scene {scene.name} ({scene.num_views} views, {scene.resolution[0]}x{scene.resolution[1]}), "
          f"methods {', '.join(method_label(m) for m in methods)}, seeds {seeds[0]}..{seeds[-1]}, "
          f"{args.iterations} iterations, device {args.device}", flush=True)
    if args.fresh:
        removed = remove_files(previous_files(out_dir))
        print(f"drot-bench: --fresh: removed {len(removed)} file(s) of earlier results from {out_dir}/")
    specs = bench_specs(scene.name, methods, seeds, bench_config(settings, args.resolution, scene_digest(path)))
    records = RunStore(out_dir).records()
    redo = lambda rec: missing_files(out_dir, rec)  # noqa: E731
    done = [s for s in specs if records.get(s.key, {}).get("status") == "ok" and not redo(records[s.key])]
    failed_before = [s for s in specs if s.key in records and records[s.key].get("status") != "ok"]
    if done or failed_before:
        left = len(specs) - len(done) - (0 if args.retry_failed else len(failed_before))
        print(f"drot-bench: resuming in {out_dir}/: {len(done)} of {len(specs)} runs already done (skipped), "
              f"{left} to run (--fresh starts over)")
        for s in done:
            print(f"  {_run_line(method_label(s.variant), s.seed, records[s.key]['result'])}  (skipped)")
        if failed_before and not args.retry_failed:
            print(f"drot-bench: {len(failed_before)} run(s) failed before and are left alone (--retry-failed reruns them)")
    current = {name for s in specs for name in run_file_names(s.variant, s.seed)}
    others = sorted({n for rec in records.values() if rec.get("status") == "ok"
                     for n in run_files(rec.get("result") or {}) if n not in current and (out_dir / n).is_file()})
    if others:
        print(f"drot-bench: keeping {len(others)} strip/GIF file(s) of earlier runs not in this command "
              f"({', '.join(others[:3])}{', ...' if len(others) > 3 else ''}); --fresh removes them")
    t0 = time.perf_counter()

    def write(plot: bool = True, in_flight: bool = False) -> None:
        write_results(out_dir, scene, specs, records, threshold, metric, settings, plot=plot, in_flight=in_flight)

    def on_record(rec: dict) -> None:
        records[rec["key"]] = rec
        label = method_label(rec["variant"])
        if rec["status"] == "ok":
            print(f"  {_run_line(label, rec['seed'], rec['result'])}", flush=True)
        else:
            print(f"  {label:<14} seed {rec['seed']}: failed: {rec['error']}", file=sys.stderr, flush=True)
        write(plot=False, in_flight=True)  # the plot, and the clean-up of unfinished runs' files, at the end

    try:
        run_sweep(specs, BenchRunner(scene, settings, out_dir, animate=args.record_frames > 0), out_dir,
                  retry_failed=args.retry_failed, progress=False, on_record=on_record, redo=redo, executor=executor)
    except KeyboardInterrupt:
        # The store is the truth: a run stored just before the interrupt may not have reached on_record.
        records.update(RunStore(out_dir).records())
        write()
        finished = sum(records.get(s.key, {}).get("status") == "ok" for s in specs)
        print(f"\ndrot-bench: interrupted: {finished} of {len(specs)} runs finished and kept in {out_dir}/ "
              f"(results.json, results.csv, {RUNS_FILE}, strips); run the same command again to resume "
              f"(finished runs are skipped)", file=sys.stderr, flush=True)
        return 130
    write()
    rows = [records[s.key]["result"] for s in specs if records.get(s.key, {}).get("status") == "ok"]
    failed = [s for s in specs if records.get(s.key, {}).get("status") not in (None, "ok")]
    if rows:
        print()
        print(report.format_table(summary_rows(rows), TABLE_COLUMNS, TABLE_FORMATS))
        print()
        agg = aggregate_rows(rows, threshold, metric)
        print(f"per method (success = {'PSNR >= ' if metric == 'psnr' else 'vertex MAE <= '}{threshold}):")
        print(report.format_table(agg, [c for c in ["method", "runs", "mean_mae", "median_mae", "success", "mean_psnr",
                                                    "it_per_s", "wall_s"] if c in agg[0]], TABLE_FORMATS))
        gain = rgbxy_vs_l2(agg, args.starts)
        if gain is not None:
            print(f"\n{gain}")
    print(f"\nresults written to {out_dir}/ (results.json, results.csv, {RUNS_FILE}, strips, error_vs_iteration.png"
          f"{', animations' if args.record_frames > 0 else ''})")
    print(f"total wall time {time.perf_counter() - t0:.1f} s"
          + (f" (runs on {executor.describe()})" if not executor.in_process else ""))
    if failed:
        print(f"drot-bench: {len(failed)} run(s) failed: "
              + "; ".join(f"{s.variant} seed {s.seed}: {records[s.key].get('error')}" for s in failed)
              + f" (tracebacks in {out_dir / RUNS_FILE}; --retry-failed reruns them)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
