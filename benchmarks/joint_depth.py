"""What drives JOINT's depth drift: the scale change the RGBXY matching asks of a small object that
sits at the wrong depth, and where a lone object ends when only its translation is optimised.

    PYTHONPATH=. python benchmarks/joint_depth.py            # about a minute on 2 cores
    PYTHONPATH=. python benchmarks/joint_depth.py --no-runs  # the pull, approach and teapot tables (~1 min)
    PYTHONPATH=. python benchmarks/joint_depth.py --l2-only  # L2 alone from a depth error (~2 min)

The object is JOINT's left cat (``scenes/paper/joint.toml``), ~74 covered pixels at 128². It is
moved by ``d`` scene units along its viewing ray (d > 0: farther, smaller on screen), rendered, and
matched to its target render with :class:`drot.optim.rgbxy.RgbxyLoss`, exactly as an RGBXY step
matches. The *pull* is the relative scale change the matched targets ask for,
``Σ (T_i - x_i)·(x_i - c) / Σ |x_i - c|²`` over the covered pixels ``x_i`` (XY, c their centroid):
negative asks to shrink (move away), positive to grow. A restoring matching asks to grow for d > 0
and to shrink for d < 0. "debiased" subtracts the source's transport onto itself (the
Sinkhorn-divergence gradient, GeomLoss's ``debias=True``): ``x + T(x→target) - T(x→x)``.

The *approach* table: the same pull with the cat at its true depth (and 0.5 farther) but moved
``dx`` units sideways, as it is while it travels back from JOINT's start (4 units to the left),
matched as drot's RGBXY steps match a rendered target (its mask known: foreground only). The true
depth signal (about +0.05 per 0.5 unit) is an order of magnitude below what the matching asks of
the cat's size while it is off to the side, which is why the depth must not follow it with steps
of its own (view-frame translations as one vector to VectorAdam).

The *teapot* table: JOINT's teapot (about 20 pixels wide) alone, turned by ``a`` about its axis;
whether the derivative of the per-pixel L2 loss points back toward the target, against the loss's
own slope (central differences over ±0.02 rad), at one sample per pixel and through the
supersampled derivative of ``l2_supersample`` (``k²`` samples, the residual at 128²).

Then (without ``--no-runs``) the cat alone, and the cat with the other four objects at their
targets, from JOINT's start (4 units to the left), paper protocol (1000 iterations, 128²), Table 1's
drot row (8 starts, ``RECOMMENDED_LEVERS``) and variations of it, one thread: the final translation
error along the viewing ray.
"""
from __future__ import annotations

import argparse
import copy
import sys
import tomllib
import warnings
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import drot  # noqa: E402
from drot.matching import image_points  # noqa: E402
from drot.eval.scene_benchmark import optimize_defaults  # noqa: E402
from drot.optim.rgbxy import RgbxyLoss  # noqa: E402
from drot.optim.recommended import RECOMMENDED_LEVERS  # noqa: E402
from drot.render.backend import get_backend  # noqa: E402
from drot.render.renderer import render  # noqa: E402
from drot.scene.loader import scene_from_config  # noqa: E402

JOINT = ROOT / "scenes" / "paper" / "joint.toml"
OBJECT = "left"
PARAM = f"{OBJECT}/translation"
OFFSETS = (-1.0, -0.5, -0.2, 0.0, 0.2, 0.5, 1.0)
#: (label, matching settings, debiased)
MATCHINGS = (
    ("paper (λ 0.5, background included)", {}, False),
    ("λ 0.5, debiased", {}, True),
    ("λ 0.5, blur 0.005", {"blur": 0.005}, False),
    ("λ 0.5, blur 0.0025", {"blur": 0.0025}, False),
    ("λ 0.5, background excluded", {"background": "exclude"}, False),
    ("λ 0.1, background excluded", {"lam": 0.1, "background": "exclude"}, False),
    ("λ 0.01, background excluded", {"lam": 0.01, "background": "exclude"}, False),
    ("λ 0.01, background excluded, debiased", {"lam": 0.01, "background": "exclude"}, True),
    ("λ 0.5, unbalanced (reach 0.1)", {"sinkhorn_reach": 0.1}, False),
)
#: (label, matching settings) of the approach table (drot's steps match a rendered target's foreground)
APPROACH = (
    ("drot's row (λ 0.5, unbalanced, reach 0.1)", {"sinkhorn_reach": 0.1}),
    ("balanced (the paper's)", {}),
)
LATERAL = (0.0, 0.25, 0.5, 1.0, 2.0, 3.0, 4.0)
#: (label, OptimizeSettings overrides) of the runs, on top of Table 1's drot row
RUNS = (
    ("drot default (view frame, one vector to VectorAdam, reach 0.1)", {}),
    ("world-space translations (drot's row before)", {"translation_frame": "world"}),
    ("view frame, a moment per coordinate (Adam)", {"optimizer": "adam"}),
    ("balanced transport", {"sinkhorn_reach": None}),
)
TEAPOT, ANGLE = "turned", "turned/rotation"
TEAPOT_ANGLES = (-0.6, -0.45, -0.3, -0.2, -0.1, -0.05, 0.05, 0.1, 0.2, 0.3, 0.45, 0.6)


def joint_config(keep: str, name: str = OBJECT) -> dict:
    """JOINT's scene file with only object ``name`` (the cat) optimised (``keep="others"``: the other
    objects stay, at their targets) or with it alone (``keep="alone"``)."""
    cfg = tomllib.loads(JOINT.read_text())
    objects = []
    for obj in cfg["objects"]:
        if obj["name"] == name:
            objects.append(obj)
        elif keep == "others":
            fixed = copy.deepcopy(obj)
            fixed.pop("parameters", None)
            objects.append(fixed)
    cfg["objects"] = objects
    return cfg


def ray_direction(scene) -> torch.Tensor:
    cfg = tomllib.loads(JOINT.read_text())
    eye = torch.tensor(cfg["views"]["cameras"][0]["eye"])
    pos = torch.tensor(next(o["position"] for o in cfg["objects"] if o["name"] == OBJECT))
    d = pos - eye
    return d / d.norm()


def pull_table() -> None:
    scene = scene_from_config(joint_config("alone"), JOINT, resolution=128)
    backend = get_backend("torch", torch.device("cpu"))
    goal = scene.target_values()[PARAM]
    ray = ray_direction(scene)

    def frame(t):
        return render(scene.evaluate({PARAM: t}, torch.device("cpu")), [0], scene.resolution, backend)

    target = frame(goal).image
    print("pull (relative scale change asked; < 0 shrink, > 0 grow) at depth offset d (> 0: farther):")
    print(f"| matching | {' | '.join(f'd={d:+.1f}' for d in OFFSETS)} |")
    print(f"|---|{'---:|' * len(OFFSETS)}")
    frames = {d: frame(goal + d * ray) for d in OFFSETS}  # one render per offset, matched by every row
    for label, over, debiased in MATCHINGS:
        loss = RgbxyLoss(target, settings=drot.OptimizeSettings().replace(**over).matching)
        cells = []
        for d, fr in frames.items():
            n = int(fr.mask[0].sum())
            # The point sets an RGBXY step matches (RgbxyLoss.match): the render's covered pixels first.
            points = image_points(fr.image[0], fr.mask[0], background=loss.settings.background,
                                  pool=loss.settings.background_pool)[0]
            matched = loss.matcher.match_batch([(points, loss.target_points(0))])[0].targets[:n].double()
            x = points.points[:n].double()
            if debiased:
                matched = matched - loss.matcher.match_batch([(points, points)])[0].targets[:n].double() + x
            xy = x[:, 3:5]
            c = xy.mean(0)
            pull = float(((matched[:, 3:5] - xy) * (xy - c)).sum() / (xy - c).square().sum())
            cells.append(f"{pull:+.3f}")
        print(f"| {label} | {' | '.join(cells)} |")


def _scale_pull(x: torch.Tensor, matched: torch.Tensor) -> float:
    """The relative scale change the matched targets ask of the points ``x`` (XY columns 3:5)."""
    xy, c = x[:, 3:5], x[:, 3:5].mean(0)
    return float(((matched[:, 3:5] - xy) * (xy - c)).sum() / (xy - c).square().sum())


def approach_table() -> None:
    scene = scene_from_config(joint_config("alone"), JOINT, resolution=128)
    backend = get_backend("torch", torch.device("cpu"))
    goal = scene.target_values()[PARAM]
    ray = ray_direction(scene)

    def frame(t):
        return render(scene.evaluate({PARAM: t}, torch.device("cpu")), [0], scene.resolution, backend)

    target = frame(goal)
    print("\napproach: pull on the cat's size with it dx units to the left of its target (foreground matched, as "
          "drot's steps match a rendered target)")
    print(f"| matching | depth | {' | '.join(f'dx={d:g}' for d in LATERAL)} |")
    print(f"|---|---:|{'---:|' * len(LATERAL)}")
    for label, over in APPROACH:
        loss = RgbxyLoss(target.image, target.mask, settings=drot.OptimizeSettings().replace(**over).matching)
        for depth in (0.0, 0.5):
            cells = []
            for dx in LATERAL:
                fr = frame(goal + depth * ray + torch.tensor([-dx, 0.0, 0.0]))
                n = int(fr.mask[0].sum())
                points = image_points(fr.image[0], fr.mask[0], background="exclude")[0]
                matched = loss.matcher.match_batch([(points, loss.target_points(0))])[0].targets[:n].double()
                cells.append(f"{_scale_pull(points.points[:n].double(), matched):+.3f}")
            print(f"| {label} | {depth:+.1f} | {' | '.join(cells)} |")


def teapot_table() -> None:
    from drot.optim.multiscale import downsample

    scene = scene_from_config(joint_config("alone", TEAPOT), JOINT, resolution=128)
    backend = get_backend("torch", torch.device("cpu"))
    target = render(scene.evaluate({ANGLE: torch.zeros(1)}), [0], scene.resolution, backend).image

    def loss(a: float) -> float:
        with torch.no_grad():
            return float((render(scene.evaluate({ANGLE: torch.tensor([a])}), [0], scene.resolution, backend).image
                          - target).square().mean())

    print("\nteapot turned by a (rad): does the L2 derivative point back to 0? (+ yes, x no; the loss's own slope "
          "from central differences over ±0.02)")
    print(f"| derivative | {' | '.join(f'a={a:+.2f}' for a in TEAPOT_ANGLES)} |")
    print(f"|---|{'---:|' * len(TEAPOT_ANGLES)}")
    slope = ["+" if (loss(a + 0.02) - loss(a - 0.02)) * a > 0 else "x" for a in TEAPOT_ANGLES]
    print(f"| the loss's own slope | {' | '.join(slope)} |")
    for k in (1, 2, 3, 4):
        cells = []
        for a in TEAPOT_ANGLES:
            t = torch.tensor([a], requires_grad=True)
            state = scene.evaluate({ANGLE: t})
            with torch.no_grad():
                residual = render(state, [0], scene.resolution, backend).image - target
            size = (scene.resolution[0] * k, scene.resolution[1] * k)
            fine = downsample(render(state, [0], size, backend).image, scene.resolution)
            (grad,) = torch.autograd.grad((fine * 2 * residual).mean(), t)  # k = 1: the plain L2 derivative
            cells.append("+" if float(grad) * a > 0 else "x")
        label = "one sample per pixel" if k == 1 else f"{k} x {k} samples (l2_supersample {k})"
        print(f"| {label} | {' | '.join(cells)} |")


def runs() -> None:
    torch.set_num_threads(1)
    protocol = {k: v for k, v in optimize_defaults(tomllib.loads(JOINT.read_text()), JOINT).items()
                if k in ("iterations", "lr", "lr_decay")}
    # drot's default row of Table 1: hybrid, 8 batched starts, the recommended levers.
    base = dict(strategy="hybrid", starts=8, **RECOMMENDED_LEVERS, **protocol)
    print("\nfinal translation error of the cat (scene units): along its viewing ray (> 0: too far), across it")
    print("| run | cat alone: along | across | with the other objects: along | across |")
    print("|---|---:|---:|---:|---:|")
    for label, over in RUNS:
        row = []
        for keep in ("alone", "others"):
            scene = scene_from_config(joint_config(keep), JOINT, resolution=128)
            ray = ray_direction(scene)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = drot.optimize(scene, settings=drot.OptimizeSettings(seed=0, **{**base, **over}))
            err = (result.parameters[PARAM].double() - scene.target_values()[PARAM].double()).reshape(3)
            along = float(err @ ray.double())
            row += [f"{along:+.2f}", f"{float((err - along * ray.double()).norm()):.2f}"]
        print(f"| {label} | {' | '.join(row)} |")


#: (label, OptimizeSettings overrides, iterations) of the L2-alone runs from a depth error
L2_RUNS = (
    ("L2, lr 0.0044 (hybrid's at its switch)", {"lr": 0.02 * 0.998 ** 750}, 250),
    ("L2, lr 0.02", {}, 250),
    ("L2, lr 0.02", {}, 1000),
    ("L2 downsampled 8² → 128², lr 0.02", {"l2_schedule": "downsampled"}, 250),
    ("L2 downsampled 8² → 128², lr 0.02", {"l2_schedule": "downsampled"}, 1000),
    ("L2, view frame, VectorAdam, lr 0.0044", {"lr": 0.02 * 0.998 ** 750, "translation_frame": "view",
                                                "optimizer": "vector_adam"}, 250),
    ("the same, l2_supersample 3", {"lr": 0.02 * 0.998 ** 750, "translation_frame": "view",
                                    "optimizer": "vector_adam", "l2_supersample": 3}, 250),
)


def l2_recovery() -> None:
    """The cat alone, started at its target moved along its viewing ray, standard derivatives only
    (no learning-rate decay, one thread): can the L2 phase of a hybrid run undo a depth error?"""
    torch.set_num_threads(1)
    scene = scene_from_config(joint_config("alone"), JOINT, resolution=128)
    ray, goal = ray_direction(scene), scene.target_values()[PARAM]
    depths = (0.5, 1.2)
    print("\nL2 alone from a depth error d: final error along the ray (> 0: too far)")
    print(f"| run | iterations | {' | '.join(f'from d={d:+.1f}' for d in depths)} |")
    print("|---|---:|" + "---:|" * len(depths))
    for label, over, iterations in L2_RUNS:
        cells = []
        for d in depths:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                r = drot.optimize(scene, strategy="standard", iterations=iterations, lr_decay=1.0, seed=0,
                                  initial={PARAM: goal + d * ray}, **{"lr": 0.02, **over})
            err = (r.parameters[PARAM].double() - goal.double()).reshape(3)
            cells.append(f"{float(err @ ray.double()):+.2f}")
        print(f"| {label} | {iterations} | {' | '.join(cells)} |", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--no-runs", action="store_true", help="the pull, approach and teapot tables only")
    p.add_argument("--l2-only", action="store_true", help="only the L2-alone runs from a depth error (~2 min)")
    args = p.parse_args()
    if args.l2_only:
        return l2_recovery()
    pull_table()
    approach_table()
    teapot_table()
    if not args.no_runs:
        runs()
        l2_recovery()


if __name__ == "__main__":
    main()
