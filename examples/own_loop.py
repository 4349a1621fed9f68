"""Your loop, your rasterizer, drot's matched-RGBXY loss: a far-away cube pulled into place.

Written as nvdiffrast code (rasterize / interpolate / antialias with nvdiffrast's signatures);
drot's pure-PyTorch stand-in ``drot.render.torch_dr`` runs it on any machine. With a GPU and
nvdiffrast installed, swap the import for ``import nvdiffrast.torch as dr`` and the context for
``dr.RasterizeCudaContext()``. drot contributes one object, :class:`drot.RgbxyLoss`: matched
RGBXY derivatives for the first 75 % of the iterations, then the usual per-pixel L2.

    python examples/own_loop.py                 # 300 iterations at 96²
    python examples/own_loop.py --quick         # 20 iterations at 32² (what the tests run)
    python examples/own_loop.py --l2-only       # the same loop with per-pixel L2 throughout: it stalls
"""
from __future__ import annotations

import argparse
import math

import torch

import drot
import drot.render.torch_dr as dr  # or: import nvdiffrast.torch as dr
from drot.threads import choose_threads

# A cube with one colour per face (24 vertices so that colours do not blend across edges).
FACE_COLORS = torch.tensor([[0.9, 0.1, 0.1], [0.1, 0.8, 0.2], [0.1, 0.3, 0.9],
                            [0.95, 0.8, 0.1], [0.8, 0.2, 0.8], [0.1, 0.8, 0.8]])


def colored_cube(size: float = 0.5) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    verts, colors, tris = [], [], []
    for face, (axis, sign) in enumerate([(a, s) for a in range(3) for s in (1.0, -1.0)]):
        u, v = [(axis + 1) % 3, (axis + 2) % 3]
        for du, dv in [(-1, -1), (1, -1), (1, 1), (-1, 1)]:
            p = [0.0, 0.0, 0.0]
            p[axis], p[u], p[v] = sign * size, du * size, dv * size
            verts.append(p)
            colors.append(FACE_COLORS[face].tolist())
        b = 4 * face
        tris += [[b, b + 1, b + 2], [b, b + 2, b + 3]] if sign > 0 else [[b, b + 2, b + 1], [b, b + 3, b + 2]]
    return torch.tensor(verts), torch.tensor(colors), torch.tensor(tris, dtype=torch.int32)


def view_projection(eye: tuple[float, float, float], fov_deg: float = 45.0, near: float = 0.1, far: float = 20.0):
    """OpenGL-style perspective × look-at-origin matrix ``[4, 4]``."""
    eye_t = torch.tensor(eye)
    fwd = -eye_t / eye_t.norm()
    right = torch.linalg.cross(fwd, torch.tensor([0.0, 1.0, 0.0]))
    right = right / right.norm()
    up = torch.linalg.cross(right, fwd)
    view = torch.eye(4)
    view[0, :3], view[1, :3], view[2, :3] = right, up, -fwd
    view[:3, 3] = -view[:3, :3] @ eye_t
    f = 1.0 / math.tan(math.radians(fov_deg) / 2)
    proj = torch.tensor([[f, 0, 0, 0], [0, f, 0, 0],
                         [0, 0, (far + near) / (near - far), 2 * far * near / (near - far)], [0, 0, -1, 0]])
    return proj @ view


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=300, help="(default: 300)")
    parser.add_argument("--resolution", type=int, default=96, help="(default: 96)")
    parser.add_argument("--l2-only", action="store_true", help="per-pixel L2 throughout (the baseline)")
    parser.add_argument("--quick", action="store_true", help="20 iterations at 32² (a smoke test, not a result)")
    parser.add_argument("--threads", default="1", metavar="N|auto",
                        help="torch's CPU threads (default: 1, which a shared machine cannot slow down; auto: the free cores)")
    args = parser.parse_args(argv)
    if args.quick:
        args.iterations, args.resolution = 20, 32
    choose_threads(args.threads)
    torch.manual_seed(0)
    res = (args.resolution, args.resolution)

    verts, colors, tri = colored_cube()
    eyes = [(0.0, 0.6, 4.0), (4.0, 0.6, 0.0), (0.0, 4.0, 0.3)]  # three views
    mvp = torch.stack([view_projection(e) for e in eyes])          # [B, 4, 4]
    glctx = dr.RasterizeTorchContext()

    def render(translation: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        world = torch.cat([verts + translation, torch.ones(len(verts), 1)], 1)
        pos_clip = torch.einsum("vj,bij->bvi", world, mvp)        # [B, V, 4]
        rast, _ = dr.rasterize(glctx, pos_clip, tri, resolution=res)
        color, _ = dr.interpolate(colors, rast, tri)
        color = dr.antialias(color, rast, pos_clip, tri)
        return color.flip(1), rast, pos_clip                       # images top row first

    true_t = torch.tensor([0.3, -0.2, 0.1])
    with torch.no_grad():
        target, _, _ = render(true_t)                               # [B, H, W, 3]

    translation = torch.tensor([1.3, 0.9, -1.1], requires_grad=True)  # far: the cube barely overlaps its target
    optimizer = torch.optim.Adam([translation], lr=0.02)
    loss_fn = drot.RgbxyLoss(target)                                # drot's matched-RGBXY loss
    switch = 0 if args.l2_only else int(0.75 * args.iterations)     # hybrid: RGBXY first, then L2
    start_error = float((translation.detach() - true_t).abs().mean())
    for it in range(args.iterations):
        image, rast, pos_clip = render(translation)
        loss = loss_fn(rast, pos_clip, tri, colors, iteration=it) if it < switch else None
        if loss is None:                                            # L2 phase (or nothing visible to match)
            loss = (image - target).square().mean()
        if it == switch:
            optimizer = torch.optim.Adam([translation], lr=0.02)    # a fresh Adam for the new loss scale
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    error = float((translation.detach() - true_t).abs().mean())
    method = "L2 only" if args.l2_only else "RGBXY (drot) then L2"
    print(f"{method}: translation error {start_error:.3f} -> {error:.4f} after {args.iterations} iterations")
    return {"start_error": start_error, "error": error}


if __name__ == "__main__":
    main()
