"""The Mitsuba 3 black box (scalar_rgb path tracer, no gradients) and the imitator pipeline on it, tiny sizes."""
import pytest
import torch

mi = pytest.importorskip("mitsuba")

from drot import imitator as im  # noqa: E402
from drot.imitator.renderers.mitsuba_scene import SHAPES, MitsubaRenderer  # noqa: E402


@pytest.fixture(scope="module")
def renderer():
    return MitsubaRenderer(resolution=32, spp=2)


def test_mitsuba_renders_without_gradients_with_common_random_numbers(renderer, one_thread):
    space = renderer.space
    base = dict(r=0.8, g=0.2, b=0.1, roughness=0.3, light_x=0.0, intensity=15.0, shape="sphere")
    v = space.encode([base, {**base, "shape": "cube"}, {**base, "light_x": 1.4}, {**base, "intensity": 4.0}]).requires_grad_(True)
    images = renderer(v, seed=3)
    assert images.shape == (4, 32, 32, 3) and not images.requires_grad
    again = renderer(v[:1], seed=3)
    assert torch.equal(again[0], images[0])                         # same seed: the same noise
    assert (images[1] - images[0]).abs().mean() > 0.01              # another mesh
    assert (images[2] - images[0]).abs().mean() > 0.005             # the light moved
    assert images[3].mean() < images[0].mean()                      # a weaker light
    assert space["shape"].choices == SHAPES
    with pytest.raises(ValueError, match="spp must be"):
        MitsubaRenderer(spp=0)
    with pytest.raises(ValueError, match="'intensity'.*outside its range"):
        space.encode({**base, "intensity": 100.0})


def test_mitsuba_imitator_pipeline_runs(renderer, one_thread, tmp_path):
    samples = im.generate(renderer, 8, progress=False)
    imi, _ = im.train_imitator(samples, renderer.space, im.ImitatorSettings(steps=2, batch=4, width=16, progress=False),
                               checkpoint=tmp_path / "m.pt")
    assert im.load_imitator(tmp_path / "m.pt").space == renderer.space
    errors = im.sensitivity_errors(imi, renderer, samples.vectors[:2])
    assert set(errors) == set(renderer.space.names)
    grad = im.finite_difference_gradient(renderer, samples.vectors[0], samples.images[1])
    assert grad.shape == (renderer.space.dim,) and torch.isfinite(grad).all() and grad.abs().sum() > 0
    found, calls = im.relax_and_search(renderer, samples.images[:1], samples.vectors[:1])
    assert calls == len(SHAPES)
