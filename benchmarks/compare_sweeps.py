"""Compare two sweep folders run by run: are the results per run key identical?

    python benchmarks/compare_sweeps.py /tmp/t1_seq /tmp/t1_ray
    python benchmarks/compare_sweeps.py A B --fields vertex_mae,psnr,ssim,parameters --tolerance 1e-6

Reads each folder's runs.jsonl (last record per key wins), and for every key in either compares the
status and the chosen result fields (default: vertex_mae, psnr, ssim, rmse, parameters,
initial_parameters, and the values of the error curves, not their times); timing fields (wall_s,
it_per_s, matching_s, seconds) differ between runs of course and are not compared. Prints one line
per differing key and a summary; exit code 0 when every key is in both with identical results.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

FIELDS = ("vertex_mae", "psnr", "ssim", "rmse", "parameters", "initial_parameters", "curve_values")


def load(folder: str | Path) -> dict[str, dict[str, Any]]:
    path = Path(folder)
    path = path / "runs.jsonl" if path.is_dir() else path
    out: dict[str, dict[str, Any]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            out[rec["key"]] = rec
    return out


def field(rec: dict[str, Any], name: str) -> Any:
    result = rec.get("result") or {}
    if name == "curve_values":  # the curves' error values, without their times
        return {k: [p[1] for p in v] for k, v in (result.get("curves") or {}).items()}
    return result.get(name)


def differs(a: Any, b: Any, tol: float) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() != b.keys() or any(differs(a[k], b[k], tol) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) != len(b) or any(differs(x, y, tol) for x, y in zip(a, b))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        if math.isnan(a) and math.isnan(b):
            return False
        return a != b if tol == 0 else not math.isclose(a, b, rel_tol=tol, abs_tol=tol)
    return a != b


def compare(a: dict[str, dict], b: dict[str, dict], fields=FIELDS, tol: float = 0.0) -> list[str]:
    """One line per key that is missing from one side or whose status or fields differ."""
    problems = []
    for key in sorted(set(a) | set(b)):
        if key not in a or key not in b:
            problems.append(f"{key}: only in {'first' if key in a else 'second'}")
            continue
        ra, rb = a[key], b[key]
        if ra.get("status") != rb.get("status"):
            problems.append(f"{key}: status {ra.get('status')} vs {rb.get('status')}")
            continue
        bad = [f for f in fields if differs(field(ra, f), field(rb, f), tol)]
        if bad:
            problems.append(f"{key}: differs in {', '.join(bad)}"
                            + "".join(f"; {f}: {field(ra, f)} vs {field(rb, f)}"
                                      for f in bad if not isinstance(field(ra, f), (dict, list))))
    return problems


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("first")
    p.add_argument("second")
    p.add_argument("--fields", default=",".join(FIELDS), help="result fields to compare (curve_values: the curves' values)")
    p.add_argument("--tolerance", type=float, default=0.0, help="relative and absolute tolerance (0: bit-identical)")
    args = p.parse_args(argv)
    a, b = load(args.first), load(args.second)
    problems = compare(a, b, [f for f in args.fields.split(",") if f], args.tolerance)
    for line in problems:
        print(line)
    seconds = [sum(r.get("seconds", 0.0) for r in side.values()) for side in (a, b)]
    print(f"{len(set(a) | set(b))} keys, {len(set(a) & set(b))} in both, {len(problems)} differing; "
          f"summed run seconds {seconds[0]:.0f} vs {seconds[1]:.0f}")
    print("identical results per run key" if not problems else "NOT identical")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
