"""Accessory warps (the try-on setting of Gou et al. §3): recover the four corners of an accessory's
perspective warp onto a portrait, DROT-hybrid vs per-pixel L2, from seeded starts.

    OMP_NUM_THREADS=1 python benchmarks/accessory_warps.py              # 12 instances, ~3 min on a 2-core CPU
    OMP_NUM_THREADS=1 python benchmarks/accessory_warps.py --repeats 2  # 24 instances (two draws per start type)
    python benchmarks/accessory_warps.py --help

Protocol: a 64 x 64 generated portrait, three generated accessories (glasses 24 x 8, hat 26 x 14,
tie 10 x 22) at their target placements (drot.apps.accessory_assets.TARGET_PLACEMENTS), and per
accessory four start types, each drawn from its own seed:

* ``far``        — the accessory at its own size, translated so that it does not overlap the target at all;
* ``far+sim``    — translated as far (no overlap), plus a scale in [0.8, 1.2] and a rotation of up to ±15°;
* ``scale+rot``  — near the target (≤ 3 px), scaled by 0.7–0.85 or 1.15–1.3 and rotated by 10–25°;
* ``perspective``— the target corners each moved by up to ±4 px plus a random perspective tilt.

Both methods run drot.apps.accessory.fit_accessory with the same settings (FitSettings): stage 1
recovers the pose (position, scale, rotation; 200 iterations) by the method — DROT-hybrid: RGBXY
derivatives + optimal transport for 75 %, then per-pixel L2; L2: standard derivatives throughout —
and stage 2 the full perspective warp (200 iterations of per-pixel L2) from there, for both.
``--one-stage`` adds the ablation: DROT-hybrid on all eight warp modes at once (400 iterations).
Success: Disp ≤ 0.02 (mean corner distance / canvas size) and mask IoU ≥ 0.85.
Prints one row per instance and a summary; ``--out DIR`` also writes results.json and results.csv.
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import os
import sys
import time

import numpy as np
import torch

from drot import report
from drot import optimize
from drot.apps.accessory import (DISP_THRESHOLD, IOU_THRESHOLD, FitSettings, Placement, accessory_mask,
                                 accessory_scene, corner_displacement, fit_accessory, mask_iou, pixels_to_canvas,
                                 scene_corners)
from drot.apps.accessory_assets import ACCESSORY_KINDS, accessory_image, portrait, target_placement

START_TYPES = ("far", "far+sim", "scale+rot", "perspective")
NON_OVERLAPPING = ("far", "far+sim")
METHODS = {"hybrid": "DROT-hybrid", "standard": "L2", "onestage": "DROT-hybrid, one stage (ablation)"}


def _inside(corners: torch.Tensor, size: int, margin: float = 1.0) -> bool:
    return bool(((corners >= margin) & (corners <= size - margin)).all())


def _convex(corners: torch.Tensor) -> bool:
    """The quad TL, TR, BR, BL turns the same way at every corner (convex, not folded)."""
    c = corners.double()
    a = c.roll(-1, 0) - c  # edge k → k+1
    b = c.roll(-2, 0) - c.roll(-1, 0)  # edge k+1 → k+2
    turns = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]
    return bool((turns > 0).all() or (turns < 0).all())


def draw_start(kind: str, start_type: str, scene, seed: int) -> torch.Tensor:
    """Seeded start corners ``[4, 2]`` (pixels) of ``start_type`` for accessory ``kind`` in ``scene``."""
    rng = np.random.default_rng(seed)
    size = scene.resolution[0]
    hw = scene.geometry.size_hw
    target = target_placement(kind, size)
    target_corners = target.corners(hw)
    target_mask = accessory_mask(scene, scene.target_values())
    for _ in range(10_000):
        if start_type in ("far", "far+sim"):
            sim = start_type == "far+sim"
            placement = Placement(center=tuple(rng.uniform(0, size, 2)),
                                  scale=float(rng.uniform(0.8, 1.2)) if sim else 1.0,
                                  angle=float(rng.uniform(-15, 15)) if sim else 0.0)
            corners = placement.corners(hw)
            far_enough = math.dist(placement.center, target.center) >= 0.3 * size
            if not (far_enough and _inside(corners, size)):
                continue
            mask = accessory_mask(scene, scene.geometry.parameters(pixels_to_canvas(corners, scene.resolution)))
            if bool((mask & target_mask).any()):
                continue
            return corners
        if start_type == "scale+rot":
            scale = float(rng.choice([-1, 1]) * rng.uniform(0.15, 0.3) + 1)
            angle = float(rng.choice([-1, 1]) * rng.uniform(10, 25))
            shift = rng.uniform(-3, 3, 2)
            placement = dataclasses.replace(target, center=(target.center[0] + shift[0], target.center[1] + shift[1]),
                                            scale=target.scale * scale, angle=target.angle + angle)
            corners = placement.corners(hw)
        elif start_type == "perspective":
            tilt = rng.uniform(-0.2, 0.2, 2)
            corners = dataclasses.replace(target, tilt=(float(tilt[0]), float(tilt[1]))).corners(hw)
            corners = corners + torch.from_numpy(rng.uniform(-4, 4, (4, 2))).float()
        else:
            raise ValueError(f"unknown start type {start_type!r}; choose from {START_TYPES}")
        if _inside(corners, size, margin=-2.0) and _convex(corners):
            return corners
    raise RuntimeError(f"could not draw a {start_type} start for {kind} (seed {seed})")


@dataclasses.dataclass(frozen=True)
class _OneStage:
    """Result of the one-stage ablation (the fields the tables need)."""

    start_disp: float
    start_iou: float
    disp: float
    iou: float
    wall_seconds: float
    corners: torch.Tensor

    @property
    def success(self) -> bool:
        return self.disp <= DISP_THRESHOLD and self.iou >= IOU_THRESHOLD


def one_stage(scene, start: torch.Tensor, settings: FitSettings, seed: int) -> _OneStage:
    """Ablation: DROT-hybrid on all eight modes at once, for the iterations of both stages together."""
    initial = scene.geometry.parameters(pixels_to_canvas(start, scene.resolution))
    iterations = settings.pose.iterations + settings.warp.iterations
    result = optimize(scene, None, settings.pose.replace(iterations=iterations, strategy="hybrid", seed=seed),
                      initial=initial)
    target = scene.target_values()
    target_mask = accessory_mask(scene, target)
    corners = scene_corners(scene, result.parameters)
    return _OneStage(
        start_disp=corner_displacement(scene_corners(scene, initial), scene_corners(scene, target), scene.resolution),
        start_iou=mask_iou(accessory_mask(scene, initial), target_mask),
        disp=corner_displacement(corners, scene_corners(scene, target), scene.resolution),
        iou=mask_iou(accessory_mask(scene, result.parameters), target_mask),
        wall_seconds=result.wall_seconds, corners=corners)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=1,
                        help="draws per (accessory, start type) (default 1: 12 instances)")
    parser.add_argument("--seed", type=int, default=0, help="base seed (instance seeds are derived from it)")
    parser.add_argument("--pose-iterations", type=int, default=FitSettings().pose.iterations,
                        help="stage 1 (pose) iterations")
    parser.add_argument("--warp-iterations", type=int, default=FitSettings().warp.iterations,
                        help="stage 2 (perspective warp, per-pixel L2) iterations")
    parser.add_argument("--methods", default="hybrid,standard",
                        help="comma-separated stage-1 strategies (hybrid, standard, basic, random)")
    parser.add_argument("--one-stage", action="store_true",
                        help="also run the ablation: DROT-hybrid on all eight modes at once")
    parser.add_argument("--l2-on", choices=("all", "non-overlapping"), default="all",
                        help="run the L2 baseline on every instance or only on the non-overlapping starts")
    parser.add_argument("--kinds", default=",".join(ACCESSORY_KINDS))
    parser.add_argument("--size", type=int, default=64, help="portrait (canvas) side in pixels")
    parser.add_argument("--out", default=None, help="folder for results.json / results.csv (optional)")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    args = parser.parse_args(argv)
    if args.size != 64:
        print("note: target placements are defined for a 64 x 64 portrait and scaled to --size", file=sys.stderr)

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    if args.one_stage:
        methods.append("onestage")
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    bg = portrait(args.size)
    defaults = FitSettings()
    settings = FitSettings(pose=dataclasses.replace(defaults.pose, iterations=args.pose_iterations),
                           warp=dataclasses.replace(defaults.warp, iterations=args.warp_iterations))
    print(f"accessory warps: {len(kinds)} accessories x {len(START_TYPES)} start types x {args.repeats} draw(s), "
          f"{args.size}x{args.size} canvas, {settings.pose.iterations} pose + {settings.warp.iterations} warp "
          f"iterations, torch threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f}", flush=True)

    rows: list[dict] = []
    t_all = time.perf_counter()
    for ki, kind in enumerate(kinds):
        acc = accessory_image(kind)
        scene = accessory_scene(acc, bg, target_placement(kind, args.size), name=kind)
        for rep in range(args.repeats):
            for si, start_type in enumerate(START_TYPES):
                seed = args.seed + 1000 * rep + 100 * ki + si
                start = draw_start(kind, start_type, scene, seed)
                row = {"accessory": kind, "start": start_type, "seed": seed}
                for method in methods:
                    if method == "standard" and args.l2_on == "non-overlapping" and start_type not in NON_OVERLAPPING:
                        continue
                    if method == "onestage":
                        fit = one_stage(scene, start, settings, seed)
                    else:
                        fit = fit_accessory(scene, start, method, settings, seed=seed)
                    row.update({"start_disp": fit.start_disp, "start_iou": fit.start_iou,
                                f"{method}_disp": fit.disp, f"{method}_iou": fit.iou,
                                f"{method}_ok": fit.success, f"{method}_s": fit.wall_seconds,
                                f"{method}_corners": fit.corners.tolist()})
                rows.append(row)
                print("  " + "  ".join(f"{k}={_fmt(v)}" for k, v in row.items() if not k.endswith("_corners")),
                      flush=True)
    total = time.perf_counter() - t_all

    columns = ["accessory", "start", "seed", "start_disp", "start_iou"]
    for m in methods:
        columns += [f"{m}_disp", f"{m}_iou", f"{m}_ok", f"{m}_s"]
    fmt = {c: ".4f" for c in columns if c.endswith(("_disp",))}
    fmt.update({c: ".3f" for c in columns if c.endswith("_iou")})
    fmt.update({c: ".1f" for c in columns if c.endswith("_s")})
    print()
    print(report.format_table(rows, columns, fmt, markdown=args.markdown))

    summary = []
    for m in methods:
        for subset, keep in (("all", lambda r: True), ("non-overlapping", lambda r: r["start"] in NON_OVERLAPPING),
                             ("overlapping", lambda r: r["start"] not in NON_OVERLAPPING)):
            sel = [r for r in rows if keep(r) and f"{m}_disp" in r]
            if not sel:
                continue
            summary.append({
                "method": METHODS.get(m, m), "starts": subset, "n": len(sel),
                "success": f"{sum(r[f'{m}_ok'] for r in sel)}/{len(sel)}",
                "mean_disp": float(np.mean([r[f"{m}_disp"] for r in sel])),
                "median_disp": float(np.median([r[f"{m}_disp"] for r in sel])),
                "mean_iou": float(np.mean([r[f"{m}_iou"] for r in sel])),
                "mean_s": float(np.mean([r[f"{m}_s"] for r in sel])),
            })
    print()
    print(report.format_table(summary, ["method", "starts", "n", "success", "mean_disp", "median_disp", "mean_iou",
                                        "mean_s"],
                              {"mean_disp": ".4f", "median_disp": ".4f", "mean_iou": ".3f", "mean_s": ".1f"},
                              markdown=args.markdown))
    print(f"\ntotal wall time {total:.0f} s (success: Disp <= {DISP_THRESHOLD} and IoU >= {IOU_THRESHOLD})")
    if args.out:
        report.write_json(os.path.join(args.out, "results.json"),
                          {"settings": {"pose": settings.pose.flat(),
                                        "warp": settings.warp.flat()},
                           "rows": rows, "summary": summary,
                           "wall_seconds": total})
        report.write_csv(os.path.join(args.out, "results.csv"),
                         [{k: v for k, v in r.items() if not k.endswith("_corners")} for r in rows])
        print(f"wrote {args.out}/results.json and results.csv")
    return 0


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4f}"
    return str(v)


if __name__ == "__main__":
    sys.exit(main())
