"""What one iteration of drot.optimize costs: scene evaluations per RGBXY / standard iteration, and
the it/s of DROT-hybrid on KITTY (the architecture issue's before/after figures).

    OMP_NUM_THREADS=2 python benchmarks/loop_cost.py                 # 128², 400 iterations, 3 seeds

Evaluations are counted by wrapping ``Scene.evaluate`` (and ``Scene.world_vertices``, a
geometry-only evaluation); the per-iteration figure is the difference between a 60- and a
30-iteration run divided by 30, so the set-up (target, start, final renders) drops out. It uses
only ``drot.load_scene``, ``drot.optimize`` and ``drot.Scene``, so the same file measures an
older checkout (``PYTHONPATH=<checkout> python benchmarks/loop_cost.py``).
"""
from __future__ import annotations

import argparse
import collections
import json
import statistics

import drot

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--resolution", type=int, default=128)
parser.add_argument("--iterations", type=int, default=400, help="iterations of each timed hybrid run")
parser.add_argument("--seeds", type=int, default=3)
parser.add_argument("--json", default=None, help="also write the figures to this file")
args = parser.parse_args()

counts: collections.Counter = collections.Counter()
originals = {name: getattr(drot.Scene, name) for name in ("evaluate", "world_vertices") if hasattr(drot.Scene, name)}


def counting(name):
    def wrapper(self, *a, **kw):
        counts[name] += 1
        return originals[name](self, *a, **kw)
    return wrapper


scene = drot.load_scene("kitty", resolution=args.resolution)
figures: dict = {}
for name in originals:
    setattr(drot.Scene, name, counting(name))
for strategy, mode in (("basic", "RGBXY"), ("standard", "standard")):
    runs = {}
    for n in (30, 60):
        counts.clear()
        drot.optimize(scene, strategy=strategy, iterations=n, seed=0)
        runs[n] = sum(counts.values())
    per_iteration = (runs[60] - runs[30]) / 30
    figures[f"evaluations_per_{mode}_iteration"] = per_iteration
    print(f"scene evaluations per {mode} iteration: {per_iteration:.3f} (set-up and final: {runs[30] - 30 * per_iteration:.0f})")
for name, fn in originals.items():
    setattr(drot.Scene, name, fn)

rates = [drot.optimize(scene, strategy="hybrid", iterations=args.iterations, seed=s).iterations_per_second
         for s in range(args.seeds)]
figures["hybrid_it_per_s"] = rates
print(f"KITTY hybrid {args.resolution}², {args.iterations} it.: " + ", ".join(f"{r:.1f}" for r in rates)
      + f" it/s (median {statistics.median(rates):.1f})")
if args.json:
    with open(args.json, "w") as f:
        json.dump(figures, f, indent=1)
