"""The steps of ``benchmarks/gpu_check.sh`` that are Python, and the figures read back from its logs.

    python3 benchmarks/gpu_check_steps.py env --device cuda
    python3 benchmarks/gpu_check_steps.py install --wheels wheels/gpu [--site DIR] [--dry-run]
    python3 benchmarks/gpu_check_steps.py backends --device cuda
    python3 benchmarks/gpu_check_steps.py multistart --device cuda --out DIR [--dry-run]
    python3 benchmarks/gpu_check_steps.py figures STEP --out DIR      # one line: the step's key figures
    python3 benchmarks/gpu_check_steps.py targets --out DIR [--dry-run]   # figures vs the targets (markdown)

Exit codes: 0 done, 1 failed, 3 skipped (the reason is the last line printed).
Only the standard library at import time: ``env`` and ``install`` run before drot's needs are checked.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import json
import math
import shutil
import subprocess
import sys
import traceback
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKIPPED = 3

#: drot's runtime needs (pyproject's dependencies) and the test tools the check uses: (distribution, module).
NEEDS = [("torch", "torch"), ("numpy", "numpy"), ("scipy", "scipy"), ("imageio", "imageio"),
         ("matplotlib", "matplotlib"), ("tqdm", "tqdm"), ("geomloss", "geomloss"), ("trimesh", "trimesh"),
         ("pytest", "pytest"), ("hypothesis", "hypothesis")]
OPTIONAL = [("diffrp-nvdiffrast", "nvdiffrast"), ("opencv-python-headless", "cv2"), ("cmake", None), ("ninja", None)]

#: Multi-start throughput: the starts and resolution of the real check, and tiny ones for --dry-run.
MULTISTART = {"starts": "1,8,64", "resolution": "128", "iterations": "200"}
MULTISTART_DRY = {"starts": "1,2", "resolution": "16", "iterations": "5"}

#: The targets (CONTRIBUTING.md, benchmarks/device_speed.py): KITTY, 6 views.
HYBRID_IT_S = 300.0      # DROT-hybrid iterations per second at 128², at least
MATCH_128_MS = 10.0      # one 128² matching (all pixels), at most
MATCH_512_MS = 500.0     # one 512² matching (all pixels), at most


def version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def command_output(argv: list[str]) -> str:
    if shutil.which(argv[0]) is None:
        return f"{argv[0]}: not found"
    try:
        run = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{argv[0]}: {exc}"
    return (run.stdout + run.stderr).strip() or f"{argv[0]}: exit {run.returncode}, no output"


# ---------------------------------------------------------------------------------------- steps
def step_env(args) -> int:
    print(f"python {sys.version.split()[0]} at {sys.executable}")
    for argv in (["nvidia-smi"], ["nvcc", "--version"], ["cmake", "--version"], ["ninja", "--version"]):
        print(f"\n$ {' '.join(argv)}\n{command_output(argv)}")
    print("\npackages:")
    for dist, _ in NEEDS + OPTIONAL:
        print(f"  {dist:<24} {version(dist) or 'missing'}")
    import torch
    cuda = torch.cuda.is_available()
    print(f"\ntorch {torch.__version__}, built with CUDA {torch.version.cuda}, cuDNN "
          f"{torch.backends.cudnn.version() if cuda else None}, CUDA available: {cuda}")
    if cuda:
        for i in range(torch.cuda.device_count()):
            p = torch.cuda.get_device_properties(i)
            print(f"  cuda:{i} {p.name}, compute capability {p.major}.{p.minor}, {p.multi_processor_count} SMs, "
                  f"{p.total_memory / 2**30:.0f} GiB")
    name = torch.cuda.get_device_name(0) if cuda else "no CUDA device"
    print(f"FIGURES: {name}; torch {torch.__version__} (CUDA {torch.version.cuda}); "
          f"Python {sys.version.split()[0]}")
    if args.device.startswith("cuda") and not cuda:
        print("no CUDA device visible to torch: run `bash benchmarks/gpu_check.sh --dry-run` on a CPU machine")
        return 1
    return 0


def requirements(wheels: Path) -> list[str]:
    manifest = wheels / "requirements.txt"
    return [line.strip() for line in manifest.read_text().splitlines() if line.strip() and not line.startswith("#")]


def step_install(args) -> int:
    wheels = Path(args.wheels)
    have = wheels.is_dir() and (wheels / "requirements.txt").is_file()
    wanted = requirements(wheels) if have else []
    missing = [req for req in wanted if version(req.split("==")[0]) is None]
    for req in wanted:
        name = req.split("==")[0]
        print(f"  {req:<32} installed: {version(name) or 'no'}")
    pip = [sys.executable, "-m", "pip", "install", "--no-index", "--no-deps", "--no-cache-dir", "--no-compile",
           "--find-links", str(wheels)]
    if args.dry_run:
        if not have:
            print(f"skipped: no wheels folder {wheels}/ with requirements.txt (benchmarks/prepare_gpu_check.sh makes it)")
            return SKIPPED
        # Resolve every wheel from the folder alone, as the GPU machine would, without installing anything.
        run = subprocess.run(pip + ["--dry-run", "--ignore-installed"] + wanted)
        if run.returncode != 0:
            return 1
        print(f"FIGURES: dry run: the {len(wanted)} wheels in {wheels}/ resolve offline; "
              f"missing here: {', '.join(missing) or 'none'}")
        return 0
    if missing and not have:
        print(f"missing {', '.join(missing)} and no wheels folder {wheels}/: run benchmarks/prepare_gpu_check.sh "
              "on a machine with a registry and bring the folder")
        return 1
    if missing:
        print("$ " + " ".join(pip + missing), flush=True)
        if subprocess.run(pip + missing).returncode != 0:
            print(f"installing into the environment failed; into {args.site} (added to PYTHONPATH by the check)",
                  flush=True)
            if subprocess.run(pip + ["--target", args.site] + missing).returncode != 0:
                return 1
            sys.path.insert(0, args.site)
            importlib.invalidate_caches()
    bad = []
    for dist, module in NEEDS + [("diffrp-nvdiffrast", "nvdiffrast.torch")]:
        try:
            __import__(module)
        except Exception as exc:  # noqa: BLE001 - any import failure is the finding
            bad.append(f"{module} ({type(exc).__name__}: {exc})")
    print("imports: " + ("all ok" if not bad else "FAILED " + "; ".join(bad)))
    print(f"FIGURES: installed {', '.join(missing) or 'nothing (all present)'}"
          + (f"; cannot import {', '.join(b.split()[0] for b in bad)}" if bad else ""))
    return 1 if bad else 0


def step_backends(args) -> int:
    import torch

    import drot
    from drot.render import extension
    status = extension.extension_status()
    print(f"drot._C: {status.reason} (CUDA kernels: {'yes' if status.with_cuda else 'no'})")
    nvdiffrast_ok, reason = False, "not tried (CPU)"
    if args.device.startswith("cuda"):
        # Builds nvdiffrast's plugin (nvcc + ninja, cached under TORCH_EXTENSIONS_DIR) here, with the full
        # compiler output on failure, so that later steps find it built and their timings exclude it.
        try:
            import nvdiffrast.torch as dr
            dr.RasterizeCudaContext(device=torch.device(args.device))
            nvdiffrast_ok, reason = True, "plugin built and loaded"
        except Exception:  # noqa: BLE001 - the traceback (with the compiler's output) is the finding
            traceback.print_exc()
            reason = traceback.format_exc().strip().splitlines()[-1][:200]
    print(f"nvdiffrast: {reason}")
    for s in drot.backend_status(args.device):
        print(f"  backend {s.name:<11} on {args.device}: {'available' if s.available else 'unavailable'} ({s.reason})")
    print(f"FIGURES: drot._C CUDA kernels {'yes' if status.with_cuda else 'no'}; nvdiffrast "
          f"{'ok' if nvdiffrast_ok else 'unavailable: ' + reason}")
    return 0 if nvdiffrast_ok or not args.device.startswith("cuda") else 1


def multistart_probe() -> str | None:
    """What drot offers for batched multi-start, or None."""
    import inspect

    import drot
    from drot.optim.settings import DEFAULTS
    if "starts" in inspect.signature(drot.optimize).parameters:
        return "drot.optimize(..., starts=)"
    if "starts" in DEFAULTS:
        return "OptimizeSettings(starts=)"
    return None


def step_multistart(args) -> int:
    """Runs benchmarks/multistart_speed.py (batched multi-start vs sequential starts):
    ``--device D --starts 1,8,64 --resolution 128 --iterations N --json FILE``."""
    found = multistart_probe()
    script = ROOT / "benchmarks" / "multistart_speed.py"
    print(f"batched multi-start in drot: {found or 'no (drot.optimize and OptimizeSettings take no starts)'}")
    print(f"benchmarks/multistart_speed.py: {'present' if script.is_file() else 'absent'}")
    if not script.is_file():
        print("skipped: batched multi-start not implemented yet" if found is None else
              f"skipped: {found} exists but benchmarks/multistart_speed.py does not")
        return SKIPPED
    sizes = MULTISTART_DRY if args.dry_run else MULTISTART
    argv = [sys.executable, str(script), "--device", args.device, "--json", str(Path(args.out) / "multistart.json")]
    for key, value in sizes.items():
        argv += [f"--{key}", value]
    print("$ " + " ".join(argv), flush=True)
    return subprocess.run(argv).returncode


# ------------------------------------------------------------------------------------- figures
def _load_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _figures_line(log: Path) -> str:
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    tagged = [ln[len("FIGURES: "):] for ln in lines if ln.startswith("FIGURES: ")]
    if tagged:
        return tagged[-1]
    skipped = [ln for ln in lines if ln.startswith("skipped: ")]
    return skipped[-1] if skipped else (lines[-1][:160] if lines else "")


def pytest_outcomes(out: Path) -> dict[str, str]:
    """test id -> passed / failed / skipped / error, from pytest.xml."""
    try:
        tree = ET.parse(out / "pytest.xml")
    except (OSError, ET.ParseError):
        return {}
    outcomes = {}
    for case in tree.iter("testcase"):
        name = f"{case.get('classname', '').split('.')[-1]}::{case.get('name')}"
        tags = {child.tag for child in case}
        outcomes[name] = ("failed" if "failure" in tags else "error" if "error" in tags
                          else "skipped" if "skipped" in tags else "passed")
    return outcomes


def _count(outcomes: dict[str, str], prefix: str) -> str:
    picked = {k: v for k, v in outcomes.items() if prefix in k}
    if not picked:
        return "not run"
    counts = {s: sum(v == s for v in picked.values()) for s in ("passed", "failed", "error", "skipped")}
    return ", ".join(f"{n} {s}" for s, n in counts.items() if n)


def speed_rows(out: Path) -> dict:
    data = _load_json(out / "device_speed.json") or {}
    it_s = {(r["method"], r["resolution"]): r["it_per_s"] for r in data.get("optimize", [])}
    match = {(r["point sets"], r["resolution"]): r["ms"] for r in data.get("matching", [])}
    op = {r["resolution"]: r for r in data.get("op", [])}
    return {"it_s": it_s, "match": match, "op": op, "data": data}


def bench_summary(out: Path) -> dict:
    data = _load_json(out / "kitty" / "results.json") or {}
    return {row["method"]: row for row in data.get("summary", [])} | {"_": data}


def figures(step: str, out: Path) -> str:
    if step in ("env", "install", "backends", "multistart", "targets"):
        line = _figures_line(out / f"{step}.log")
        data = _load_json(out / "multistart.json") if step == "multistart" else None
        return line if not data else f"{line}; {json.dumps(data)[:200]}"
    if step == "build":
        line = _figures_line(out / "build.log")
        return line.replace("drot.build_extension: ", "")
    if step == "pytest":
        outcomes = pytest_outcomes(out)
        if not outcomes:
            return _figures_line(out / "pytest.log")
        return (f"{_count(outcomes, '')}; CUDA op parity: {_count(outcomes, 'test_cuda_op_')}; "
                f"nvdiffrast parity: {_count(outcomes, 'matches_nvdiffrast')}; "
                f"CPU op parity: {_count(outcomes, 'test_op_matches_reference')}")
    if step == "device_speed":
        s = speed_rows(out)
        parts = [f"{m.split()[0]} {r}: {v:.1f} it/s" for (m, r), v in s["it_s"].items()]
        parts += [f"matching {r} {p}: {v:.1f} ms" for (p, r), v in s["match"].items() if p.startswith("all pixels")]
        parts += [f"op {r}: {row.get('op_ms', math.nan):.2f} ms vs ref {row['reference_ms']:.2f} ms"
                  for r, row in s["op"].items()]
        return "; ".join(parts) or _figures_line(out / "device_speed.log")
    if step == "bench":
        b = bench_summary(out)
        data = b.pop("_")
        parts = [f"{m}: {r['runs']} runs, {r['it_per_s']:.1f} it/s, mean MAE {r['mean_mae']:.4f}, success {r['success']}"
                 for m, r in b.items()]
        if data and not data.get("complete", True):
            parts.append(f"incomplete: {data.get('finished')} of {data.get('requested')} runs")
        return "; ".join(parts) or _figures_line(out / "bench.log")
    return _figures_line(out / f"{step}.log")


# ------------------------------------------------------------------------------------- targets
def targets(out: Path, dry_run: bool) -> str:
    s, b, outcomes = speed_rows(out), bench_summary(out), pytest_outcomes(out)
    b.pop("_")

    def judge(value: float | None, limit: float, at_least: bool) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "not measured"
        if dry_run:
            return "dry run (CPU, tiny sizes: not comparable)"
        return "met" if (value >= limit if at_least else value <= limit) else "MISSED"

    def parity(prefix: str) -> str:
        counted = _count(outcomes, prefix)
        if counted == "not run":
            return "not run"
        if "failed" in counted or "error" in counted:
            return "FAILED"
        return "met" if "passed" in counted else "skipped (no CUDA / not available)"

    hybrid_speed = s["it_s"].get(("DROT-hybrid", "128²"))
    hybrid_bench = (b.get("DROT-hybrid") or {}).get("it_per_s")
    m128, m512 = s["match"].get(("all pixels", "128²")), s["match"].get(("all pixels", "512²"))
    fmt = lambda v, unit: "n/a" if v is None else f"{v:.1f} {unit}"  # noqa: E731
    rows = [
        ("KITTY DROT-hybrid at 128² ≥ 300 it/s (device_speed)", fmt(hybrid_speed, "it/s"),
         judge(hybrid_speed, HYBRID_IT_S, True)),
        ("KITTY DROT-hybrid at 128² ≥ 300 it/s (drot-bench, mean of runs)", fmt(hybrid_bench, "it/s"),
         judge(hybrid_bench, HYBRID_IT_S, True)),
        ("one 128² matching (all pixels) ≤ 10 ms", fmt(m128, "ms"), judge(m128, MATCH_128_MS, False)),
        ("one 512² matching (all pixels) ≤ 0.5 s", fmt(m512, "ms"), judge(m512, MATCH_512_MS, False)),
        ("CUDA op parity (test_cuda_op_*)", _count(outcomes, "test_cuda_op_"), parity("test_cuda_op_")),
        ("nvdiffrast parity (test_torch_backend_matches_nvdiffrast)", _count(outcomes, "matches_nvdiffrast"),
         parity("matches_nvdiffrast")),
        ("CPU op parity (test_op_matches_reference_*)", _count(outcomes, "test_op_matches_reference"),
         parity("test_op_matches_reference")),
    ]
    lines = ["", "## Targets", "", "| target | measured | verdict |", "| --- | --- | --- |"]
    lines += [f"| {a} | {m} | {v} |" for a, m, v in rows]
    kinds = {"met": "met", "MISSED": "MISSED", "FAILED": "FAILED"}
    verdicts = [kinds.get(v, "not checked") for _, _, v in rows]
    tally = ", ".join(f"{verdicts.count(v)} {v}" for v in dict.fromkeys(verdicts))
    return "\n".join(lines) + "\n", tally


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="step", required=True)
    for name in ("env", "backends"):
        sub.add_parser(name).add_argument("--device", default="cuda")
    p = sub.add_parser("install")
    p.add_argument("--wheels", default="wheels/gpu")
    p.add_argument("--site", default=str(Path("/tmp") / "drot-gpu-check-site"))
    p.add_argument("--dry-run", action="store_true")
    p = sub.add_parser("multistart")
    p.add_argument("--device", default="cuda")
    p.add_argument("--out", required=True)
    p.add_argument("--dry-run", action="store_true")
    p = sub.add_parser("figures")
    p.add_argument("name")
    p.add_argument("--out", required=True)
    p = sub.add_parser("targets")
    p.add_argument("--out", required=True)
    p.add_argument("--dry-run", action="store_true")
    args = ap.parse_args(argv)
    if args.step == "figures":
        try:
            print(figures(args.name, Path(args.out)).replace("|", "/"))
        except Exception as exc:  # noqa: BLE001 - a summary line must never stop the check
            print(f"(figures unreadable: {type(exc).__name__}: {exc})")
        return 0
    if args.step == "targets":
        text, tally = targets(Path(args.out), args.dry_run)
        (Path(args.out) / "targets.md").write_text(text)
        print(text)
        print(f"FIGURES: {tally}")
        return 0
    return {"env": step_env, "install": step_install, "backends": step_backends,
            "multistart": step_multistart}[args.step](args)


if __name__ == "__main__":
    sys.exit(main())
