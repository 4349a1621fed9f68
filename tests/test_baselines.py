"""The Table 1 baselines: optical-flow matching, multi-resolution / downsampled L2, the soft rasterizer."""
import sys

import numpy as np
import pytest
import torch

import drot
from drot.render.soft import SoftRasSettings, soft_render
from drot.matching import FlowMatcher, image_points, make_matcher
from drot.optim.multiscale import ResolutionSchedule, downsample, resolution_levels
from drot.render.backend import get_backend

NEAR_START = {"translation": torch.tensor([0.12, -0.08, 0.06])}
START_MAE = float(NEAR_START["translation"].abs().mean())  # a translation moves every vertex alike


@pytest.fixture(scope="module")
def kitty32():
    return drot.load_scene("kitty", resolution=32)


# ----------------------------------------------------------------------------- optical flow

def _blob_image(cx: float, cy: float, size: int = 48) -> torch.Tensor:
    """A textured blob (smooth, with colour structure) centred at pixel (cx, cy): [H, W, 3]."""
    yy, xx = torch.meshgrid(torch.arange(size, dtype=torch.float32), torch.arange(size, dtype=torch.float32),
                            indexing="ij")
    r2 = ((xx - cx) ** 2 + (yy - cy) ** 2) / 8.0 ** 2
    envelope = torch.exp(-r2)
    texture = 0.6 + 0.4 * torch.sin((xx - cx) * 0.7) * torch.cos((yy - cy) * 0.5)
    img = torch.stack([envelope * texture, envelope * 0.8, envelope * (1.2 - texture)], -1)
    return img.clamp(0, 1)


def test_flow_matcher_recovers_a_known_shift():
    pytest.importorskip("cv2")
    shift = (3.0, -2.0)  # pixels, x right and y down
    source_img, target_img = _blob_image(22, 25), _blob_image(22 + shift[0], 25 + shift[1])
    source, fg = image_points(source_img, source_img.amax(-1) > 0.05)
    target, _ = image_points(target_img, target_img.amax(-1) > 0.05)
    matcher = make_matcher("flow", resolution=(48, 48))
    assert isinstance(matcher, FlowMatcher)
    m = matcher.match(source, target)
    assert m.targets.shape == (len(source), 5) and m.info["solver"] == "opencv.farneback"
    moved = (m.targets[:, 3:] - source.points[:, 3:]) * 48  # pixels
    core = (source.points[:, 3:] * 48 - torch.tensor([22.5, 25.5])).norm(dim=1) < 6  # well inside the blob
    assert torch.allclose(moved[core].median(0).values, torch.tensor(shift), atol=0.25)
    # The matched colour is the target's colour there: the same texture, moved.
    assert (m.targets[core, :3] - source.points[core, :3]).abs().mean() < 0.03
    plan = matcher.plan(source, target)
    assert plan.shape == (len(source), len(target))
    assert torch.allclose(plan.sum(1), source.normalized_weights(), atol=1e-6)


def test_flow_matcher_needs_opencv_and_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "cv2", None)  # import cv2 now raises ImportError
    with pytest.raises(ImportError, match=r"drot\[flow\]"):
        FlowMatcher(resolution=(32, 32))


def test_flow_matcher_in_the_loop(kitty32):
    pytest.importorskip("cv2")
    start = {"translation": torch.tensor([-0.3, 0.25, 0.2])}  # a few pixels off in every view: flow follows
    result = drot.optimize(kitty32, strategy="basic", matcher="flow", iterations=40, initial=start)
    assert all(h["mode"] == "rgbxy" for h in result.history)
    assert result.vertex_mae < 0.3 * float(start["translation"].abs().mean())


# ----------------------------------------------------------------------------- resolution schedules

def test_resolution_schedules():
    assert resolution_levels((128, 128)) == [(8, 8), (16, 16), (32, 32), (64, 64), (128, 128)]
    assert resolution_levels((100, 60)) == [(13, 8), (25, 15), (50, 30), (100, 60)]
    multi = ResolutionSchedule("multires", 100, (64, 64))
    assert [multi.at(i)[0] for i in (0, 24, 25, 99)] == [(8, 8), (8, 8), (16, 16), (64, 64)]
    assert multi.at(30)[0] == multi.at(30)[1]
    down = ResolutionSchedule("downsampled", 100, (64, 64))
    assert down.at(0) == ((64, 64), (8, 8)) and down.at(99) == ((64, 64), (64, 64))
    assert ResolutionSchedule("fixed", 10, (32, 32)).at(3) == ((32, 32), (32, 32))
    # A hybrid run's L2 phase (its last quarter here) spans the levels on its own.
    phase = ResolutionSchedule("downsampled", 100, (64, 64), first=75)
    assert [phase.at(i)[1] for i in (0, 75, 81, 82, 99)] == [(8, 8), (8, 8), (8, 8), (16, 16), (64, 64)]
    with pytest.raises(ValueError, match="unknown L2 schedule"):
        ResolutionSchedule("pyramid", 10, (32, 32))
    img = torch.arange(16.0).reshape(4, 4, 1)
    assert downsample(img, (2, 2))[..., 0].tolist() == [[2.5, 4.5], [10.5, 12.5]]  # block means
    assert downsample(img, (4, 4)) is img


@pytest.mark.parametrize("schedule", ["multires", "downsampled"])
def test_coarse_to_fine_l2_baselines_move_toward_the_target(kitty32, schedule):
    # From 16² up: at 8² the 32² cat is a pixel or two, where multi-resolution drifts (as in the paper).
    result = drot.optimize(kitty32, strategy="standard", l2_schedule=schedule, l2_start_resolution=16,
                           iterations=40, initial=NEAR_START, eval_every=10)
    assert all(h["mode"] == "standard" for h in result.history)
    assert result.vertex_mae < 0.5 * START_MAE
    psnr = [h["psnr"] for h in result.history if h["psnr"] is not None]
    assert len(psnr) == 5 and psnr[-1] > psnr[0]  # eval_every: iterations 0, 10, 20, 30 and the last


def test_settings_reject_unknown_baseline_options():
    with pytest.raises(ValueError, match="unknown l2_schedule"):
        drot.OptimizeSettings(l2_schedule="pyramid")
    with pytest.raises(ValueError, match="unknown matcher"):
        drot.OptimizeSettings(matcher="raft")
    with pytest.raises(ValueError, match="sigma must be positive"):
        drot.OptimizeSettings(strategy="softras", soft_sigma=0.0)
    with pytest.raises(ValueError, match="eval_every"):
        drot.OptimizeSettings(eval_every=-1)


# ----------------------------------------------------------------------------- soft rasterizer

def test_soft_render_approaches_the_hard_render_and_blurs_with_sigma(kitty32):
    backend = get_backend("auto")
    state = kitty32.evaluate(kitty32.target_values())
    hard = drot.render_views(state, [0, 3], kitty32.resolution, backend)
    sharp = soft_render(state, [0, 3], kitty32.resolution, backend, SoftRasSettings(sigma=1e-6))
    soft = soft_render(state, [0, 3], kitty32.resolution, backend, SoftRasSettings(sigma=1e-3))
    assert sharp.image.shape == hard.image.shape and sharp.silhouette.shape == hard.mask.shape
    sharp_err = (sharp.silhouette - hard.mask.float()).abs().mean()
    assert sharp_err < 0.01
    assert (sharp.image - hard.image).abs().mean() < 0.01
    assert (soft.silhouette - hard.mask.float()).abs().mean() > 3 * sharp_err
    assert soft.silhouette.min() >= 0 and soft.silhouette.max() <= 1
    assert soft.pairs > sharp.pairs  # a wider reach evaluates more (triangle, pixel) pairs


def test_soft_silhouette_gradient_reaches_beyond_the_silhouette(kitty32):
    """A pixel just outside the object pulls on it: the gradient the hard render does not give."""
    backend = get_backend("auto")
    t = torch.zeros(3, requires_grad=True)
    state = kitty32.evaluate({"translation": t})
    frame = soft_render(state, [0], kitty32.resolution, backend, SoftRasSettings(sigma=3e-4))
    hard = drot.render_views(state, [0], kitty32.resolution, backend)
    outside = (~hard.mask[0]) & (frame.silhouette[0] > 0.01)
    assert outside.any()
    frame.silhouette[0][outside].sum().backward()
    assert t.grad.abs().sum() > 0


def test_softras_baseline_moves_toward_the_target(kitty32):
    result = drot.optimize(kitty32, strategy="softras", iterations=30, initial=NEAR_START)
    assert all(h["mode"] == "softras" for h in result.history)
    assert all(np.isfinite(h["loss"]) for h in result.history)
    assert result.vertex_mae < 0.6 * START_MAE


def test_softras_survives_views_where_the_object_is_out_of_sight(kitty32):
    far = {"translation": torch.tensor([5.0, 5.0, 5.0])}
    result = drot.optimize(kitty32, strategy="softras", iterations=3, initial=far)
    assert all(np.isfinite(h["loss"]) for h in result.history)
