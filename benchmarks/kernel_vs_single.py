"""One matching through the batched Sinkhorn kernel (a batch of one) vs the single-problem solver it
replaced (issue 18): ``python benchmarks/kernel_vs_single.py --old PATH`` where PATH is a source
checkout of drot before the change (e.g. ``git archive 20c75b4 | tar -x -C /tmp/base``).

Both are timed in one process, interleaved (old, new, old, new, ...), on the full-image point sets
of ``benchmarks/matching_speed.py`` at 64² and 128²; it prints the median seconds, the ratio
old / new (the new kernel's speed relative to the old solver) and the largest target difference.
"""
from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from matching_speed import image_pair  # noqa: E402

from drot.matching import SinkhornMatcher  # noqa: E402


def _old_matcher(path: Path):
    """The SinkhornMatcher class of the old checkout, loaded under another package name."""
    spec = importlib.util.spec_from_file_location("drot_old", path / "drot" / "__init__.py",
                                                  submodule_search_locations=[str(path / "drot")])
    module = importlib.util.module_from_spec(spec)
    sys.modules["drot_old"] = module
    spec.loader.exec_module(module)
    return (importlib.import_module("drot_old.matching.sinkhorn").SinkhornMatcher,
            importlib.import_module("drot_old.matching.base").PointSet)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--old", required=True, type=Path, help="source checkout of drot before the change")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--sizes", default="64,128")
    args = ap.parse_args(argv)
    Old, OldPointSet = _old_matcher(args.old)
    print("| case | old single solver (s) | batched kernel, S = 1 (s) | speed new/old | max abs target diff |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for res in (int(r) for r in args.sizes.split(",")):
        source, target = image_pair(res, "include")
        old, new = Old(), SinkhornMatcher()
        to, tn = [], []
        old_pair = [OldPointSet(p.points, p.weights) for p in (source, target)]
        a, b = old.match(*old_pair), new.match(source, target)  # warm-up
        for _ in range(args.repeats):
            t0 = time.perf_counter(); a = old.match(*old_pair); to.append(time.perf_counter() - t0)
            t0 = time.perf_counter(); b = new.match(source, target); tn.append(time.perf_counter() - t0)
        mo, mn = statistics.median(to), statistics.median(tn)
        diff = float((a.targets - b.targets).abs().max())
        print(f"| {res}² include ({len(source)} x {len(target)}) | {mo:.3f} | {mn:.3f} | {mo / mn:.2f} | {diff:.1e} |",
              flush=True)


if __name__ == "__main__":
    main()
