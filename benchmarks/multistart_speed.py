"""Cost of batched multi-start: S starts as one batch vs the same S starts run one after another.

    PYTHONPATH=. python benchmarks/multistart_speed.py                     # 64² and 128², S = 1, 4, 8, 16 (CPU)
    python benchmarks/multistart_speed.py --device cuda --starts 1,8,64 --resolution 128 --iterations 200 --json F

Scene: the paper's BUDDHA protocol (Euler rotation, 6 views), DROT-hybrid. For each S and resolution,
in one process and back to back:

* ``sequential``: S single runs, from the S start values of the batch (``drot.optimize(...,
  initial=...)``), one after another;
* ``batched``: one ``drot.optimize(..., starts=S, halving_interval=0)`` — every start runs every
  iteration, the same work as ``sequential``;
* ``halving``: one ``drot.optimize(..., starts=S)`` with the default successive halving.

It prints the seconds and the ratios batched / sequential and halving / (one single run); ``--json``
writes them. Timings include everything a run does (matching, renders, records).
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

import drot
from drot.optim.starts import start_set


def _time(fn) -> float:
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def measure(scene_name: str, resolution: int, starts: int, iterations: int, device: str, seed: int,
            repeats: int = 1) -> dict:
    scene = drot.load_scene(scene_name, resolution=resolution)
    settings = drot.OptimizeSettings(iterations=iterations, seed=seed, device=device)
    values = start_set(scene, seed, starts)
    drot.optimize(scene, settings=settings, iterations=3, starts=2)  # warm-up (first calls, allocator)
    times: dict[str, list[float]] = {"sequential": [], "batched": [], "halving": []}
    for _ in range(repeats):  # interleaved, so a passing load spike hits every kind alike; medians below
        times["sequential"].append(_time(lambda: [drot.optimize(scene, settings=settings, initial=v) for v in values]))
        if starts > 1:
            times["batched"].append(_time(lambda: drot.optimize(scene, settings=settings, starts=starts,
                                                                halving_interval=0.0)))
            times["halving"].append(_time(lambda: drot.optimize(scene, settings=settings, starts=starts)))
    sequential = statistics.median(times["sequential"])
    single = sequential / starts
    if starts == 1:
        return {"resolution": resolution, "starts": 1, "sequential_s": sequential, "batched_s": sequential,
                "halving_s": sequential, "batched_over_sequential": 1.0, "halving_over_single": 1.0}
    batched, halving = statistics.median(times["batched"]), statistics.median(times["halving"])
    return {"resolution": resolution, "starts": starts, "sequential_s": sequential, "batched_s": batched,
            "halving_s": halving, "batched_over_sequential": batched / sequential, "halving_over_single": halving / single}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scene", default="paper/buddha")
    ap.add_argument("--starts", default="1,4,8,16", help="comma-separated numbers of starts")
    ap.add_argument("--resolution", default="64,128", help="comma-separated resolutions")
    ap.add_argument("--iterations", type=int, default=100)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=3, help="interleaved repetitions; the medians are reported")
    ap.add_argument("--json", default=None, help="write the figures to this file")
    args = ap.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        ap.error("--device cuda but CUDA is not available")
    rows = []
    print("| resolution | starts | S sequential runs (s) | one batch of S (s) | batch / sequential | "
          "with halving (s) | halving / one run |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for res in (int(r) for r in args.resolution.split(",")):
        for s in (int(x) for x in args.starts.split(",")):
            row = measure(args.scene, res, s, args.iterations, args.device, args.seed, args.repeats)
            rows.append(row)
            print(f"| {res}² | {s} | {row['sequential_s']:.2f} | {row['batched_s']:.2f} | "
                  f"{row['batched_over_sequential']:.2f} | {row['halving_s']:.2f} | {row['halving_over_single']:.2f} |",
                  flush=True)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        with open(args.json, "w") as fh:
            json.dump({"scene": args.scene, "iterations": args.iterations, "device": args.device,
                       "threads": torch.get_num_threads(), "rows": rows}, fh, indent=1)
    print("FIGURES: " + "; ".join(f"{r['resolution']}² S={r['starts']}: batch/seq {r['batched_over_sequential']:.2f}, "
                                  f"halving/single {r['halving_over_single']:.2f}" for r in rows if r["starts"] > 1))


if __name__ == "__main__":
    main()
