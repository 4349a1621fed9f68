"""Batched multi-start: the batched Sinkhorn solve, batched renders and proxies, the start sets,
successive halving, and the two promises — a batch equals its starts run alone, and the best start
converges where the single start does not."""
import dataclasses
import importlib
import math
import sys
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings as hsettings, strategies as st

import drot
from drot.matching import PointSet, SinkhornMatcher
from drot.optim.halving import halving_iterations
from drot.optim.starts import euler_angles, quaternion_matrix, rotation_vectors, start_set, uniform_rotations
from drot.render import extension
from drot.render.backend import get_backend
from drot.render.proxies import point_proxies
from drot.render.renderer import render
from drot.render.state import SceneState
from drot.scene.kinds import axis_angle_matrix, euler_matrix

pytestmark = pytest.mark.usefixtures("one_thread")
ROOT = Path(__file__).resolve().parents[1]

@pytest.fixture(scope="module")
def any_angle_cube(tmp_path_factory):
    """The coloured cube turned about +Y from any angle, at 24²: benchmarks/any_angle.py's scene."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        scene_text = importlib.import_module("any_angle").scene_text
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    path = tmp_path_factory.mktemp("scenes") / "cube.toml"
    path.write_text(scene_text("cube", resolution=24))
    return drot.load_scene(path)


def _cloud(n: int, shift: float, spread: float, seed: int) -> PointSet:
    g = torch.Generator().manual_seed(seed)
    return PointSet.uniform(torch.rand(n, 5, generator=g) * spread + shift)


# --------------------------------------------------------------------------- batched Sinkhorn
@hsettings(max_examples=12, deadline=None)
@given(sizes=st.lists(st.tuples(st.integers(3, 60), st.integers(3, 60), st.floats(0.05, 3.0)), min_size=2, max_size=4),
       seed=st.integers(0, 1000))
def test_batched_sinkhorn_equals_one_solve_per_problem(sizes, seed):
    # Different sizes (padding) and spreads (different temperature schedules) in one batch.
    pairs = [(_cloud(n, 0.0, spread, seed + i), _cloud(m, 0.1, spread, seed + 100 + i))
             for i, (n, m, spread) in enumerate(sizes)]
    matcher = SinkhornMatcher(blur=0.05)
    alone = [matcher.match(s, t) for s, t in pairs]
    batch = matcher.match_batch(pairs)
    for a, b in zip(alone, batch):
        assert b.targets.shape == a.targets.shape
        torch.testing.assert_close(b.targets, a.targets, atol=2e-4, rtol=1e-4)
        assert b.cost == pytest.approx(a.cost, rel=1e-3, abs=1e-6)
        assert b.info["batch"] == len(pairs)


def test_batched_sinkhorn_handles_massless_points():
    src, tgt = _cloud(40, 0.0, 1.0, 1), _cloud(50, 0.2, 1.0, 2)
    weights = torch.ones(50)
    weights[::3] = 0.0  # massless target points are dropped from the problem
    tgt = PointSet(tgt.points, weights)
    pairs = [(src, tgt), (_cloud(30, 0.0, 0.5, 3), _cloud(20, 0.1, 0.5, 4))]
    matcher = SinkhornMatcher(blur=0.05)
    for a, b in zip([matcher.match(*p) for p in pairs], matcher.match_batch(pairs)):
        torch.testing.assert_close(b.targets, a.targets, atol=2e-4, rtol=1e-4)


# --------------------------------------------------------------------------- batched renders and proxies
def _states(scene, angles):
    return [scene.evaluate({"rotation": torch.tensor([a])}) for a in angles]


def test_stacked_values_evaluate_to_the_states_of_each_start(any_angle_cube):
    angles = [0.3, -2.0, 1.1]
    stacked = any_angle_cube.evaluate({"rotation": torch.tensor(angles)[:, None]})
    assert stacked.starts == 3 and stacked.vertices.shape[0] == 3 and stacked.colors.ndim == 2  # colours shared
    for i, one in enumerate(_states(any_angle_cube, angles)):
        for field in ("vertices", "normals", "clip_matrices", "eyes", "lights"):
            torch.testing.assert_close(getattr(stacked.start(i), field), getattr(one, field))
    with pytest.raises(ValueError, match="rotation"):
        any_angle_cube.evaluate({"rotation": torch.zeros(3, 2)})


def test_one_render_of_start_view_entries_equals_one_render_per_state(any_angle_cube):
    backend = get_backend("torch")
    angles, views, starts = [0.3, -2.0, 1.1], [0, 4, 2, 4], [0, 1, 2, 0]
    stacked = any_angle_cube.evaluate({"rotation": torch.tensor(angles)[:, None]})
    batch = render(stacked, views, any_angle_cube.resolution, backend, starts=starts)
    for b, (s, v) in enumerate(zip(starts, views)):
        one = render(_states(any_angle_cube, [angles[s]])[0], [v], any_angle_cube.resolution, backend)
        torch.testing.assert_close(batch.image[b], one.image[0])
        torch.testing.assert_close(batch.rast[b], one.rast[0])
    torch.testing.assert_close(SceneState.stack(_states(any_angle_cube, angles)).vertices, stacked.vertices)


@pytest.mark.parametrize("implementation", ["reference", "op"])
def test_batched_proxies_equal_the_proxies_of_each_state(any_angle_cube, implementation):
    if implementation == "op" and not extension.op_supports(torch.device("cpu")):
        pytest.skip("drot._C not built")
    backend = get_backend("torch")
    angles, views = [0.3, -2.0], [1, 1]
    stacked = any_angle_cube.evaluate({"rotation": torch.tensor(angles)[:, None]})
    frame = render(stacked, views, any_angle_cube.resolution, backend, antialias=False, starts=[0, 1])
    batched = point_proxies(stacked, views, frame.rast, backend, implementation, starts=[0, 1])
    hw = frame.rast.shape[1] * frame.rast.shape[2]
    for b, s in enumerate(_states(any_angle_cube, angles)):
        one = point_proxies(s, [views[b]], frame.rast[b:b + 1], backend, implementation)
        rows = batched.pixel_index // hw == b
        assert torch.equal(batched.pixel_index[rows] - b * hw, one.pixel_index)
        torch.testing.assert_close(batched.rgbxy[rows], one.rgbxy)


def test_per_start_materials_shade_each_start_with_its_own(tmp_path):
    from drot.scene.parameters import Parameter
    scene = drot.load_scene("kitty", resolution=24)
    scene = dataclasses.replace(scene, parameters=(*scene.parameters, Parameter("d", "diffuse", torch.tensor([0.6]), initial=torch.tensor([0.5]))))
    values = [{**scene.initial_values(0), "d": torch.tensor([x])} for x in (0.2, 0.9)]
    stacked = scene.evaluate({k: torch.stack([v[k] for v in values]) for k in values[0]})
    assert stacked.diffuse.shape == (2, 1)
    backend = get_backend("torch")
    batch = render(stacked, [0, 0], scene.resolution, backend, starts=[0, 1]).image
    for i, v in enumerate(values):
        torch.testing.assert_close(batch[i], render(scene.evaluate(v), [0], scene.resolution, backend).image[0])


# --------------------------------------------------------------------------- start sets
def test_rotation_start_conversions_round_trip():
    q = uniform_rotations(torch.rand(200, 3, generator=torch.Generator().manual_seed(0)))
    matrices = quaternion_matrix(q)
    for m, e, r in zip(matrices, euler_angles(matrices), rotation_vectors(q)):
        torch.testing.assert_close(euler_matrix(e), m, atol=1e-9, rtol=0)
        torch.testing.assert_close(axis_angle_matrix(r), m, atol=1e-9, rtol=0)


def test_start_set_keeps_the_seeded_start_and_covers_the_angle_range(any_angle_cube):
    starts = start_set(any_angle_cube, seed=5, count=8)
    assert len(starts) == 8
    assert torch.equal(starts[0]["rotation"], any_angle_cube.initial_values(5)["rotation"])
    angles = sorted(float(s["rotation"]) for s in starts[1:])
    assert all(-math.pi <= a <= math.pi for a in angles)
    gaps = [b - a for a, b in zip(angles, angles[1:])] + [angles[0] + 2 * math.pi - angles[-1]]
    assert max(gaps) < 2 * math.pi / 7 * 2  # a low-discrepancy set: no gap over twice the even spacing
    assert start_set(any_angle_cube, seed=5, count=8)[3]["rotation"] == starts[3]["rotation"]  # reproducible


def test_three_d_rotation_starts_cover_so3():
    scene = drot.load_scene("scenes/paper/buddha.toml", resolution=16)
    starts = start_set(scene, seed=0, count=33)[1:]
    axes_z = torch.stack([euler_matrix(s["rotation"].double())[:, 2] for s in starts])
    # Uniform rotations send +z everywhere on the sphere: both hemispheres, far beyond U[0, π/2]³.
    assert (axes_z[:, 2] < -0.3).sum() >= 5 and (axes_z[:, 2] > 0.3).sum() >= 5


# --------------------------------------------------------------------------- the optimisation
def test_halving_schedule_thins_to_one_start():
    assert halving_iterations(1000, 8, 0.1, 0.5) == [99, 199, 299]
    assert halving_iterations(1000, 1, 0.1, 0.5) == []
    assert halving_iterations(1000, 8, 0.0, 0.5) == []
    assert halving_iterations(100, 64, 0.3, 0.5) == [29, 59, 89]  # stops before the end


def test_batch_equals_each_start_run_alone(any_angle_cube):
    settings = drot.OptimizeSettings(iterations=30, seed=1, rgbxy_fraction=0.5)
    batch = drot.optimize(any_angle_cube, settings=settings, starts=3, halving_interval=0.0)
    assert len(batch.starts) == 3 and all(s.stopped is None for s in batch.starts)
    for s in batch.starts:
        alone = drot.optimize(any_angle_cube, settings=settings, initial=s.initial_parameters)
        torch.testing.assert_close(s.parameters["rotation"], alone.parameters["rotation"], atol=1e-4, rtol=0)
        assert [h["mode"] for h in s.history] == [h["mode"] for h in alone.history]


def test_best_start_converges_where_the_single_start_does_not(any_angle_cube):
    # Seed 3 starts the cube turned -3.11 rad (facing away): a single DROT-hybrid run stays there.
    single = drot.optimize(any_angle_cube, iterations=80, seed=3)
    multi = drot.optimize(any_angle_cube, iterations=80, seed=3, starts=4)
    assert single.vertex_mae > 0.3
    assert multi.vertex_mae < 0.05
    assert multi.best_start != 0
    assert torch.equal(multi.starts[0].initial_parameters["rotation"], single.initial_parameters["rotation"])
    dropped = [s for s in multi.starts if s.stopped]
    assert len(dropped) == 3 and all("halving" in s.stopped and len(s.history) < 80 for s in dropped)
    assert len(multi.history) == 80 and multi.summary()["starts"] == 4


def test_animation_frames_show_the_winning_start_and_end_on_its_final_image(any_angle_cube):
    # Frames are rendered after the run from their iterations' parameter values: the last one must be
    # the best start's final render of frame_view, beside the target.
    iterations, frames = 20, 10
    for starts in (1, 4):
        result = drot.optimize(any_angle_cube, iterations=iterations, seed=3, starts=starts, record_frames=frames,
                               frame_view=2)
        assert len(result.frames) == frames + 1  # every 2nd iteration and the last one
        width = any_angle_cube.resolution[1]
        last = result.frames[-1]
        assert last.shape == (any_angle_cube.resolution[0], 2 * width + 2, 3)
        torch.testing.assert_close(last[:, :width], result.final_images[2].clamp(0, 1), atol=1e-5, rtol=0)
        torch.testing.assert_close(last[:, width + 2:], result.target_images[2].clamp(0, 1))
        assert not torch.allclose(result.frames[0][:, :width], last[:, :width])  # the start is elsewhere


def test_multistart_settings_are_checked_and_keep_old_run_keys():
    from drot.eval.run_keys import key_settings

    with pytest.raises(ValueError, match="starts must be an integer >= 1"):
        drot.OptimizeSettings(starts=0)
    with pytest.raises(ValueError, match="start_set must be one of"):
        drot.OptimizeSettings(start_set="grid")
    with pytest.raises(ValueError, match="keep_fraction"):
        drot.OptimizeSettings(keep_fraction=1.0)
    assert "starts" not in key_settings(drot.OptimizeSettings())  # stores written before multi-start still resume
    assert key_settings(drot.OptimizeSettings(starts=4))["starts"] == 4
    names = [name for name, _ in drot.OptimizeSettings(halving_interval=0.2).ignored()]
    assert names == ["halving_interval"]
    assert dataclasses.replace(drot.OptimizeSettings(), starts=2).multistart.starts == 2


def test_identical_starts_run_once_and_a_fixed_angle_is_spread():
    ginger = drot.load_scene("paper/ginger", resolution=16)  # one manual start: every start the same
    result = drot.optimize(ginger, iterations=3, starts=4)
    assert len(result.starts) == 1 and "3 of the 4 starts repeated another" in result.notes[-1]
    joint = drot.load_scene("paper/joint", resolution=16)  # the teapot's manual half-turn: spread the angle
    starts = start_set(joint, seed=0, count=6)
    assert float(starts[0]["turned/rotation"]) == pytest.approx(3.14)
    angles = [float(s["turned/rotation"]) for s in starts[1:]]
    assert len(set(angles)) == 5 and min(angles) < -1.0 and max(angles) > 1.0
    assert all(torch.equal(s["left/translation"], starts[0]["left/translation"]) for s in starts)


# --------------------------------------------------------------------------- coarse early phases
def test_coarse_resolution_and_problem():
    from drot.optim.coarse import CoarseProblem, coarse_resolution
    from drot.optim.targets import Goal
    assert coarse_resolution((128, 128), 0.5) == (64, 64)
    assert coarse_resolution((256, 192), 0.25) is None  # 48 px short side
    assert coarse_resolution((256, 256), 0.25) == (64, 64)
    assert coarse_resolution((128, 128), 1.0) is None
    assert coarse_resolution((64, 64), 0.5) is None  # 32 px lose the detail that tells a pose
    scene = drot.load_scene("paper/cube", resolution=48)
    images = torch.zeros(scene.num_views, 48, 48, 3)
    mask = torch.zeros(scene.num_views, 48, 48, dtype=torch.bool)
    mask[:, :24, :25] = True  # coarse pixels of column 12 are half covered: foreground
    images[mask] = 0.8
    coarse = CoarseProblem.of(scene, Goal(images, mask, None, None, "alpha"), (24, 24))
    assert coarse.scene.resolution == (24, 24) and coarse.goal.images.shape == (scene.num_views, 24, 24, 3)
    assert coarse.goal.mask.dtype == torch.bool and int(coarse.goal.mask[0].sum()) == 12 * 13
    assert coarse.goal.images[0, 0, 0].tolist() == pytest.approx([0.8] * 3)


def test_coarse_phases_before_the_last_halving_then_full_resolution(monkeypatch):
    import drot.optim.steps as steps
    scene = drot.load_scene("paper/cube", resolution=128)
    sizes = []
    real = steps.render
    monkeypatch.setattr(steps, "render", lambda state, views, res, *a, **k: sizes.append(tuple(res)) or
                        real(state, views, res, *a, **k))
    result = drot.optimize(scene, iterations=16, seed=0, starts=4, rgbxy_fraction=1.0, match_interval=0)
    # Halvings after iterations 3 and 7 thin 4 -> 2 -> 1: 8 coarse matchings, then 8 at full size.
    assert sizes == [(64, 64)] * 8 + [(128, 128)] * 8
    assert result.final_images.shape[1:3] == (128, 128) and len(result.history) == 16
    sizes.clear()
    drot.optimize(scene, iterations=8, seed=0, starts=4, rgbxy_fraction=1.0, match_interval=0, coarse_scale=1.0)
    assert sizes == [(128, 128)] * 8
    sizes.clear()
    drot.optimize(scene, iterations=4, seed=0, starts=2, rgbxy_fraction=1.0, match_interval=0, halving_interval=0.0)
    assert sizes == [(128, 128)] * 4  # no halving: no coarse phase
    with pytest.raises(ValueError, match="coarse_scale"):
        drot.OptimizeSettings(coarse_scale=0.0)
    assert [n for n, _ in drot.OptimizeSettings(coarse_scale=0.25).ignored()] == ["coarse_scale"]
