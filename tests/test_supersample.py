"""Supersampled standard derivatives (``l2_supersample``): the schedule, the settings, the memory
estimate, the derivative itself, and what it is for: a small object whose one-sample-per-pixel
loss points the wrong way."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import drot
from drot.optim import resources
from drot.optim.multiscale import ResolutionSchedule, downsample
from drot.optim.steps import StandardStep
from drot.optim.targets import resolve_goal
from drot.render.backend import get_backend
from drot.render.renderer import render


def test_the_span_takes_supersampled_derivatives_and_the_iterations_before_it_do_not():
    s = ResolutionSchedule("fixed", 1000, (128, 96), first=750, supersample=3)
    assert not s.supersampled(0) and not s.supersampled(749)  # a hybrid's RGBXY phase
    assert s.supersampled(750) and s.supersampled(999)
    # The render the residual comes from, and the loss resolution, are the schedule's own.
    assert s.at(750) == s.at(999) == ((128, 96), (128, 96))
    down = ResolutionSchedule("downsampled", 100, (64, 64), supersample=2)
    assert down.supersampled(0) and down.at(0) == ((64, 64), (8, 8))
    assert not ResolutionSchedule("fixed", 10, (32, 32)).supersampled(5)  # 1: the paper's


@pytest.mark.parametrize("bad", [0, -2, 1.5, True])
def test_a_bad_supersample_factor_is_refused_by_name(bad):
    with pytest.raises(ValueError, match="supersample"):
        ResolutionSchedule("fixed", 10, (32, 32), supersample=bad)
    if not isinstance(bad, bool):
        with pytest.raises(ValueError, match="l2_supersample"):
            drot.OptimizeSettings(l2_supersample=bad)


def test_a_strategy_without_standard_derivatives_warns_that_it_ignores_it():
    scene = drot.load_scene("kitty", resolution=16)
    with pytest.warns(UserWarning, match="l2_supersample"):
        drot.optimize(scene, strategy="basic", iterations=2, l2_supersample=2)


def _step(scene, **overrides):
    settings = drot.OptimizeSettings(**overrides)
    backend = get_backend("torch", torch.device("cpu"))
    goal = resolve_goal(scene, None, torch.device("cpu"), backend)
    return StandardStep(scene, goal, settings, backend, np.random.default_rng(0))


def test_only_runs_that_move_geometry_are_supersampled():
    moving = _step(drot.load_scene("kitty", resolution=16), l2_supersample=3)
    appearance = _step(drot.load_scene("scenes/paper/teapot.toml", resolution=16), l2_supersample=3)
    assert moving.schedule.supersample == 3 and appearance.schedule.supersample == 1
    # Holding the geometry fixed leaves nothing to supersample for.
    scene = drot.load_scene("kitty", resolution=16)
    held = _step(scene, l2_supersample=3, fixed=tuple(p.name for p in scene.parameters))
    assert held.schedule.supersample == 1


def test_the_memory_estimate_counts_the_supersampled_step():
    plain = resources.estimate_bytes((128, 128), 1, 0)
    assert resources.estimate_bytes((128, 128), 1, 0, step_scale=4) - plain == (
        resources.BYTES_PER_PIXEL_STEP * 128 * 128 * 15)


def test_a_supersampled_step_has_the_native_loss_and_the_finer_renders_geometry_derivatives():
    scene = drot.load_scene("kitty", resolution=16)
    values = {k: v[None].clone().requires_grad_(True) for k, v in scene.initial_values(0).items()}
    (name,) = values
    grads = {}
    for k in (1, 2):
        step = _step(scene, strategy="standard", iterations=10, l2_supersample=k)
        step.rng = np.random.default_rng(0)  # the same view drawn
        loss = step.losses(scene.evaluate(values), 0)
        grads[k] = torch.autograd.grad(loss.sum(), values[name])[0]
        if k == 1:
            native = loss.detach()
        else:
            assert torch.equal(loss.detach(), native)  # the value is the render's at the scene resolution
    # The derivative is the residual pushed through the 2x render area-averaged: check it by hand.
    view = int(np.random.default_rng(0).integers(scene.num_views))
    starts = torch.zeros(1, dtype=torch.long)
    with torch.no_grad():
        residual = render(scene.evaluate(values), [view], (16, 16), step.backend, starts=starts).image - step.goal.images[view]
    fine = render(scene.evaluate(values), [view], (32, 32), step.backend, starts=starts).image
    expected = torch.autograd.grad((downsample(fine, (16, 16)) * 2 * residual).mean(), values[name])[0]
    assert torch.allclose(grads[2], expected, atol=1e-7) and not torch.allclose(grads[2], grads[1])


def test_appearance_keeps_the_derivatives_of_the_render_at_the_resolution_itself():
    """A texture has no coverage to get wrong: supersampling leaves its derivatives as they were."""
    scene = drot.load_scene("scenes/paper/joint.toml", resolution=32)
    values = {k: v[None].clone().requires_grad_(True) for k, v in scene.initial_values(0).items()}
    grads = {}
    for k in (1, 3):
        step = _step(scene, strategy="standard", iterations=10, l2_supersample=k)
        loss = step.losses(scene.evaluate(values), 0)
        grads[k] = torch.autograd.grad(loss.sum(), [values["painted/texture"], values["left/translation"]])
    assert torch.allclose(grads[3][0], grads[1][0], atol=1e-9)
    assert not torch.allclose(grads[3][1], grads[1][1])


def _teapot_alone(resolution: int = 128):
    """JOINT's teapot (about 20 px wide at 128²) alone in its view, its angle about z optimised."""
    import tomllib
    from pathlib import Path

    from drot.scene.loader import scene_from_config

    path = Path(__file__).resolve().parents[1] / "scenes" / "paper" / "joint.toml"
    cfg = tomllib.loads(path.read_text())
    cfg["objects"] = [o for o in cfg["objects"] if o["name"] == "turned"]
    return scene_from_config(cfg, path, resolution=resolution)


def test_supersampling_turns_a_small_object_back_where_one_sample_per_pixel_does_not():
    """From 0.3 rad off, the teapot's one-sample loss is a staircase whose derivative points away; with
    3 x 3 samples per pixel it is pulled back onto the target (the residual is the target's own image's)."""
    scene = _teapot_alone()
    start = {"turned/rotation": torch.tensor([0.3])}
    ends = {}
    for k in (1, 3):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = drot.optimize(scene, strategy="standard", iterations=200, lr=0.02, lr_decay=1.0, seed=0,
                              initial=start, l2_supersample=k)
        ends[k] = abs(float(r.parameters["turned/rotation"]))
    assert ends[1] > 0.2  # stuck where it started
    assert ends[3] < 0.01
