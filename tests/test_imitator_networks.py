"""The imitators' architecture options: whole-image context, a learned screen-space map, a gated edit."""
import pytest
import torch

from drot import imitator as im
from drot.imitator.networks import ParameterImitator, SourceImitator, build_network


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    yield


def test_source_imitator_options_keep_shapes_and_rebuild_from_their_config():
    net = SourceImitator(5, width=8, context=True, positional=3, resolution=32, gated=True)
    v, src = torch.rand(2, 5), torch.rand(2, 32, 32, 3)
    out = net(v, src)
    assert out.shape == (2, 32, 32, 3)
    again = build_network(net.config)
    again.load_state_dict(net.state_dict())
    assert torch.allclose(again(v, src), out)
    with pytest.raises(ValueError, match=r"screen map is \(32, 32\), the sources are \(64, 64\)"):
        net(torch.rand(1, 5), torch.rand(1, 64, 64, 3))


def test_a_closed_gate_returns_the_source_exactly():
    net = SourceImitator(4, width=8, gated=True, gate_init=-1e4)  # gate logit far below zero everywhere
    src = torch.rand(3, 32, 32, 3)
    assert torch.equal(net(torch.rand(3, 4), src), src)
    assert not torch.equal(SourceImitator(4, width=8, gated=True)(torch.rand(3, 4), src), src)


def test_context_sees_a_single_bright_pixel_through_the_full_resolution_max():
    torch.manual_seed(0)
    net = SourceImitator(2, width=8, context=True)
    f0 = torch.zeros(1, 8, 32, 32)
    bright = f0.clone()
    bright[0, :, 31, 31] = 5.0  # one pixel: its mean barely moves, its max does
    f2 = torch.zeros(1, 32, 8, 8)
    v = torch.rand(1, 2)
    (g1, b1), (g2, b2) = net.film((f2, f0), v), net.film((f2, bright), v)
    assert (g1 - g2).abs().max() > 1e-3 and (b1 - b2).abs().max() > 1e-3


def test_parameter_imitator_with_a_screen_map():
    net = ParameterImitator(3, resolution=16, width=32, positional=2)
    assert net(torch.rand(4, 3)).shape == (4, 16, 16, 3)
    assert net.positional.shape == (1, 2, 16, 16)


def test_source_only_options_warn_on_a_parameter_imitator():
    r = im.TryOnRenderer()
    samples = im.generate(r, 4, progress=False)
    samples.sources = None  # now it is a parameter-only data set
    with pytest.warns(UserWarning, match="context, gated apply to source imitators only"):
        im.train_imitator(samples, r.space, im.ImitatorSettings(steps=1, batch=2, context=True, gated=True,
                                                                progress=False))
