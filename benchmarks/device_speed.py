"""The GPU path's figures on any device: optimisation speed, one matching, the frozen-barycentrics op.

    python benchmarks/device_speed.py --device cuda          # the issue-3 figures on a GPU
    python benchmarks/device_speed.py                        # the same on the CPU (fewer iterations)
    python benchmarks/device_speed.py --json speed.json      # the tables also as JSON (benchmarks/gpu_check.sh)

Prints three tables (KITTY cat, 7280 triangles, 6 views; backend "auto": nvdiffrast on CUDA when
installed, else the PyTorch backend):

1. **iterations per second** of DROT-hybrid and of the L2 baseline (standard derivatives) at
   128² and 512², from the same start (``--iterations`` each, after a short warm-up run);
2. **one matching** (Sinkhorn, λ 0.5, blur 0.01, scaling 0.5) between a render and a target at
   128², 256², 512²: with every pixel a point (the paper's setting, "all pixels") and with the
   foreground pixels only (drot's default when the target mask is known, "foreground"), with the
   solver ``auto`` picks, and all pixels with the multiscale sparse solver ("all pixels, multiscale");
3. **the frozen-barycentrics op** (``drot._C``) vs its PyTorch reference, forward + backward of
   one 6-view batch, milliseconds.

Paper (RTX 3090): one matching 0.05 s / 0.43 s / 5.72 s at 128² / 256² / 512²; hybrid 74 it/s and
the baseline 173 it/s averaged over its scenes. drot's H100 targets: ≥ 300 it/s DROT-hybrid on KITTY
128², one 128² matching ≤ 10 ms, one 512² matching ≤ 0.5 s.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

import drot
from drot import report
from drot.render import extension
from drot.matching.pixels import image_points
from drot.matching.sinkhorn import SinkhornMatcher
from drot.render.proxies import freeze_surface_points
from drot.render.backend import get_backend
from drot.render.renderer import render, surface_attributes
from timing import timed

START = [0.45, -0.35, 0.3]  # a far start (translation), the same for every method


def optimisation_speed(args, backend_name: str) -> list[dict]:
    rows = []
    for res in args.opt_resolutions:
        scene = drot.load_scene("kitty", resolution=res)
        for strategy in ("hybrid", "standard"):
            common = dict(strategy=strategy, device=args.device, backend=backend_name, seed=0,
                          initial={"translation": torch.tensor(START)})
            drot.optimize(scene, iterations=min(20, args.iterations), **common)  # warm-up: caches, kernels
            result = drot.optimize(scene, iterations=args.iterations, **common)
            rows.append({"resolution": f"{res}²", "method": "DROT-hybrid" if strategy == "hybrid" else "L2 baseline",
                         "iterations": args.iterations, "it_per_s": result.iterations_per_second,
                         "vertex_mae": result.vertex_mae})
    return rows


def matching_speed(args, backend) -> list[dict]:
    rows = []
    matchers = {solver: SinkhornMatcher(lam=0.5, blur=0.01, scaling=0.5, solver=solver)
                for solver in ("auto", "multiscale")}
    for res in args.match_resolutions:
        scene = drot.load_scene("kitty", resolution=res)
        frames = []
        for t in ([0.0, 0.0, 0.0], [0.25, -0.2, 0.1]):
            with torch.no_grad():
                state = scene.evaluate({"translation": torch.tensor(t, device=args.device)}, args.device)
                frames.append(render(state, [0], scene.resolution, backend))
        target, source = frames
        for label, background, solver in (("all pixels", "include", "auto"), ("foreground", "exclude", "auto"),
                                          ("all pixels, multiscale", "include", "multiscale")):
            matcher = matchers[solver]
            src, _ = image_points(source.image[0], source.mask[0], background=background, pool=1)
            tgt, _ = image_points(target.image[0], target.mask[0], background=background, pool=1)
            # The cap keeps the dense solver's O(N·M) runs affordable; the multiscale one is O(N·k).
            if solver != "multiscale" and args.max_points_side and \
                    max(len(src.points), len(tgt.points)) > args.max_points_side:
                rows.append({"resolution": f"{res}²", "point sets": label, "N": len(src.points), "M": len(tgt.points),
                             "ms": float("nan")})
                continue
            ms = timed(lambda: matcher.match(src, tgt), args.repeats, args.device)
            rows.append({"resolution": f"{res}²", "point sets": label, "N": len(src.points), "M": len(tgt.points),
                         "ms": ms})
    return rows


def op_speed(args, backend) -> list[dict]:
    rows = []
    implementations = ["reference"] + (["op"] if extension.op_supports(torch.device(args.device)) else [])
    for res in args.op_resolutions:
        scene = drot.load_scene("kitty", resolution=res)
        views = torch.arange(scene.num_views, device=args.device)
        state = scene.evaluate({"translation": torch.tensor([0.1, -0.1, 0.05], device=args.device)}, args.device)
        clip0 = state.clip_positions(views).detach()
        attrs0 = surface_attributes(state).detach()
        rast = backend.rasterize(clip0, state.faces, scene.resolution).detach()
        row = {"resolution": f"{res}²", "proxies": int((rast[..., 3] > 0).sum())}
        for impl in implementations:
            clip = clip0.clone().requires_grad_()
            attrs = attrs0.clone().requires_grad_()

            def step():
                _, xy, values = freeze_surface_points(rast, state.faces, clip, attrs, implementation=impl)
                (xy.square().sum() + values.square().sum()).backward()

            row[f"{impl}_ms"] = timed(step, args.repeats, args.device)
        if "op_ms" in row:
            row["speed-up"] = row["reference_ms"] / row["op_ms"]
        rows.append(row)
    if len(implementations) == 1:
        print(f"(drot._C not usable on {args.device}: {extension.extension_status().reason}; reference only)")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--backend", default="auto", help="rendering backend (auto, nvdiffrast, torch)")
    ap.add_argument("--iterations", type=int, default=None, help="iterations per timed run (default: 500 on CUDA, 60 on CPU)")
    ap.add_argument("--repeats", type=int, default=None, help="timed repeats (default: 20 on CUDA, 3 on CPU)")
    ap.add_argument("--opt-resolutions", default="128,512")
    ap.add_argument("--match-resolutions", default="128,256,512")
    ap.add_argument("--op-resolutions", default="128,512")
    ap.add_argument("--max-points-side", type=int, default=None,
                    help="skip matchings with more points per side (default: none on CUDA, 20000 on CPU)")
    ap.add_argument("--skip", default="", help="comma-separated sections to skip: optimize, matching, op")
    ap.add_argument("--json", type=Path, default=None,
                    help="also write the three tables to this JSON file (rewritten after each section)")
    args = ap.parse_args()
    cuda = args.device.startswith("cuda")
    args.iterations = args.iterations or (500 if cuda else 60)
    args.repeats = args.repeats or (20 if cuda else 3)
    args.max_points_side = args.max_points_side if args.max_points_side is not None else (None if cuda else 20000)
    args.opt_resolutions = [int(r) for r in args.opt_resolutions.split(",") if r]
    args.match_resolutions = [int(r) for r in args.match_resolutions.split(",") if r]
    args.op_resolutions = [int(r) for r in args.op_resolutions.split(",") if r]
    skip = set(args.skip.split(","))
    backend = get_backend(args.backend, args.device)
    device_name = torch.cuda.get_device_name(args.device) if cuda else "CPU"
    print(f"device {args.device} ({device_name}), rendering backend {backend.name}, torch {torch.__version__}, "
          f"drot._C: {extension.extension_status().reason}")
    found = {"device": args.device, "device_name": device_name, "backend": backend.name, "torch": torch.__version__,
             "extension": extension.extension_status().reason, "iterations": args.iterations, "repeats": args.repeats}

    def keep(section: str, rows: list[dict]) -> list[dict]:
        found[section] = rows
        if args.json:
            args.json.write_text(json.dumps(found, indent=1, default=float) + "\n")
        return rows

    fmt = {"it_per_s": ".1f", "vertex_mae": ".4f", "ms": ".1f", "reference_ms": ".2f", "op_ms": ".2f", "speed-up": ".1f"}
    if "optimize" not in skip:
        print("\n1. optimisation speed (KITTY, 6 views, one view per iteration)")
        print(report.format_table(rows := keep("optimize", optimisation_speed(args, args.backend)), list(rows[0]), fmt))
    if "matching" not in skip:
        print("\n2. one matching, Sinkhorn λ 0.5 blur 0.01 scaling 0.5 (median ms)")
        print(report.format_table(rows := keep("matching", matching_speed(args, backend)), list(rows[0]), fmt))
    if "op" not in skip:
        print("\n3. frozen-barycentrics op, forward + backward of 6 views (median ms)")
        rows = keep("op", op_speed(args, backend))
        print(report.format_table(rows, list(dict.fromkeys(k for r in rows for k in r)), fmt))


if __name__ == "__main__":
    main()
