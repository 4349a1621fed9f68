"""The command line of the Table 1 harness (``python benchmarks/table1.py``): :func:`main`."""
from __future__ import annotations

import argparse
import dataclasses
import importlib
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import torch

from ..executor_flags import add_executor_arguments, executor_from_args
from ..scene_benchmark import SCENE_SETS, scene_in_set
from ..sweep import run_sweep
from .protocol import FULL, QUICK, Protocol
from .runner import Table1Runner, build_specs, rescore
from .scenes import TABLE1_SCENES, scene_entry
from .tables import write_outputs
from .variants import VARIANTS_BY_ID


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="benchmarks/table1.py", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Reproduce the paper's Table 1 as a resumable sweep (rerun the same command to resume).",
        epilog="protocols:\n  --quick   " + QUICK.describe() + "\n  (default) " + FULL.describe())
    p.add_argument("--protocol", default="drot", choices=list(SCENE_SETS),
                   help="which scene files: drot's own (scenes/*.toml) or the paper's exact protocol (scenes/paper/*.toml; "
                        "their [optimize] lr and lr decay apply to every row)")
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
    p.add_argument("--starts", type=int, default=None,
                   help="batched starts of the multi-start row 'drot' (default: drot's recommended number)")
    add_executor_arguments(p)
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
                         ("high_resolution", args.high_resolution), ("starts", args.starts)):
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
        executor = executor_from_args(args.workers, args.ray_address, protocol.device)
        scenes = [scene_entry(scene_in_set(n.strip(), args.protocol)) for n in args.scenes.split(",") if n.strip()]
    except (ValueError, ImportError) as exc:
        print(f"table1: error: {exc}", file=sys.stderr)
        return 2
    out_dir = Path(args.out or Path("table1-results") / (protocol.name if args.protocol == "drot"
                                                          else f"{args.protocol}-{protocol.name}"))
    specs, cells = build_specs(protocol, scenes)
    print(f"table1: {protocol.describe()}")
    for s in scenes:
        if not s.found:
            print(f"table1: {s.title}: {s.note}")
    if args.list:
        for key in dict.fromkeys(s.key for s in specs):
            print(key)
        return 0
    from ..sweep import RunStore

    try:
        RunStore(out_dir).check_writable("--out")  # before the first run, which would otherwise be lost
    except ValueError as exc:
        print(f"table1: error: {exc}", file=sys.stderr)
        return 2
    runner = Table1Runner(curve_points=protocol.curve_points)
    t0 = time.perf_counter()
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
                                progress=not args.no_progress, on_record=on_record, executor=executor)
        except KeyboardInterrupt:
            print(f"\ntable1: interrupted; finished runs are kept in {out_dir}/runs.jsonl — "
                  f"run the same command again to finish", file=sys.stderr)
            records = store.records()
            write_outputs(out_dir, protocol, scenes, specs, cells, records, curves=False)
            return 130
        if not executor.in_process:
            print(f"table1: runs on {executor.describe()}")
    written = write_outputs(out_dir, protocol, scenes, specs, cells, records, curves=not args.no_curves)
    print((out_dir / "table1.md").read_text())
    print(f"table1: wrote {', '.join(p.name for p in written)} in {out_dir} ({time.perf_counter() - t0:.0f} s)")
    failed = {s.key: records[s.key] for s in specs if s.key in records and records[s.key].get("status") != "ok"}
    if failed:
        # A sweep with failed runs is not a result: say so in the exit code (CI, scripts), naming why.
        reasons = sorted({str(rec.get("error", "")).splitlines()[0] if rec.get("error") else "unknown error"
                          for rec in failed.values()})
        print(f"table1: {len(failed)} run(s) failed ({'; '.join(reasons)}); the table lacks them "
              f"(--retry-failed reruns them; the optical-flow rows need pip install \"drot[flow]\")", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
