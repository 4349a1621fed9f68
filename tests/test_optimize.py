"""End to end: the optimizer, its schedule and matching reuse, targets given in every form."""
import dataclasses

import imageio.v3 as iio
import numpy as np
import pytest
import torch

import drot
from drot.optim.schedule import GradientSchedule

FAR_START = {"translation": torch.tensor([0.8, 0.8, -0.8])}  # no overlap with the target in most views


@pytest.fixture(scope="module")
def kitty48():
    return drot.load_scene("kitty", resolution=48)


@pytest.fixture(scope="module")
def far_runs(kitty48):
    return {strategy: drot.optimize(kitty48, strategy=strategy, iterations=250, initial=FAR_START, seed=0)
            for strategy in ("hybrid", "standard")}


def test_hybrid_converges_from_a_far_start(far_runs):
    result = far_runs["hybrid"]
    assert result.vertex_mae < 0.01
    assert result.psnr > 30
    assert torch.allclose(result.parameters["translation"], torch.zeros(3), atol=0.03)


def test_hybrid_beats_standard_derivatives_from_a_far_start(far_runs):
    assert far_runs["standard"].vertex_mae > 0.1  # stuck: per-pixel gradients do not reach that far
    assert far_runs["hybrid"].vertex_mae < far_runs["standard"].vertex_mae / 10


def test_result_records_history_and_images(far_runs, kitty48):
    result = far_runs["hybrid"]
    assert len(result.history) == 250
    modes = [h["mode"] for h in result.history]
    assert modes[:187] == ["rgbxy"] * 187 and set(modes[188:]) == {"standard"}
    assert result.final_images.shape == result.target_images.shape == (6, 48, 48, 3)
    assert result.history[0]["vertex_mae"] > result.history[-1]["vertex_mae"]
    assert result.initial_parameters["translation"].tolist() == FAR_START["translation"].tolist()
    summary = result.summary()
    assert summary["method"] == "hybrid" and summary["vertex_mae"] == result.vertex_mae


@pytest.mark.parametrize("K", [0, 5])
def test_matching_is_recomputed_every_K_plus_one_iterations(kitty48, K):
    result = drot.optimize(kitty48, strategy="basic", iterations=24, match_interval=K, seed=1,
                           initial={"translation": torch.tensor([0.1, 0.0, 0.0])})
    matched_at = [h["iteration"] for h in result.history if h["matching_seconds"] > 0]
    assert matched_at == list(range(0, 24, K + 1))


def test_schedule_strategies():
    assert [GradientSchedule("hybrid", 8).uses_rgbxy(i) for i in range(8)] == [True] * 6 + [False] * 2
    assert [GradientSchedule("hybrid", 10, rgbxy_fraction=0.5).uses_rgbxy(i) for i in range(10)] == [True] * 5 + [False] * 5
    assert all(GradientSchedule("basic", 5).uses_rgbxy(i) for i in range(5))
    assert not any(GradientSchedule("standard", 5).uses_rgbxy(i) for i in range(5))
    coins = [GradientSchedule("random", 200, seed=3).uses_rgbxy(i) for i in range(200)]
    assert 60 < sum(coins) < 140
    assert coins == [GradientSchedule("random", 200, seed=3).uses_rgbxy(i) for i in range(200)]
    with pytest.raises(ValueError, match="unknown strategy"):
        GradientSchedule("hybridd", 5)


def test_runs_are_reproducible(kitty48):
    a = drot.optimize(kitty48, iterations=30, seed=4)
    b = drot.optimize(kitty48, iterations=30, seed=4)
    assert torch.equal(a.parameters["translation"], b.parameters["translation"])


def test_target_given_as_images_and_files(kitty48, tmp_path):
    goal = {"translation": torch.tensor([0.15, -0.1, 0.05])}
    reference = drot.optimize(kitty48, goal, iterations=1)
    images = reference.target_images
    start = {"translation": torch.tensor([0.35, 0.1, -0.15])}
    from_tensor = drot.optimize(kitty48, images, iterations=250, initial=start)
    assert from_tensor.vertex_mae is None  # no target geometry known
    assert torch.allclose(from_tensor.parameters["translation"], goal["translation"], atol=0.03)
    paths = []
    for v in range(images.shape[0]):
        paths.append(tmp_path / f"view{v}.png")
        iio.imwrite(paths[-1], (images[v].clamp(0, 1).numpy() * 255).round().astype(np.uint8))
    from_files = drot.optimize(kitty48, paths, iterations=250, initial=start)
    assert torch.allclose(from_files.parameters["translation"], goal["translation"], atol=0.03)


def test_target_given_as_a_scene(kitty48):
    moved = dataclasses.replace(kitty48, parameters=(dataclasses.replace(
        kitty48.parameters[0], target=torch.tensor([0.2, 0.0, -0.1])),))
    result = drot.optimize(kitty48, moved, iterations=250, initial={"translation": torch.tensor([-0.3, 0.2, 0.2])})
    assert torch.allclose(result.parameters["translation"], torch.tensor([0.2, 0.0, -0.1]), atol=0.03)


def test_background_modes_both_converge(kitty48):
    for mode in ("include", "exclude"):
        r = drot.optimize(kitty48, strategy="basic", iterations=120, background=mode,
                          initial={"translation": torch.tensor([0.3, -0.3, 0.2])})
        assert r.vertex_mae < 0.03, mode


@pytest.mark.parametrize("matcher", ["bipartite", "identity"])
def test_alternative_matchers_plug_into_the_loop(kitty48, matcher):
    start = {"translation": torch.tensor([0.1, -0.1, 0.05])}
    result = drot.optimize(kitty48, strategy="basic", matcher=matcher, iterations=40, initial=start)
    assert all(h["mode"] == "rgbxy" for h in result.history)
    assert all(np.isfinite(h["loss"]) for h in result.history)
    if matcher == "bipartite":  # an exact matching pulls as well as OT; identity pairing is the no-transport ablation
        assert result.vertex_mae < result.history[0]["vertex_mae"] / 2


def test_hybrid_switch_is_detected_once_and_resets_adam():
    hybrid = GradientSchedule("hybrid", 100, 0.75)
    assert [it for it in range(100) if hybrid.switches_to_standard(it)] == [75]
    assert not any(GradientSchedule(s, 100).switches_to_standard(it) for s in ("basic", "random", "standard")
                   for it in range(100))
    scene = drot.load_scene("kitty", resolution=32)
    start = {"translation": torch.tensor([0.3, -0.2, 0.1])}
    kept = drot.optimize(scene, iterations=24, initial=start, reset_at_switch=False)
    reset = drot.optimize(scene, iterations=24, initial=start)
    # Identical up to the switch, different after it (fresh moments give other step sizes).
    assert kept.history[17]["loss"] == reset.history[17]["loss"]
    assert kept.history[-1]["loss"] != reset.history[-1]["loss"]


def test_fixed_parameters_stay_and_regularizer_enters_the_loss():
    scene = drot.load_scene("cube", resolution=24)
    start = scene.initial_values(3)
    result = drot.optimize(scene, iterations=6, initial=start, fixed=("rotation",), strategy="standard")
    assert torch.equal(result.parameters["rotation"], start["rotation"])
    assert not torch.equal(result.parameters["translation"], start["translation"])
    plain = drot.optimize(scene, iterations=3, initial=start, strategy="standard")
    pulled = drot.optimize(scene, iterations=3, initial=start, strategy="standard",
                           regularizer=lambda v: 100.0 * v["translation"].square().sum())
    assert pulled.history[0]["loss"] > plain.history[0]["loss"] + 1.0
    with pytest.raises(ValueError, match="fixed names unknown"):
        drot.optimize(scene, iterations=2, fixed=("nope",))
