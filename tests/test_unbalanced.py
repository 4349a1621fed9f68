"""Unbalanced transport (``reach``): the fast kernel against GeomLoss and an independent reference,
what it changes (outliers stay put) and what it must not (a huge reach is balanced transport)."""
from __future__ import annotations

import pytest
import torch

from drot.matching import PointSet, SinkhornMatcher, embed
from drot.optim import OptimizeSettings

F64 = torch.float64


@pytest.fixture(autouse=True)
def _single_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def cloud(n: int, seed: int, shift: float = 0.0) -> PointSet:
    g = torch.Generator().manual_seed(seed)
    pts = torch.rand(n, 5, generator=g, dtype=F64)
    pts[:, 3:] = 0.3 * pts[:, 3:] + shift
    return PointSet(pts, 0.5 + torch.rand(n, generator=g, dtype=F64))


def naive_unbalanced_targets(source: PointSet, target: PointSet, lam: float, blur: float, reach: float):
    """Independent reference: alternating log-domain unbalanced Sinkhorn (KL marginals of strength
    reach²) at temperature blur² on ½||x~ - y~||², to convergence; returns x + w (T - x) with T the
    barycentre of each row of the plan and w its mass over a_i (at most 1)."""
    x, y = embed(source.points, lam), embed(target.points, lam)
    a = source.weights / source.weights.sum()
    b = target.weights / target.weights.sum()
    C = 0.5 * ((x[:, None] - y[None]) ** 2).sum(-1)
    eps, damp = blur ** 2, 1.0 / (1.0 + blur ** 2 / reach ** 2)
    f, g = torch.zeros(len(a), dtype=F64), torch.zeros(len(b), dtype=F64)
    for _ in range(20000):
        f_new = -damp * eps * torch.logsumexp(b.log()[None] + (g[None] - C) / eps, 1)
        g_new = -damp * eps * torch.logsumexp(a.log()[:, None] + (f_new[:, None] - C) / eps, 0)
        done = max((f_new - f).abs().max(), (g_new - g).abs().max()) < 1e-13
        f, g = f_new, g_new
        if done:
            break
    plan = a[:, None] * b[None] * torch.exp((f[:, None] + g[None] - C) / eps)
    rows = plan.sum(1)
    bary = (plan @ target.points) / rows[:, None]
    w = (rows / a).clamp(max=1.0)[:, None]
    return source.points + w * (bary - source.points)


@pytest.mark.parametrize("reach", [0.05, 0.3])
def test_fast_kernel_equals_geomloss_with_reach(reach):
    src, tgt = cloud(120, 0), cloud(90, 1, shift=0.2)
    fast = SinkhornMatcher(solver="fast", reach=reach).match(src, tgt)
    ref = SinkhornMatcher(solver="geomloss", reach=reach).match(src, tgt)
    assert torch.allclose(fast.targets, ref.targets, atol=1e-9)
    assert fast.cost == pytest.approx(ref.cost, rel=1e-9)
    assert 0 < fast.info["transported"] < 1


def test_converged_fast_kernel_equals_an_independent_unbalanced_sinkhorn():
    src, tgt = cloud(40, 2), cloud(30, 3, shift=0.1)
    got = SinkhornMatcher(lam=0.5, blur=0.2, scaling=0.9, final_iters=300, reach=0.4, solver="fast").match(src, tgt)
    want = naive_unbalanced_targets(src, tgt, 0.5, 0.2, 0.4)
    assert torch.allclose(got.targets, want, atol=1e-8)


def test_an_outlier_beyond_reach_stays_put_but_balanced_transport_pulls_it_across():
    src, tgt = cloud(60, 4), cloud(60, 5)
    far = src.points.clone()
    far[0, 3:] = torch.tensor([3.0, 3.0], dtype=F64)  # ~4 image widths from every target pixel
    src = PointSet(far, src.weights)
    balanced = SinkhornMatcher(solver="fast").match(src, tgt).targets
    unbalanced = SinkhornMatcher(solver="fast", reach=0.1).match(src, tgt).targets
    assert (balanced[0, 3:] - far[0, 3:]).norm() > 2.5          # dragged to the cloud
    assert (unbalanced[0, 3:] - far[0, 3:]).norm() < 1e-3       # left where it is
    # Points among the targets are still matched into the cloud.
    assert float((unbalanced[1:, 3:] - far[1:, 3:]).norm(dim=1).mean()) > 0.2 * float(
        (balanced[1:, 3:] - far[1:, 3:]).norm(dim=1).mean())


def test_a_huge_reach_is_balanced_transport():
    # Converged settings: at the paper's, neither plan has converged and the row masses are not 1.
    src, tgt = cloud(80, 6), cloud(70, 7, shift=0.1)
    converged = dict(blur=0.2, scaling=0.9, final_iters=300, solver="fast")
    balanced = SinkhornMatcher(**converged).match(src, tgt)
    loose = SinkhornMatcher(**converged, reach=1e4).match(src, tgt)
    assert torch.allclose(balanced.targets, loose.targets, atol=1e-4)
    assert loose.info["transported"] == pytest.approx(1.0, abs=1e-3)


def test_a_batch_with_reach_equals_each_problem_alone():
    pairs = [(cloud(50, 8), cloud(40, 9, shift=0.2)), (cloud(30, 10), cloud(60, 11))]
    matcher = SinkhornMatcher(solver="fast", reach=0.2)
    batch = matcher.match_batch(pairs)
    for (s, t), got in zip(pairs, batch):
        assert torch.allclose(got.targets, matcher.match(s, t).targets, atol=1e-10)


@pytest.mark.parametrize("reach", [0.0, -1.0, float("nan"), float("inf"), True])
def test_a_bad_reach_is_refused_by_name(reach):
    with pytest.raises(ValueError, match="reach"):
        SinkhornMatcher(reach=reach)
    if not isinstance(reach, bool):
        with pytest.raises(ValueError, match="sinkhorn_reach"):
            OptimizeSettings(sinkhorn_reach=reach)


@pytest.mark.parametrize("reach", [0.05, 0.3])
@pytest.mark.parametrize("kernel", ["torch", "compiled"])
def test_converged_multiscale_solver_equals_the_independent_unbalanced_sinkhorn(reach, kernel):
    from drot.matching.sinkhorn_kernel import TransportProblem
    from drot.matching.sinkhorn_multiscale import solve
    from drot.matching.sparse_pairs import compiled_available
    if kernel == "compiled" and not compiled_available():
        pytest.skip("drot._C is not built")
    src, tgt = cloud(120, 0), cloud(90, 1, shift=0.2)
    want = naive_unbalanced_targets(src, tgt, 0.5, 0.05, reach)
    (got, _, info), = solve([TransportProblem(src, tgt, 0.5)], 0.05, 0.9, final_iters=300, truncation=1e-12,
                            kernel=kernel, reach=reach)
    fast = SinkhornMatcher(solver="fast", reach=reach, blur=0.05, scaling=0.9, final_iters=300).match(src, tgt)
    # As close as the dense kernel run as long (measured 6e-14 at reach 0.05, 3.3e-5 vs 4.1e-5 at 0.3).
    assert float((got - want).abs().max()) <= float((fast.targets - want).abs().max()) + 1e-9
    assert info["transported"] == pytest.approx(fast.info["transported"], rel=1e-6)
    assert 0 < info["transported"] < 1


def test_reach_reaches_the_multiscale_solver():
    src, tgt = cloud(200, 12), cloud(200, 13, shift=0.3)
    ub = SinkhornMatcher(solver="multiscale", reach=0.05).match(src, tgt)
    bal = SinkhornMatcher(solver="multiscale").match(src, tgt)
    assert ub.info["solver"] == "multiscale" and 0 < ub.info["transported"] < 0.9
    assert "transported" not in bal.info
    # Less mass moves, so the targets stay nearer their points than balanced transport's.
    assert float((ub.targets - src.points).norm(dim=1).mean()) < float((bal.targets - src.points).norm(dim=1).mean())


@pytest.mark.parametrize("lam", [0.0, 1.0])
@pytest.mark.parametrize("solver", ["fast", "geomloss"])
def test_unbalanced_targets_are_finite_when_lam_drops_a_term(lam, solver):
    # λ = 0 (position only) or 1 (colour only) embeds some coordinates with a factor 0: the targets
    # start from the raw source points, not from the embedded ones divided back.
    g = torch.Generator().manual_seed(3)
    source = PointSet(torch.rand(40, 5, generator=g), torch.ones(40))
    target = PointSet(torch.rand(55, 5, generator=g), torch.ones(55))
    m = SinkhornMatcher(lam=lam, reach=0.1, solver=solver).match(source, target)
    assert bool(torch.isfinite(m.targets).all())
