"""The multiscale sparse Sinkhorn (drot.matching.sinkhorn_multiscale) and its pyramid."""
from __future__ import annotations

import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drot.matching import PointSet, SinkhornMatcher, image_points
from drot.matching.pyramid import pyramid
from drot.matching.sinkhorn import AUTO_MULTISCALE_POINTS, AUTO_MULTISCALE_POINTS_COMPILED, solver_for
from drot.matching.sinkhorn_kernel import TransportProblem, solve as dense_solve
from drot.matching.sinkhorn_multiscale import solve as multiscale_solve

# Settings where both solvers converge (the paper's blur 0.01 with one iteration per temperature
# does not: there the two schedules stop at different points, see test_paper_settings_*).
CONVERGED = dict(blur=0.05, scaling=0.9, final_iters=150)
SLOW = settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def blob_image(res: int, cx: float, cy: float, r: float, color):
    t = (torch.arange(res, dtype=torch.float32) + 0.5) / res
    y, x = torch.meshgrid(t, t, indexing="ij")
    d2 = (x - cx) ** 2 + (y - cy) ** 2
    mask = d2 < r * r
    shade = 0.4 + 0.6 * (1 - d2 / (r * r)).clamp(0, 1).sqrt()
    return torch.tensor(color)[None, None, :] * shade[..., None] * mask[..., None], mask


def image_pair(res: int, shift: float = 0.2, r: float = 0.25):
    s, _ = image_points(*blob_image(res, 0.35, 0.4, r * 0.8, (0.9, 0.5, 0.3)), background="include", pool=1)
    t, _ = image_points(*blob_image(res, 0.35 + shift, 0.55, r, (0.8, 0.6, 0.3)), background="include", pool=1)
    return s, t


def both(source: PointSet, target: PointSet, blur: float, scaling: float, final_iters: int = 0, **kw):
    prob = TransportProblem(source, target, 0.5)
    (td, cd, id_), = dense_solve([prob], blur, scaling, final_iters=final_iters)
    (tm, cm, im), = multiscale_solve([prob], blur, scaling, final_iters=final_iters, **kw)
    return (td, cd, id_), (tm, cm, im)


# ---------------------------------------------------------------------------------------- pyramid
@SLOW
@given(st.integers(1, 400), st.integers(0, 10_000), st.booleans())
def test_pyramid_preserves_mass_and_mean(n, seed, some_massless):
    g = torch.Generator().manual_seed(seed)
    pts = torch.rand(n, 5, generator=g, dtype=torch.float64)
    mass = torch.rand(n, generator=g, dtype=torch.float64)
    if some_massless:
        mass[::3] = 0.0
    if float(mass.sum()) == 0:
        mass[0] = 1.0
    cells = [0.05, 0.1, 0.2, 0.4, 0.8]
    levels = pyramid(pts, mass, cells)
    mean0 = (mass[:, None] * pts).sum(0) / mass.sum()
    for k, lv in enumerate(levels):
        assert math.isclose(float(lv.mass.sum()), float(mass.sum()), rel_tol=1e-12)
        mean = (lv.mass[:, None] * lv.points).sum(0) / lv.mass.sum()
        assert torch.allclose(mean, mean0, atol=1e-12)
        if k + 1 < len(levels):
            coarse = levels[k + 1]
            # parent / children agree, every point has exactly one parent, masses add up
            assert lv.parent.shape == (len(lv),) and int(lv.parent.max()) < len(coarse)
            child, owner = coarse.children(torch.arange(len(coarse)))
            assert sorted(child.tolist()) == list(range(len(lv)))
            assert torch.equal(lv.parent[child], owner)
            summed = torch.zeros(len(coarse), dtype=torch.float64).index_add_(0, lv.parent, lv.mass)
            assert torch.allclose(summed, coarse.mass, atol=1e-12)
    # a cell's members lie within one cell side of its pooled point in every coordinate
    lv1 = levels[1]
    assert float((pts - lv1.points[levels[0].parent]).abs().max()) <= cells[0] + 1e-12


def test_pyramid_is_2x2_pooling_on_a_uniform_image():
    img = torch.full((8, 8, 3), 0.5, dtype=torch.float64)
    ps, _ = image_points(img, torch.ones(8, 8, dtype=torch.bool))
    levels = pyramid(ps.points, ps.weights, [0.25, 0.5])
    assert [len(lv) for lv in levels] == [64, 16, 4]
    assert torch.equal(levels[1].mass, torch.full((16,), 4.0, dtype=torch.float64))
    child, owner = levels[1].children(torch.tensor([0]))
    assert sorted(child.tolist()) == [0, 1, 8, 9]  # pixels (0,0), (0,1), (1,0), (1,1)


def test_pyramid_rejects_bad_cells():
    with pytest.raises(ValueError, match="twice"):
        pyramid(torch.rand(4, 5), torch.ones(4), [0.1, 0.3])


# ------------------------------------------------------------------------------ against the dense
@SLOW
@given(st.integers(30, 300), st.integers(30, 300), st.integers(0, 10_000))
def test_random_sets_match_the_dense_solver(n, m, seed):
    g = torch.Generator().manual_seed(seed)
    s = PointSet(torch.rand(n, 5, generator=g), 0.2 + torch.rand(n, generator=g))
    t = PointSet(torch.rand(m, 5, generator=g), 0.2 + torch.rand(m, generator=g))
    (td, cd, id_), (tm, cm, im) = both(s, t, **CONVERGED)
    assert abs(cm - cd) <= 0.01 * cd
    diff = (tm - td).abs()  # coordinates in [0, 1]; the residual is the schedules' convergence
    assert float(diff.max()) < 0.05 and float(diff.mean()) < 0.005
    assert im["marginal_error"] <= id_["marginal_error"] + 0.01
    assert im["solver"] == "multiscale" and im["stabilised_fallbacks"] >= 0


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.floats(-0.1, 0.3), st.floats(0.15, 0.3))
def test_image_sets_converge_to_the_dense_solution(shift, r):
    """Run long, the multiscale solver without truncation reaches the dense solver's plan (pooling,
    level jumps and extrapolation leave no trace). With the default truncation it does not when run
    this long: the pairs are fixed at the last jump, and e.g. shift 0, r 0.28 stalls at a column
    marginal error 0.031 (cost -14 % after 2000 iterations, the dense 1e-4) — see
    test_truncation_changes_the_result_little for the paper's schedule."""
    res = 16
    s, t = image_pair(res, shift, r)
    (td, cd, id_), (tm, cm, im) = both(s, t, 0.05, 0.9, 2000, truncation=1e-12)
    assert abs(cm - cd) <= 0.01 * cd
    assert float((tm - td)[:, 3:5].abs().max()) * res < 0.25  # a fraction of a pixel
    assert float((tm - td)[:, :3].abs().max()) < 0.02
    assert im["marginal_error"] <= id_["marginal_error"] + 0.01


def test_paper_settings_converge_at_least_as_well_as_the_dense_solver():
    """blur 0.01, scaling 0.5 (one iteration per temperature): neither solver converges and their
    paths differ (the multiscale one adds a softmin at each of its level jumps), so the results are
    not the same (measured at 32²: cost 0.0081 against 0.0054, the targets' mean XY a fraction of a
    pixel apart, up to 10 px at some pixels); the multiscale plan's column marginals are at least
    as good."""
    s, t = image_pair(32)
    (td, cd, id_), (tm, cm, im) = both(s, t, 0.01, 0.5)
    assert im["marginal_error"] <= id_["marginal_error"]
    assert torch.isfinite(tm).all() and cm > 0


def test_truncation_changes_the_result_little():
    s, t = image_pair(32)
    prob = TransportProblem(s, t, 0.5)
    (t7, c7, i7), = multiscale_solve([prob], 0.01, 0.5, truncation=1e-7)
    (t4, c4, i4), = multiscale_solve([prob], 0.01, 0.5)  # default 1e-4
    assert float((t4 - t7)[:, 3:5].abs().max()) * 32 < 0.1
    assert abs(c4 - c7) <= 1e-3 * c7
    assert i4["pairs"] < i7["pairs"] < len(s) * len(t)


def test_massless_points_and_plan():
    g = torch.Generator().manual_seed(3)
    s = PointSet(torch.rand(60, 5, generator=g), torch.rand(60, generator=g))
    t = PointSet(torch.rand(70, 5, generator=g), torch.rand(70, generator=g))
    s.weights[:5] = 0
    t.weights[:7] = 0
    m = SinkhornMatcher(solver="multiscale", blur=0.05, scaling=0.9, final_iters=150)
    res = m.match(s, t)
    assert torch.isfinite(res.targets).all() and res.info["solver"] == "multiscale"
    plan = m.plan(s, t)
    a = s.weights / s.weights.sum()
    assert torch.allclose(plan.sum(1), a, atol=1e-6)
    assert float(plan[:, :7].abs().max()) == 0.0
    dense = SinkhornMatcher(solver="fast", blur=0.05, scaling=0.9, final_iters=150).plan(s, t)
    assert float((plan - dense).abs().sum()) < 0.02


# ------------------------------------------------------------------------------------- selection
def test_solver_selection():
    big = AUTO_MULTISCALE_POINTS
    assert solver_for("auto", big, big) == "multiscale"
    assert solver_for("auto", big - 1, big) == "fast"
    small = AUTO_MULTISCALE_POINTS_COMPILED
    assert solver_for("auto", small, small, compiled=True) == "multiscale"
    assert solver_for("auto", small, small) == "fast" and solver_for("auto", small - 1, big, compiled=True) == "fast"
    assert solver_for("fast", big, big) == "fast"
    assert solver_for("multiscale", 10, 10) == "multiscale"
    with pytest.raises(ValueError, match="multiscale"):
        SinkhornMatcher(solver="sparse")
    from drot.optim.settings import MatchingSettings
    assert MatchingSettings(sinkhorn_solver="multiscale").sinkhorn_solver == "multiscale"


def test_auto_picks_by_size_in_a_batch(monkeypatch):
    import drot.matching.sinkhorn as sinkhorn
    monkeypatch.setattr(sinkhorn, "AUTO_MULTISCALE_POINTS", 64 * 64)  # the real thresholds are larger
    monkeypatch.setattr(sinkhorn, "AUTO_MULTISCALE_POINTS_COMPILED", 64 * 64)
    small = image_pair(16)
    large = image_pair(64)
    out = SinkhornMatcher().match_batch([small, large])
    assert [r.info["solver"] for r in out] == ["fast", "multiscale"]
    assert all(torch.isfinite(r.targets).all() for r in out)


def test_pooled_last_level_when_the_blur_spans_pixels():
    """blur 0.04 at 64² spans ~4 px (as 0.01 at 256²): the last temperature runs on pooled targets
    and only the projection on the points; measured 0.14 px, cost +0.4 % against the points."""
    s, t = image_pair(64)
    prob = TransportProblem(s, t, 0.5)
    (t0, c0, i0), = multiscale_solve([prob], 0.04, 0.5, final_rho=0.0)
    (t1, c1, i1), = multiscale_solve([prob], 0.04, 0.5)
    assert i0["cells"][-1] == 0.0 < i1["cells"][-1]
    assert float((t1 - t0)[:, 3:5].abs().max()) * 64 < 0.3
    assert abs(c1 - c0) <= 0.01 * c0
    assert i1["pairs"] < i0["pairs"]


def test_memory_guard(monkeypatch):
    import drot.matching.sinkhorn_multiscale as ms
    monkeypatch.setattr(ms, "_free_bytes", lambda device: 1000)
    s, t = image_pair(16)
    with pytest.raises(MemoryError, match="candidate pairs"):
        SinkhornMatcher(solver="multiscale").match(s, t)
