"""Tests of drot.matching: Sinkhorn convention and solvers, bipartite, identity, image points."""
from __future__ import annotations

import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drot.matching import (BipartiteMatcher, IdentityMatcher, Matching, PointSet, SinkhornMatcher, embed,
                           image_points, make_matcher)

F64 = torch.float64


def random_set(n: int, seed: int, dtype=F64, uniform: bool = False) -> PointSet:
    g = torch.Generator().manual_seed(seed)
    pts = torch.rand(n, 5, generator=g, dtype=dtype)
    w = torch.ones(n, dtype=dtype) if uniform else 0.2 + torch.rand(n, generator=g, dtype=dtype)
    return PointSet(pts, w)


def blob_image(h: int, w: int, cx: float, cy: float, r: float, color=(0.9, 0.4, 0.2), dtype=torch.float32):
    """Image [h, w, 3] with a shaded disc on black and its mask [h, w]."""
    ys = (torch.arange(h, dtype=dtype) + 0.5) / h
    xs = (torch.arange(w, dtype=dtype) + 0.5) / w
    d2 = (xs[None, :] - cx) ** 2 + (ys[:, None] - cy) ** 2
    mask = d2 < r * r
    shade = (1.0 - 0.5 * d2 / (r * r)).clamp(0, 1)
    img = torch.tensor(color, dtype=dtype)[None, None, :] * shade[..., None] * mask[..., None]
    return img, mask


def naive_sinkhorn_plan(source: PointSet, target: PointSet, lam: float, blur: float, iters: int = 20000):
    """Independent reference: plain alternating log-domain Sinkhorn at temperature blur² on
    C = ½||x~ - y~||², run to convergence, float64. Returns the plan [N, M]."""
    x = embed(source.points.double(), lam)
    y = embed(target.points.double(), lam)
    a = source.weights.double() / source.weights.double().sum()
    b = target.weights.double() / target.weights.double().sum()
    C = 0.5 * ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)
    eps = blur ** 2
    f = torch.zeros(len(a), dtype=F64)
    g = torch.zeros(len(b), dtype=F64)
    for _ in range(iters):
        f_new = -eps * torch.logsumexp(b.log()[None, :] + (g[None, :] - C) / eps, 1)
        g_new = -eps * torch.logsumexp(a.log()[:, None] + (f_new[:, None] - C) / eps, 0)
        done = (f_new - f).abs().max() < 1e-13 and (g_new - g).abs().max() < 1e-13
        f, g = f_new, g_new
        if done:
            break
    return a[:, None] * b[None, :] * torch.exp((f[:, None] + g[None, :] - C) / eps)


#: Settings under which the fast solver converges to ~1e-12 on the small random problems below
#: (its symmetric, averaged updates need a few hundred iterations at temperature 0.04).
@pytest.fixture(autouse=True)
def _single_thread():
    """These problems are tiny: one thread is faster and immune to CPU contention (OpenMP
    regions on an oversubscribed machine can be 100x slower)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


CONVERGED = dict(blur=0.2, scaling=0.9, final_iters=300)


# ----------------------------------------------------------------------------- convention
def test_convention_fast_equals_naive_sinkhorn_at_temperature_blur_squared():
    src, tgt = random_set(30, 1), random_set(24, 2)
    ref = naive_sinkhorn_plan(src, tgt, 0.5, 0.1)
    plan = SinkhornMatcher(solver="fast", blur=0.1, scaling=0.9, final_iters=1200).plan(src, tgt)
    assert plan.shape == (30, 24)
    assert torch.allclose(plan, ref, atol=1e-8 * ref.max(), rtol=0)
    # The other reading of "ε = 0.01" (temperature = blur, not blur²) gives a different plan.
    wrong = naive_sinkhorn_plan(src, tgt, 0.5, math.sqrt(0.1))
    assert (plan - wrong).abs().max() > 100 * (plan - ref).abs().max()


def test_convention_geomloss_potentials_plan_equals_naive_sinkhorn():
    from geomloss import SamplesLoss

    src, tgt = random_set(40, 3), random_set(30, 4)
    blur, lam = 0.2, 0.5
    x, y = embed(src.points, lam), embed(tgt.points, lam)
    a, b = src.normalized_weights(), tgt.normalized_weights()
    # GeomLoss runs one iteration per temperature, so it only converges as scaling -> 1.
    F, G = SamplesLoss("sinkhorn", p=2, blur=blur, scaling=0.999, debias=False, potentials=True,
                       backend="tensorized")(a, x, b, y)
    C = 0.5 * ((x[:, None] - y[None]) ** 2).sum(-1)
    plan_gl = a[:, None] * b[None, :] * torch.exp((F.view(-1, 1) + G.view(1, -1) - C) / blur ** 2)
    ref = naive_sinkhorn_plan(src, tgt, lam, blur)
    assert torch.allclose(plan_gl, ref, atol=1e-3 * ref.max(), rtol=0)
    # ... and the reference solver's plan (row-normalised from G) agrees with both.
    plan_ref = SinkhornMatcher(solver="geomloss", blur=blur, scaling=0.999).plan(src, tgt)
    assert torch.allclose(plan_ref, ref, atol=1e-3 * ref.max(), rtol=0)
    assert torch.allclose(plan_ref, plan_gl, atol=1e-3 * ref.max(), rtol=0)


@pytest.mark.parametrize("dtype,tol", [(torch.float32, 1e-3), (F64, 1e-8)])
def test_fast_solver_matches_geomloss_solver_at_paper_settings(dtype, tol):
    img_s, m_s = blob_image(24, 24, 0.3, 0.35, 0.2, dtype=dtype)
    img_t, m_t = blob_image(24, 24, 0.65, 0.6, 0.25, color=(0.3, 0.8, 0.5), dtype=dtype)
    src, fg = image_points(img_s, m_s, background="include", pool=1)
    tgt, _ = image_points(img_t, m_t, background="include", pool=1)
    fast = SinkhornMatcher(solver="fast").match(src, tgt)
    ref = SinkhornMatcher(solver="geomloss").match(src, tgt)
    assert fast.targets.dtype == dtype and fast.targets.shape == (len(src), 5)
    assert (fast.targets - ref.targets).abs().max() < tol
    assert fast.cost == pytest.approx(ref.cost, rel=10 * tol)
    assert fast.info["iterations"] == ref.info["iterations"]
    assert fast.info["marginal_error"] == pytest.approx(ref.info["marginal_error"], abs=10 * tol)


def test_fast_solver_matches_geomloss_on_random_clouds_with_unequal_sizes():
    src, tgt = random_set(300, 5, torch.float32), random_set(220, 6, torch.float32)
    for blur in (0.01, 0.05):
        fast = SinkhornMatcher(blur=blur, solver="fast").match(src, tgt)
        ref = SinkhornMatcher(blur=blur, solver="geomloss").match(src, tgt)
        assert (fast.targets - ref.targets).abs().max() < 1e-3


# ----------------------------------------------------------------------------- marginals
@pytest.mark.parametrize("solver", ["fast", "geomloss"])
@pytest.mark.parametrize("n,m", [(50, 50), (60, 35), (25, 70)])
def test_plan_marginals(solver, n, m):
    src, tgt = random_set(n, 10 + n), random_set(m, 20 + m)
    # GeomLoss does one iteration per temperature: it converges only as scaling -> 1 (~1e-3
    # marginal error at 0.999); ours iterates at the final temperature and converges fully.
    kw, tol = (dict(CONVERGED), 1e-9) if solver == "fast" else (dict(blur=0.2, scaling=0.999), 2e-3)
    plan = SinkhornMatcher(solver=solver, **kw).plan(src, tgt)
    a, b = src.normalized_weights(), tgt.normalized_weights()
    assert plan.shape == (n, m) and bool((plan >= 0).all())
    assert torch.allclose(plan.sum(1), a, rtol=1e-9, atol=0)  # rows: exact by construction
    assert torch.allclose(plan.sum(0), b, rtol=tol, atol=0)
    # targets are the barycentric projection of that plan
    match = SinkhornMatcher(solver=solver, **kw).match(src, tgt)
    proj = plan @ tgt.points / plan.sum(1, keepdim=True)
    assert torch.allclose(match.targets, proj, atol=1e-9)
    assert match.info["marginal_error"] < tol
    cost = (plan * ((embed(src.points, 0.5)[:, None] - embed(tgt.points, 0.5)[None]) ** 2).sum(-1)).sum()
    assert match.cost == pytest.approx(float(cost), rel=1e-6)


def test_more_final_iterations_reduce_the_marginal_error():
    src, tgt = random_set(200, 7, torch.float32), random_set(200, 8, torch.float32)
    e0 = SinkhornMatcher(blur=0.03).match(src, tgt).info["marginal_error"]
    e1 = SinkhornMatcher(blur=0.03, final_iters=50).match(src, tgt).info["marginal_error"]
    assert e1 < e0


def test_zero_weight_points():
    src, tgt = random_set(30, 11), random_set(25, 12)
    sw, tw = src.weights.clone(), tgt.weights.clone()
    sw[[0, 7]] = 0
    tw[[3, 4]] = 0
    src0, tgt0 = PointSet(src.points, sw), PointSet(tgt.points, tw)
    for solver in ("fast", "geomloss"):
        m = SinkhornMatcher(solver=solver, **(CONVERGED if solver == "fast" else dict(blur=0.2))).match(src0, tgt0)
        assert bool(torch.isfinite(m.targets).all())
    plan = SinkhornMatcher(**CONVERGED).plan(src0, tgt0)
    assert float(plan[:, [3, 4]].abs().max()) == 0.0 and float(plan[[0, 7]].abs().max()) == 0.0
    # dropping the massless target points changes nothing
    keep = [j for j in range(25) if j not in (3, 4)]
    m1 = SinkhornMatcher(**CONVERGED).match(src0, tgt0)
    m2 = SinkhornMatcher(**CONVERGED).match(src0, tgt0.subset(torch.tensor(keep)))
    assert torch.allclose(m1.targets, m2.targets, atol=1e-9)


def test_stabilised_fallback_gives_the_same_sums():
    from drot.matching.sinkhorn_kernel import TransportProblem, _Kernel

    problems = [TransportProblem(random_set(40, 13), random_set(33, 14), 0.5),
                TransportProblem(random_set(29, 15), random_set(36, 16), 0.5)]
    for batch in (problems[:1], problems):  # a batch of one (views, no padding) and a padded batch
        kern = _Kernel(batch, block_bytes=8 * 36 * 5 * len(batch))  # several blocks
        gen = torch.Generator().manual_seed(0)
        f = 0.01 * torch.randn(kern.s, kern.n, generator=gen, dtype=F64)
        g = 0.01 * torch.randn(kern.s, kern.m, generator=gen, dtype=F64)
        eps = torch.full((kern.s,), 0.01, dtype=F64)
        lr, lc, ok = kern.log_sums(f, g, eps)
        lr2, lc2 = kern.log_sums_stable(f, g, eps)
        real_r, real_c = kern.rows_mass, kern.cols
        assert bool(ok.all()) and kern.rows < kern.n
        assert torch.allclose(lr[real_r], lr2[real_r], atol=1e-10) and torch.allclose(lc[real_c], lc2[real_c], atol=1e-10)


@pytest.mark.parametrize("scaling", [0.3, 0.1])
def test_large_temperature_steps_use_the_stabilised_path_and_agree_with_geomloss(scaling):
    # Big temperature drops make the plan's row/column sums under/overflow in the fast path.
    img_s, m_s = blob_image(16, 16, 0.3, 0.35, 0.2)
    img_t, m_t = blob_image(16, 16, 0.65, 0.6, 0.25, color=(0.3, 0.8, 0.5))
    src, _ = image_points(img_s, m_s, background="include", pool=1)
    tgt, _ = image_points(img_t, m_t, background="include", pool=1)
    fast = SinkhornMatcher(scaling=scaling).match(src, tgt)
    ref = SinkhornMatcher(scaling=scaling, solver="geomloss").match(src, tgt)
    assert fast.info["stabilised_fallbacks"] > 0
    assert (fast.targets - ref.targets).abs().max() < 1e-3


def test_far_apart_clouds_with_tiny_blur_stay_finite_and_agree_with_geomloss():
    # Large cost / temperature ratios: exercises the under/overflow checks.
    g = torch.Generator().manual_seed(3)
    p = torch.rand(64, 5, generator=g) * 0.05
    q = torch.rand(48, 5, generator=g) * 0.05 + 0.9
    src, tgt = PointSet.uniform(p), PointSet.uniform(q)
    fast = SinkhornMatcher(blur=0.002).match(src, tgt)
    ref = SinkhornMatcher(blur=0.002, solver="geomloss").match(src, tgt)
    assert bool(torch.isfinite(fast.targets).all())
    assert (fast.targets - ref.targets).abs().max() < 2e-3


# ----------------------------------------------------------------------------- properties
small_sets = st.tuples(st.integers(3, 20), st.integers(3, 20), st.integers(0, 10_000))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_sets, st.floats(-0.6, 0.6), st.floats(-0.6, 0.6))
def test_translating_target_xy_translates_matched_xy(sizes, dx, dy):
    n, m, seed = sizes
    src, tgt = random_set(n, seed), random_set(m, seed + 1)
    delta = torch.tensor([0, 0, 0, dx, dy], dtype=F64)
    moved = PointSet(tgt.points + delta, tgt.weights)
    matcher = SinkhornMatcher(**CONVERGED)
    t0 = matcher.match(src, tgt).targets
    t1 = matcher.match(src, moved).targets
    assert torch.allclose(t1, t0 + delta, atol=1e-5)


@settings(max_examples=15, deadline=None)
@given(small_sets, st.sampled_from(["fast", "geomloss"]))
def test_permutations(sizes, solver):
    n, m, seed = sizes
    src, tgt = random_set(n, seed), random_set(m, seed + 1)
    gen = torch.Generator().manual_seed(seed)
    pt, ps = torch.randperm(m, generator=gen), torch.randperm(n, generator=gen)
    matcher = SinkhornMatcher(solver=solver)  # paper settings: exact invariance, not convergence
    t0 = matcher.match(src, tgt).targets
    t_tp = matcher.match(src, tgt.subset(pt)).targets
    t_sp = matcher.match(src.subset(ps), tgt).targets
    assert torch.allclose(t_tp, t0, atol=1e-9)
    assert torch.allclose(t_sp, t0[ps], atol=1e-9)


# ----------------------------------------------------------------------------- subsampling
def test_max_points_subsampling():
    src, tgt = random_set(300, 21, torch.float32), random_set(260, 22, torch.float32)
    m1 = SinkhornMatcher(max_points=100, seed=5).match(src, tgt)
    m2 = SinkhornMatcher(max_points=100, seed=5).match(src, tgt)
    assert m1.targets.shape == (300, 5) and m1.info["subsampled"] == (100, 100)
    assert torch.equal(m1.targets, m2.targets)  # seeded
    # every source point takes the target of a sampled source point (itself or its nearest)
    full = SinkhornMatcher(max_points=1000).match(src, tgt)
    assert "subsampled" not in full.info
    distinct = torch.unique(m1.targets, dim=0)
    assert distinct.shape[0] <= 100
    with pytest.raises(ValueError, match="subsampling"):
        SinkhornMatcher(max_points=100).plan(src, tgt)


# ----------------------------------------------------------------------------- results
def test_match_result_is_detached_and_keeps_dtype():
    pts = torch.rand(20, 5, dtype=F64, requires_grad=True)
    src = PointSet(pts, torch.ones(20, dtype=F64))
    tgt = random_set(15, 30)
    for matcher in (SinkhornMatcher(), BipartiteMatcher(), IdentityMatcher()):
        res = matcher.match(src, tgt)
        assert isinstance(res, Matching)
        assert res.targets.dtype == F64 and not res.targets.requires_grad
        assert res.seconds >= 0 and math.isfinite(res.cost)


# ----------------------------------------------------------------------------- bipartite
def test_bipartite_recovers_a_permutation_exactly():
    src = random_set(60, 40)
    perm = torch.randperm(60, generator=torch.Generator().manual_seed(1))
    tgt = PointSet(src.points[perm], torch.ones(60, dtype=F64))
    res = BipartiteMatcher().match(src, tgt)
    assert torch.equal(res.targets, src.points) and res.cost == pytest.approx(0.0, abs=1e-15)
    plan = BipartiteMatcher().plan(src, tgt)
    inv = torch.argsort(perm)
    assert torch.equal(plan.argmax(1), inv)


def test_bipartite_unequal_sizes_and_limit():
    src, tgt = random_set(12, 41), random_set(8, 42)
    res = BipartiteMatcher().match(src, tgt)
    unchanged = (res.targets == src.points).all(1)
    assert int(unchanged.sum()) == 4  # 12 - 8 unassigned source points keep themselves
    assert res.info["assigned"] == 8
    res2 = BipartiteMatcher().match(tgt, src)  # N < M: everyone assigned to a distinct target
    assert torch.unique(res2.targets, dim=0).shape[0] == 8
    with pytest.raises(ValueError, match="limited to 10 points"):
        BipartiteMatcher(max_points=10).match(src, tgt)


# ----------------------------------------------------------------------------- identity
def test_identity_returns_the_pixel_under_each_point():
    img_s, _ = blob_image(10, 12, 0.4, 0.5, 0.3)
    img_t = torch.rand(10, 12, 3, generator=torch.Generator().manual_seed(2)) * 0.9 + 0.05
    src, fg = image_points(img_s, background="exclude")
    tgt, tfg = image_points(img_t, background="exclude")
    assert tfg.numel() == 120
    res = IdentityMatcher().match(src, tgt)
    assert torch.equal(res.targets[:, 3:], src.points[:, 3:])
    assert torch.equal(res.targets[:, :3], img_t.reshape(-1, 3)[fg])
    plan = IdentityMatcher().plan(src, tgt)
    assert torch.equal(plan.argmax(1), fg)


# ----------------------------------------------------------------------------- image_points
def test_image_points_exclude_and_fg_index():
    img, mask = blob_image(9, 7, 0.5, 0.5, 0.3)
    ps, fg = image_points(img, mask)
    assert torch.equal(fg, mask.reshape(-1).nonzero().squeeze(1))
    i, j = fg // 7, fg % 7
    assert torch.allclose(ps.points[:, 3], (j + 0.5) / 7) and torch.allclose(ps.points[:, 4], (i + 0.5) / 9)
    assert torch.equal(ps.points[:, :3], img.reshape(-1, 3)[fg])
    assert torch.equal(ps.weights, torch.ones(len(fg)))
    # mask=None: foreground = not black
    ps2, fg2 = image_points(img)
    assert torch.equal(fg2, (img > 1e-6).any(2).reshape(-1).nonzero().squeeze(1))


@pytest.mark.parametrize("pool", [1, 2, 3, 4, 16])
def test_image_points_include_balances_masses(pool):
    h, w = 13, 10
    img_a, mask_a = blob_image(h, w, 0.3, 0.3, 0.2)
    img_b, mask_b = blob_image(h, w, 0.7, 0.6, 0.35)
    pa, fa = image_points(img_a, mask_a, background="include", pool=pool)
    pb, fb = image_points(img_b, mask_b, background="include", pool=pool)
    assert float(pa.weights.sum()) == h * w and float(pb.weights.sum()) == h * w
    nf = len(fa)
    assert torch.equal(pa.points[:nf, :3], img_a.reshape(-1, 3)[fa])  # foreground first
    bg = pa.points[nf:]
    assert float(pa.weights[nf:].sum()) == h * w - nf  # pooling keeps the background mass
    assert bool((bg[:, :3] == 0).all())  # black background
    nblocks = math.ceil(h / pool) * math.ceil(w / pool)
    assert len(bg) <= nblocks
    if pool == 1:
        assert len(pa) == h * w and bool((pa.weights == 1).all())
    # the weighted mean background position equals the mean position of background pixels
    ys, xs = torch.meshgrid((torch.arange(h) + 0.5) / h, (torch.arange(w) + 0.5) / w, indexing="ij")
    bgm = ~mask_a
    mean_xy = torch.stack([xs[bgm].mean(), ys[bgm].mean()])
    wmean = (pa.weights[nf:, None] * bg[:, 3:]).sum(0) / pa.weights[nf:].sum()
    assert torch.allclose(wmean, mean_xy, atol=1e-5)


def test_image_points_all_background():
    img = torch.zeros(6, 5, 3)
    ps, fg = image_points(img, background="include", pool=2)
    assert fg.numel() == 0 and float(ps.weights.sum()) == 30
    with pytest.raises(ValueError, match="no foreground pixels"):
        image_points(img, background="exclude")


def test_include_mode_matching_end_to_end():
    img_s, m_s = blob_image(32, 32, 0.3, 0.3, 0.15)
    img_t, m_t = blob_image(32, 32, 0.7, 0.65, 0.15)
    src, fg = image_points(img_s, m_s, background="include", pool=4)
    tgt, tfg = image_points(img_t, m_t, background="include", pool=4)
    res = SinkhornMatcher().match(src, tgt)
    goal = res.targets[: len(fg)]
    # The disc's pixels are pulled towards the target disc (down-right), keeping their colour.
    mean_shift = (goal[:, 3:] - src.points[: len(fg), 3:]).mean(0)
    assert float(mean_shift[0]) > 0.2 and float(mean_shift[1]) > 0.2


# ----------------------------------------------------------------------------- validation
@pytest.mark.parametrize("lam", [-0.1, 1.5, float("nan"), "0.5"])
def test_lambda_validation(lam):
    for cls in (SinkhornMatcher, BipartiteMatcher, IdentityMatcher):
        with pytest.raises(ValueError, match="λ"):
            cls(lam=lam)
    with pytest.raises(ValueError, match=r"λ.*got"):
        embed(torch.rand(3, 5), lam)


@pytest.mark.parametrize("kw,needle", [
    (dict(blur=0.0), "blur"), (dict(blur=-1.0), "blur"), (dict(blur=float("nan")), "blur"),
    (dict(scaling=1.0), "scaling"), (dict(scaling=0.0), "scaling"), (dict(solver="keops"), "solver"),
    (dict(max_points=0), "max_points"), (dict(final_iters=-1), "final_iters"),
])
def test_sinkhorn_argument_validation(kw, needle):
    with pytest.raises(ValueError, match=needle):
        SinkhornMatcher(**kw)


@pytest.mark.parametrize("points,weights,needle", [
    (torch.rand(4, 3), torch.ones(4), "shape"),
    (torch.rand(4), torch.ones(4), "shape"),
    (torch.rand(4, 5), torch.ones(3), "weights must have shape"),
    (torch.rand(0, 5), torch.ones(0), "empty"),
    (torch.tensor([[0.1, 0.2, float("nan"), 0.3, 0.4]]), torch.ones(1), "NaN"),
    (torch.rand(2, 5), torch.tensor([1.0, float("inf")]), "NaN or inf"),
    (torch.rand(2, 5), torch.tensor([1.0, -0.5]), ">= 0"),
    (torch.rand(2, 5), torch.zeros(2), "total mass"),
    (torch.randint(0, 2, (3, 5)), torch.ones(3), "floating"),
])
def test_pointset_validation(points, weights, needle):
    with pytest.raises(ValueError, match=needle):
        PointSet(points, weights)


def test_match_input_validation():
    with pytest.raises(ValueError, match="PointSet"):
        SinkhornMatcher().match(torch.rand(3, 5), random_set(3, 0))


def test_image_points_validation():
    with pytest.raises(ValueError, match=r"\[H, W, 3\]"):
        image_points(torch.rand(4, 4))
    with pytest.raises(ValueError, match="mask must be a tensor of shape"):
        image_points(torch.rand(4, 4, 3), torch.ones(3, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="bool"):
        image_points(torch.rand(4, 4, 3), torch.ones(4, 4))
    with pytest.raises(ValueError, match="background mode"):
        image_points(torch.rand(4, 4, 3), background="ignore")
    with pytest.raises(ValueError, match="pool"):
        image_points(torch.rand(4, 4, 3), background="include", pool=0)
    with pytest.raises(ValueError, match="NaN"):
        image_points(torch.full((2, 2, 3), float("nan")))


def test_make_matcher():
    assert isinstance(make_matcher("sinkhorn", blur=0.05), SinkhornMatcher)
    assert isinstance(make_matcher("bipartite", lam=0.3), BipartiteMatcher)
    assert isinstance(make_matcher("identity"), IdentityMatcher)
    assert make_matcher("sinkhorn", solver="auto").solver == "auto"  # chosen per problem size (solver_for)
    with pytest.raises(ValueError, match="sinkhorn, bipartite, identity"):
        make_matcher("optical_flow")
