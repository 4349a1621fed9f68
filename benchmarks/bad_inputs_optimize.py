"""Bad settings, targets and runs for ``benchmarks/bad_inputs.py`` (areas ``settings``, ``target`` and
``run``): ``drot.OptimizeSettings``, ``drot.optimize`` and ``drot.RgbxyLoss`` on a tiny KITTY."""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import torch

from bad_inputs import Case

import drot
from drot.optim import OptimizationDiverged


@functools.lru_cache(maxsize=1)
def kitty() -> drot.Scene:
    return drot.load_scene("kitty", resolution=16)


def run(**kwargs):
    return lambda tmp: drot.optimize(kitty(), iterations=kwargs.pop("iterations", 3), **kwargs)


def target(images, **kwargs):
    return lambda tmp: drot.optimize(kitty(), images() if callable(images) else images, iterations=2, **kwargs)


def looking_away(tmp: Path):
    scene = kitty()
    away = [drot.Camera(c.eye, c.eye * 2, c.up, c.fov_y, c.near, c.far) for c in scene.cameras]
    import dataclasses
    return drot.optimize(dataclasses.replace(scene, cameras=tuple(away)), iterations=2)


def near_far(tmp: Path):
    scene = kitty()
    import dataclasses
    cams = [dataclasses.replace(c, far=0.5) for c in scene.cameras]
    return drot.optimize(dataclasses.replace(scene, cameras=tuple(cams)), iterations=2)


def diverging(tmp: Path):
    nan = lambda values: values["translation"].sum() * float("nan")  # noqa: E731
    try:
        drot.optimize(kitty(), iterations=3, regularizer=nan)
    except OptimizationDiverged as exc:  # the case's point: a clear error naming the iteration
        raise ValueError(str(exc)) from exc


S, T, R = "settings", "target", "run"
CASES = [
    Case("unknown setting", S, lambda tmp: drot.OptimizeSettings(lamb=0.5), ("lamb", "did you mean 'lam'")),
    Case("lam above 1", S, lambda tmp: drot.OptimizeSettings(lam=1.5), ("lam", "1.5")),
    Case("negative blur", S, lambda tmp: drot.OptimizeSettings(blur=-0.1), ("blur", "-0.1")),
    Case("scaling 1", S, lambda tmp: drot.OptimizeSettings(scaling=1.0), ("scaling", "1.0")),
    Case("iterations 0", S, lambda tmp: drot.OptimizeSettings(iterations=0), ("iterations", "0")),
    Case("iterations as a float", S, lambda tmp: drot.OptimizeSettings(iterations=10.5), ("iterations", "10.5")),
    Case("lr zero", S, lambda tmp: drot.OptimizeSettings(lr=0.0), "learning rate"),
    Case("lr decay above 1", S, lambda tmp: drot.OptimizeSettings(lr_decay=1.5), ("lr_decay", "1.5")),
    Case("negative match interval", S, lambda tmp: drot.OptimizeSettings(match_interval=-1), ("match interval", "-1")),
    Case("unknown matcher", S, lambda tmp: drot.OptimizeSettings(matcher="raft"), ("raft", "sinkhorn")),
    Case("unknown strategy", S, lambda tmp: drot.OptimizeSettings(strategy="fancy"), ("fancy", "hybrid")),
    Case("unknown L2 schedule", S, lambda tmp: drot.OptimizeSettings(l2_schedule="pyramid"), ("pyramid", "fixed")),
    Case("unknown background mode", S, lambda tmp: drot.OptimizeSettings(background="some"), ("background", "some")),
    Case("unknown Sinkhorn solver", S, lambda tmp: drot.OptimizeSettings(sinkhorn_solver="fastest"),
         ("fastest", "geomloss")),
    Case("max_points 1", S, lambda tmp: drot.OptimizeSettings(max_points=1), ("max_points", "1")),
    Case("negative seed", S, lambda tmp: drot.OptimizeSettings(seed=-1), ("seed", "-1")),
    Case("rgbxy_fraction above 1", S, lambda tmp: drot.OptimizeSettings(rgbxy_fraction=2.0),
         ("rgbxy_fraction", "2.0")),
    Case("negative eval_every", S, lambda tmp: drot.OptimizeSettings(eval_every=-1), ("eval_every", "-1")),
    Case("fixed as one string", S, lambda tmp: drot.OptimizeSettings(fixed="translation"), ("fixed", "translation")),
    Case("frame view out of range", S, run(record_frames=2, frame_view=6), ("frame_view", "6")),
    Case("fixed names an unknown parameter", S, run(fixed=("rotation",)), ("fixed", "rotation")),
    Case("every parameter fixed", S, run(fixed=("translation",)), "every parameter is fixed"),
    Case("initial for an unknown parameter", S, run(initial={"rot": torch.zeros(3)}), "rot"),
    Case("initial of the wrong shape", S, run(initial={"translation": torch.zeros(2)}), ("translation", "shape")),
    Case("initial with NaN", S, run(initial={"translation": torch.tensor([0.0, float("nan"), 0.0])}),
         ("translation", "NaN")),
    Case("uint8-range floats", T, target(lambda: torch.full((6, 16, 16, 3), 200.0)), ("target image 0", "255")),
    Case("wrong number of views", T, target(lambda: torch.rand(5, 16, 16, 3)), ("6 views", "5")),
    Case("wrong image size", T, target(lambda: torch.rand(6, 20, 16, 3)), ("(20, 16)", "(16, 16)")),
    Case("two channels", T, target(lambda: torch.rand(6, 16, 16, 2)), "3 or 4"),
    Case("NaN in a target image", T, target(lambda: torch.full((6, 16, 16, 3), float("nan"))), "NaN"),
    Case("all-zero alpha", T, target(lambda: torch.cat([torch.rand(6, 16, 16, 3), torch.zeros(6, 16, 16, 1)], -1)),
         "alpha"),
    Case("all-black target", T, target(lambda: torch.zeros(6, 16, 16, 3)), "shows nothing"),
    Case("int32 array", T, target(lambda: np.zeros((6, 16, 16, 3), dtype=np.int32)), "int32"),
    Case("target image file missing", T, lambda tmp: drot.optimize(kitty(), [tmp / f"v{i}.png" for i in range(6)],
                                                                    iterations=2), "v0.png"),
    Case("target dict misses a parameter", T, target({"rot": torch.zeros(3)}), "translation"),
    Case("cameras look away from the object", T, looking_away, "shows nothing"),
    Case("far plane closer than the object", T, near_far, ("shows nothing", "far")),
    Case("NaN regularizer", R, diverging, ("iteration 0", "nan")),
    Case("resolution far too large", R, lambda tmp: drot.optimize(drot.load_scene("kitty", resolution=60000),
                                                                  iterations=1), ("60000", "memory")),
    Case("RgbxyLoss target of ints", R, lambda tmp: drot.RgbxyLoss(torch.zeros(1, 8, 8, 3, dtype=torch.int64)),
         ("RgbxyLoss", "float")),
    Case("RgbxyLoss unknown setting", R, lambda tmp: drot.RgbxyLoss(torch.rand(1, 8, 8, 3), lamb=0.3),
         ("lamb", "did you mean 'lam'")),
]
