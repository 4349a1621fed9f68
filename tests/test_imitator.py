"""drot.imitator: parameter space, black-box rendering, losses, imitator training with checkpoints,
the sensitivity loss, the encoder, refinement and relax-and-search (toy renderer: tests/imitator_toy.py)."""
import dataclasses
import sys
from pathlib import Path

import pytest
import torch

from drot import imitator as im
from drot.imitator import Continuous, Discrete, ParameterSpace

sys.path.insert(0, str(Path(__file__).parent))
from imitator_toy import SourceToy, ToyRenderer  # noqa: E402


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    yield


@pytest.fixture(scope="module")
def toy_samples():
    return im.generate(ToyRenderer(), 64, seed=1, progress=False)


# ------------------------------------------------------------------------------------ space
def test_space_round_trips_settings_and_one_hots():
    space = ToyRenderer().space
    settings = [{"a": 0.25, "b": 1.0, "shape": "square"}, {"a": 0.0, "b": 0.5, "shape": "disc"}]
    v = space.encode(settings)
    assert v.shape == (2, 4) and v[0].tolist() == [0.25, 1.0, 0.0, 1.0]
    assert space.decode(v) == settings
    assert space.choice_index(v, "shape").tolist() == [1, 0]
    relaxed = torch.tensor([[0.3, 0.7, 0.6, 0.4]])
    assert torch.allclose(space.project(relaxed), torch.tensor([[0.3, 0.7, 1.0, 0.0]]))
    assert ParameterSpace.from_dict(space.to_dict()) == space


def test_space_refuses_bad_input_naming_the_parameter():
    space = ToyRenderer().space
    with pytest.raises(ValueError, match="'a'.*outside its range"):
        space.encode({"a": 1.5, "b": 0.0, "shape": "disc"})
    with pytest.raises(ValueError, match="'shape'.*unknown choice 'star'"):
        space.encode({"a": 0.5, "b": 0.0, "shape": "star"})
    with pytest.raises(ValueError, match="no value for parameter 'b'"):
        space.encode({"a": 0.5, "shape": "disc"})
    with pytest.raises(ValueError, match="unknown parameter 'shap'.*did you mean 'shape'"):
        space.encode({"a": 0.5, "b": 0.1, "shape": "disc", "shap": 1})
    with pytest.raises(ValueError, match=r"vectors must be float \[B, 4\]"):
        space.decode(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="'x': high"):
        Continuous("x", 1.0, 0.0)
    with pytest.raises(ValueError, match="'d': needs at least two"):
        Discrete("d", ("only",))
    with pytest.raises(ValueError, match="missing or bad key"):
        ParameterSpace.from_dict({"uniform_mix": 0.5})


def test_space_sampling_mixes_the_fitted_gaussian_with_uniform():
    base = ParameterSpace([Continuous("x", 0, 10), Discrete("d", ("p", "q"))], uniform_mix=0.0)
    fitted = base.fit([{"x": 2.0, "d": "p"}, {"x": 2.2, "d": "p"}, {"x": 1.8, "d": "p"}])
    s = fitted.sample(400, torch.Generator().manual_seed(0))
    assert abs(float(s[:, 0].mean()) - 0.2) < 0.02 and float(s[:, 1].mean()) == 1.0  # all 'p'
    mixed = fitted.fit([{"x": 2.0, "d": "p"}, {"x": 2.2, "d": "p"}, {"x": 1.8, "d": "p"}], uniform_mix=0.5)
    s = mixed.sample(2000, torch.Generator().manual_seed(0))
    assert 0.3 < float((s[:, 0] > 0.4).float().mean()) < 0.5  # ~half uniform: 0.5 * 0.6 above 0.4
    shifted = mixed.shift(s[:5], torch.tensor([1, 1, 1, 0, 0]))
    assert (shifted[:3, 1:] != s[:3, 1:]).any(1).all() and torch.equal(shifted[:3, 0], s[:3, 0])


# ---------------------------------------------------------------------------------- black box
def test_black_box_renders_batches_without_gradients_and_checks_input():
    r = ToyRenderer()
    v = r.space.sample(3, torch.Generator().manual_seed(0)).requires_grad_(True)
    images = r(v)
    assert images.shape == (3, 32, 32, 3) and not images.requires_grad and r.calls == 3
    with pytest.raises(ValueError, match="sources must be None"):
        r(v, torch.zeros(3, 32, 32, 3))
    with pytest.raises(ValueError, match="pass sources"):
        SourceToy()(v)
    with pytest.raises(ValueError, match="workers must be an integer"):
        r(v, workers=0)


def test_black_box_worker_processes_give_the_same_images():
    r = SourceToy()
    g = torch.Generator().manual_seed(0)
    v, s = r.space.sample(4, g), r.sources(4, g)
    assert torch.equal(r(v, s, workers=2), r(v, s))


# ------------------------------------------------------------------------------------ losses
def test_perceptual_loss_is_zero_on_equal_images_and_differentiable():
    x = torch.rand(2, 32, 32, 3)
    assert float(im.perceptual_loss(x, x)) < 1e-5 and torch.allclose(im.ms_ssim(x, x), torch.ones(2))
    y = x.clone().requires_grad_(True)
    im.perceptual_loss(y, (x + 0.1).clamp(0, 1)).backward()
    assert y.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="at least 28 pixels"):
        im.ms_ssim(torch.rand(1, 16, 16, 3), torch.rand(1, 16, 16, 3))


# --------------------------------------------------------------------------- imitator training
def _settings(**kw):
    return dataclasses.replace(im.ImitatorSettings(steps=6, batch=4, progress=False, checkpoint_every=3), **kw)


def test_checkpoint_resume_gives_identical_weights_and_continues(tmp_path, toy_samples):
    space = ToyRenderer().space
    straight, hist = im.train_imitator(toy_samples, space, _settings(steps=6))
    path = tmp_path / "imi.pt"
    im.train_imitator(toy_samples, space, _settings(steps=6), checkpoint=path, until=3)  # interrupted at 3
    loaded = im.load_imitator(path)
    assert loaded.space == space
    resumed, hist2 = im.train_imitator(toy_samples, space, _settings(steps=6), checkpoint=path)
    assert [h["step"] for h in hist2] == list(range(1, 7))
    for a, b in zip(straight.state_dict().values(), resumed.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-6)
    again = im.load_imitator(path)
    for a, b in zip(again.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="other settings \\(lr\\)"):
        im.train_imitator(toy_samples, space, _settings(steps=8, lr=0.1), checkpoint=path)
    torch.save({"hello": 1}, tmp_path / "bad.pt")
    with pytest.raises(ValueError, match="bad.pt: not a drot.imitator checkpoint \\(missing key 'kind'\\)"):
        im.load_imitator(tmp_path / "bad.pt")


def test_source_imitator_and_adversarial_term_train(toy_samples):
    r = SourceToy()
    samples = im.generate(r, 8, progress=False)
    imi, hist = im.train_imitator(samples, r.space, _settings(steps=2, adversarial=0.1))
    assert imi.needs_source and len(hist) == 2
    out = imi(samples.vectors[:2], samples.sources[:2])
    assert out.shape == (2, 32, 32, 3)
    with pytest.raises(ValueError, match="pass sources"):
        imi(samples.vectors[:2])


@pytest.fixture(scope="module")
def toy_imitators(toy_samples):
    """Imitators of the toy renderer trained without (0) and with (20) the sensitivity loss."""
    return {lam: im.train_imitator(toy_samples, ToyRenderer().space, _settings(
        steps=150, batch=16, width=32, sensitivity=lam, checkpoint_every=0))[0] for lam in (0.0, 20.0)}


@pytest.fixture(scope="module")
def toy_imitator(toy_imitators):
    return toy_imitators[20.0]


@pytest.mark.slow
def test_sensitivity_loss_reduces_the_sensitivity_error(toy_imitators):
    r = ToyRenderer()
    held = r.space.sample(16, torch.Generator().manual_seed(5))
    errors = {lam: im.sensitivity_errors(imi, r, held) for lam, imi in toy_imitators.items()}
    # Measured (150 steps): a 0.79 -> 0.26, b (the 3 x 3 dot) 0.73 -> 0.66, shape 0.81 -> 0.69.
    mean = {lam: sum(e.values()) / len(e) for lam, e in errors.items()}
    assert mean[20.0] < 0.8 * mean[0.0], errors
    assert all(errors[20.0][p] < errors[0.0][p] for p in errors[0.0]), errors


# ---------------------------------------------------------------- encoder, refinement, search
def test_encoder_trains_with_the_rendering_loss_and_predicts_in_one_pass(toy_samples, toy_imitator, tmp_path):
    enc, hist = im.train_encoder(toy_samples, toy_imitator, im.EncoderSettings(steps=30, batch=16, progress=False),
                                 checkpoint=tmp_path / "enc.pt")
    assert hist[-1]["rendering"] > 0 and hist[-1]["graphics"] < hist[0]["graphics"]
    v = im.load_encoder(tmp_path / "enc.pt").predict(toy_samples.images[:3])
    assert v.shape == (3, 4) and torch.allclose(v[:, 2:].sum(1), torch.ones(3))
    assert torch.allclose(v, enc.predict(toy_samples.images[:3]))
    with pytest.raises(ValueError, match="needs an imitator"):
        im.train_encoder(toy_samples, None)


@pytest.mark.parametrize("loss", ["perceptual", "l2", "ot"])
def test_refinement_through_the_imitator_lowers_its_loss(toy_imitator, loss):
    r = ToyRenderer()
    truth = r.space.encode([{"a": 0.8, "b": 0.2, "shape": "square"}])
    start = r.space.encode([{"a": 0.3, "b": 0.6, "shape": "disc"}]) * 0.6 + 0.2
    result = im.refine(toy_imitator, r(truth), start, settings=im.RefineSettings(steps=40, lr=0.05, loss=loss))
    assert result.history[-1] < 0.7 * result.history[0]
    assert abs(float(result.vectors[0, 0]) - 0.8) < abs(0.5 - 0.8)  # a moved towards the truth
    with pytest.raises(ValueError, match="unknown refine loss 'l3'"):
        im.RefineSettings(loss="l3")


def test_relax_and_search_recovers_a_choice_argmax_gets_wrong():
    r = ToyRenderer()
    truth = r.space.encode([{"a": 0.7, "b": 0.4, "shape": "square"}])
    relaxed = truth.clone()
    relaxed[0, 2:] = torch.tensor([0.55, 0.45])  # the relaxed optimum leans the wrong way
    assert r.space.choice_index(im.argmax_quantise(r.space, relaxed), "shape").item() == 0
    found, calls = im.relax_and_search(r, r(truth), relaxed)
    assert calls == 2 and torch.equal(found, truth)


def test_nelder_mead_improves_on_its_start_within_its_budget():
    r = ToyRenderer()
    truth = r.space.encode([{"a": 0.7, "b": 0.4, "shape": "square"}])
    start = r.space.encode([{"a": 0.4, "b": 0.6, "shape": "square"}])
    best, calls = im.nelder_mead(r, r(truth)[0], start, calls=40)
    assert calls <= 40 and (best - truth).abs().sum() < (start - truth).abs().sum()


class _ExactToy(torch.nn.Module):
    """The toy renderer in differentiable torch (no 8-bit rounding): an 'imitator' that is exact."""

    def forward(self, v, sources=None):
        y, x = torch.meshgrid(torch.arange(32) + 0.5, torch.arange(32) + 0.5, indexing="ij")
        disc = (((x - 12) ** 2 + (y - 14) ** 2) < 64).float()
        square = ((abs(x - 12) < 7) & (abs(y - 14) < 7)).float()
        blob = v[:, 2, None, None] * disc + v[:, 3, None, None] * square
        img = torch.full((v.shape[0], 32, 32, 3), 0.2)
        colour = torch.stack([0.2 + 0.7 * v[:, 0], torch.full_like(v[:, 0], 0.3), torch.full_like(v[:, 0], 0.5)], 1)
        img = img * (1 - blob[..., None]) + colour[:, None, None, :] * blob[..., None]
        dot = torch.zeros(32, 32)
        dot[26:29, 26:29] = 1
        return img * (1 - dot[..., None]) + (0.1 + 0.9 * v[:, 1])[:, None, None, None] * dot[..., None]


def test_gradient_agreement_of_an_exact_imitator_with_finite_differences():
    r = ToyRenderer()
    exact = im.Imitator(_ExactToy(), r.space)
    g = torch.Generator().manual_seed(3)
    truth = r.space.sample(4, g)
    assert (exact(truth) - r(truth)).abs().max() < 1 / 255
    start = truth.clone()
    start[:, :2] = (start[:, :2] + 0.3 * torch.randn(4, 2, generator=g)).clamp(0.1, 0.9)
    cos = im.gradient_cosine(exact, lambda v, t, s: im.finite_difference_gradient(r, v, t, s, eps=0.05),
                             start, r(truth))
    assert len(cos) == 4 and min(cos) > 0.95, cos
