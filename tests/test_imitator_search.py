"""The imitator-steered search on the real renderer and the gradient-free baselines at equal calls
(toy renderer of tests/imitator_toy.py; an exact and a deliberately biased 'imitator')."""
import sys
from pathlib import Path

import pytest
import torch

from drot import imitator as im
from drot.imitator.baselines import BASELINES, baseline_search
from drot.imitator.search import SearchSettings, best_so_far, imitator_search

sys.path.insert(0, str(Path(__file__).parent))
from imitator_toy import ToyRenderer  # noqa: E402
from test_imitator import _ExactToy  # noqa: E402


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    yield


class _Biased(torch.nn.Module):
    """The exact toy with a wrong gain and offset: its Jacobian is off by 40 %, its images by far more."""

    def forward(self, v, sources=None):
        return 0.6 * _ExactToy()(v) + 0.15


def _problem(n=4, seed=3):
    r = ToyRenderer()
    g = torch.Generator().manual_seed(seed)
    truth = r.space.project(r.space.sample(n, g))
    start = truth.clone()
    start[:, :2] = (start[:, :2] + 0.3 * torch.randn(n, 2, generator=g)).clamp(0, 1)
    start[:, 2:] = start[:, 2:].flip(1)  # every start has the wrong shape
    return r, truth, start, r(truth)


@pytest.mark.parametrize("network", [_ExactToy, _Biased])
def test_search_recovers_the_truth_within_its_budget_and_never_ends_worse(network):
    r, truth, start, targets = _problem()
    imitator = im.Imitator(network(), r.space)
    before = r.calls
    result = imitator_search(imitator, r, targets, start, settings=SearchSettings(calls=12))
    spent = r.calls - before
    assert spent == int((~torch.isnan(result.losses)).sum()) <= 12 * truth.shape[0]
    assert torch.equal(result.vectors[:, 2:], truth[:, 2:])          # the shape, by search
    assert (result.vectors[:, :2] - truth[:, :2]).abs().max() < 0.02    # the continuous slots, by LM steps
    best, vectors = best_so_far(result.losses, result.visited)
    assert torch.all(best[:, 1:] <= best[:, :1])                        # never worse than the first render
    assert torch.equal(vectors[:, -1], result.vectors)
    assert min(result.accepted) >= 1


def test_the_secant_correction_is_what_rescues_a_biased_imitator():
    r, truth, start, targets = _problem(n=6, seed=5)
    imitator = im.Imitator(_Biased(), r.space)
    with_secant = imitator_search(imitator, r, targets, start, settings=SearchSettings(calls=6))
    without = imitator_search(imitator, r, targets, start, settings=SearchSettings(calls=6, secant=False))
    err = lambda res: float((res.vectors[:, :2] - truth[:, :2]).abs().mean())  # noqa: E731
    assert err(with_secant) < err(without)


def test_search_refuses_what_it_cannot_do():
    r, truth, start, targets = _problem(n=1)
    imitator = im.Imitator(_ExactToy(), r.space)
    with pytest.raises(ValueError, match="calls=1 cannot even search the discrete choices"):
        imitator_search(imitator, r, targets, start, settings=SearchSettings(calls=1))
    with pytest.raises(ValueError, match="targets must be"):
        imitator_search(imitator, r, targets[:, :16], start)
    with pytest.raises(ValueError, match="calls must be an integer >= 1"):
        SearchSettings(calls=0)
    with pytest.raises(ValueError, match="max_step"):
        SearchSettings(max_step=2.0)
    other = im.ParameterSpace([im.Continuous("a", 0, 1), im.Continuous("c", 0, 1), im.Discrete("shape", ("x", "y"))])
    with pytest.raises(ValueError, match="another parameter space"):
        imitator_search(im.Imitator(_ExactToy(), other), r, targets, start)


@pytest.mark.parametrize("method", sorted(BASELINES))
def test_baselines_keep_their_budget_and_improve_on_their_start(method):
    pytest.importorskip("cma") if method == "cma-es" else None
    r, truth, start, targets = _problem(n=3)
    result = baseline_search(method, r, targets, start, calls=25)
    used = (~torch.isnan(result.losses)).sum(1)
    assert torch.all(used <= 25) and torch.all(used >= 3)
    best, _ = best_so_far(result.losses, result.visited)
    assert torch.all(best[:, -1] <= best[:, 2])           # the first 2 calls are the discrete search
    assert torch.all(best[:, -1] < best[:, 0])
    assert torch.equal(result.vectors[:, 2:], truth[:, 2:])  # the same discrete search as the imitator's
    with pytest.raises(ValueError, match="unknown baseline 'powell'"):
        baseline_search("powell", r, targets, start)


def test_best_so_far_skips_unused_calls():
    losses = torch.tensor([[3.0, 1.0, 2.0, float("nan")]])
    visited = torch.arange(4.0).view(1, 4, 1)
    best, vectors = best_so_far(losses, visited)
    assert best.tolist() == [[3.0, 1.0, 1.0, 1.0]] and vectors[0, :, 0].tolist() == [0.0, 1.0, 1.0, 1.0]
