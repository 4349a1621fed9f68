"""Per-frame cost of the pure-PyTorch rendering path on the KITTY cat (milliseconds, median of repeats).

    python benchmarks/render_speed.py [--resolutions 64,128,256] [--device cpu]

Rows: rasterization alone (z-buffer + differentiable barycentrics); a full standard render
(rasterize, interpolate, shade, antialias) forward, and forward + backward of an L2 loss; the
point proxies of one view (frozen barycentrics, shading) forward + backward of the OT loss.
"""
from __future__ import annotations

import argparse

import torch

import drot
from drot import report
from drot.optim.losses import image_l2_loss, rgbxy_loss
from drot.render.proxies import point_proxies
from drot.render.backend import get_backend
from drot.render.renderer import render
from timing import timed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--resolutions", default="64,128,256")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args()
    backend = get_backend("auto", args.device)
    rows = []
    for res in (int(r) for r in args.resolutions.split(",")):
        scene = drot.load_scene("kitty", resolution=res)
        t = torch.tensor([0.1, -0.1, 0.05], device=args.device, requires_grad=True)
        target = torch.zeros(res, res, 3, device=args.device)
        with torch.no_grad():
            state = scene.evaluate({"translation": t}, args.device)
            frame = render(state, [0], scene.resolution, backend, antialias=False)
        goal = torch.zeros(int(frame.mask.sum()), 5, device=args.device)

        def rasterize():
            with torch.no_grad():
                backend.rasterize(state.clip_positions([0]), state.faces, scene.resolution)

        def standard_forward():
            with torch.no_grad():
                render(scene.evaluate({"translation": t}, args.device), [0], scene.resolution, backend)

        def standard_step():
            image = render(scene.evaluate({"translation": t}, args.device), [0], scene.resolution, backend).image[0]
            image_l2_loss(image, target).backward()

        def proxy_step():
            proxies = point_proxies(scene.evaluate({"translation": t}, args.device), [0], frame.rast, backend)
            rgbxy_loss(proxies.rgbxy, goal, 0.5).backward()

        rows.append({"resolution": f"{res}²", "proxies": goal.shape[0],
                     "rasterize_ms": timed(rasterize, args.repeats, args.device),
                     "render_fwd_ms": timed(standard_forward, args.repeats, args.device),
                     "L2_step_ms": timed(standard_step, args.repeats, args.device),
                     "proxy_step_ms": timed(proxy_step, args.repeats, args.device)})
    print(f"KITTY cat ({scene.mesh.num_faces} triangles), backend {backend.name}, device {args.device}:")
    print(report.format_table(rows, list(rows[0]), {k: ".1f" for k in rows[0] if k.endswith("_ms")}))


if __name__ == "__main__":
    main()
