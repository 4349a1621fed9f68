"""The sparse Sinkhorn's compiled loops (drot._C, ``CompiledPairs``) against the PyTorch reference
(``SparsePairs`` and the multiscale solver's PyTorch path): each loop on its own, then whole solves."""
from __future__ import annotations

import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drot.matching import PointSet, SinkhornMatcher, image_points
from drot.matching.pyramid import pyramid
from drot.matching.sinkhorn_kernel import TransportProblem
from drot.matching.sinkhorn_multiscale import _Children, _child_pairs, _extrapolate, solve
from drot.matching.sparse_pairs import CompiledPairs, SparsePairs, compiled_available, log_mass

pytestmark = pytest.mark.skipif(not compiled_available(), reason="drot._C is not built")
FEW = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def random_pairs(n: int, m: int, seed: int, dtype=torch.float32, density: float = 0.3):
    """A random sparse problem in both forms (rows sorted), with potentials and massless points."""
    g = torch.Generator().manual_seed(seed)
    x, y = torch.rand(n, 5, generator=g, dtype=dtype), torch.rand(m, 5, generator=g, dtype=dtype)
    a, b = torch.rand(n, generator=g, dtype=torch.float64), torch.rand(m, generator=g, dtype=torch.float64)
    a[::7], b[::5] = 0.0, 0.0
    keep = torch.rand(n, m, generator=g) < density
    keep[torch.arange(n), torch.randint(0, m, (n,), generator=g)] = True  # no empty row
    I, J = keep.nonzero(as_tuple=True)
    la, lb = log_mass(a / a.sum()), log_mass(b / b.sum())
    ref = SparsePairs(x, y, la, lb, I, J)
    ptr = torch.zeros(n + 1, dtype=torch.long)
    ptr[1:] = torch.cumsum(torch.bincount(I, minlength=n), 0)
    fast = CompiledPairs(x, y, la, lb, ptr, J)
    f = 0.01 * torch.randn(n, generator=g, dtype=torch.float64)
    gg = 0.01 * torch.randn(m, generator=g, dtype=torch.float64)
    return ref, fast, f, gg


@FEW
@given(st.integers(1, 60), st.integers(1, 60), st.integers(0, 10_000), st.sampled_from([0.002, 0.02, 0.5]),
       st.sampled_from([torch.float32, torch.float64]))
def test_log_sums_support_and_rows_equal_the_reference(n, m, seed, eps, dtype):
    ref, fast, f, g = random_pairs(n, m, seed, dtype)
    assert torch.equal(fast.I, ref.I) and torch.allclose(fast.C, ref.C)
    lr_ref, lc_ref, _ = ref.log_sums(f, g, eps)
    lr, lc, ok = fast.log_sums(f, g, eps)
    assert ok
    tol = 1e-4 if dtype == torch.float32 else 1e-10
    rows, cols = ref.rows_mass, ref.cols & torch.isfinite(lc_ref)
    assert torch.allclose(lr[rows], lr_ref[rows], atol=tol, rtol=tol)
    assert torch.allclose(lc[cols], lc_ref[cols], atol=tol, rtol=tol)
    for t in (1e-4, 1e-1):
        assert torch.equal(fast.support(f, g, eps, t), ref.support(f, g, eps, t))


def test_log_sums_survive_potentials_that_underflow_every_term():
    """Potentials far from the plan's (every exp(z) below float32's range): the compiled sums redo the
    pass max-stabilised, as the reference falls back to its segment log-sum-exp."""
    ref, fast, f, g = random_pairs(30, 40, 1)
    f = f - 5.0  # at ε = 0.01 every z is about -500
    lr_ref, lc_ref, ok_ref = ref.log_sums(f, g, 0.01)
    lr, lc, _ = fast.log_sums(f, g, 0.01)
    assert not ok_ref
    assert torch.allclose(lr[ref.rows_mass], lr_ref[ref.rows_mass], rtol=1e-5)
    assert torch.allclose(lc[ref.cols], lc_ref[ref.cols], rtol=1e-5)


def test_subset_keeps_rows_sorted_and_their_pointers():
    ref, fast, f, g = random_pairs(40, 30, 2)
    keep = ref.support(f, g, 0.01, 0.1)
    sub_ref, sub = ref.subset(keep), fast.subset(keep)
    assert torch.equal(sub.I, sub_ref.I) and torch.equal(sub.J, sub_ref.J) and torch.equal(sub.C, sub_ref.C)
    assert int(sub.ptr[-1]) == int(keep.sum())


def image_levels(res: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    t = (torch.arange(res, dtype=torch.float32) + 0.5) / res
    yy, xx = torch.meshgrid(t, t, indexing="ij")
    img = torch.stack([xx, yy, 0.5 + 0.5 * torch.sin(7 * xx)], -1) * (torch.rand(res, res, 1, generator=g) > 0.3)
    mask = torch.ones(res, res, dtype=torch.bool)
    ps, _ = image_points(img, mask, background="include", pool=1)
    prob = TransportProblem(ps, PointSet(ps.points.flip(0).clone(), ps.weights.clone()), 0.5)
    cells = [0.05, 0.1, 0.2]
    return prob, pyramid(prob.x, prob.a64, cells), pyramid(prob.y, prob.b64, cells, extra=prob.y_raw)


def test_refine_and_extrapolation_equal_the_reference():
    prob, src, tgt = image_levels(24)
    coarse, fine, eps = 2, 1, 0.004
    n_c, m_c = len(src[coarse]), len(tgt[coarse])
    I = torch.arange(n_c).repeat_interleave(m_c)
    J = torch.arange(m_c).repeat(n_c)
    lm = (log_mass(src[coarse].mass), log_mass(tgt[coarse].mass))
    ref = SparsePairs(src[coarse].points, tgt[coarse].points, *lm, I, J)
    fast = CompiledPairs(src[coarse].points, tgt[coarse].points, *lm, torch.arange(n_c + 1) * m_c, J)
    f = torch.zeros(n_c, dtype=torch.float64)
    g = torch.zeros(m_c, dtype=torch.float64)
    for _ in range(5):  # a few iterations for realistic potentials
        lr, lc, _ = ref.log_sums(f, g, eps)
        f, g = f - 0.5 * eps * lr, g - 0.5 * eps * lc
    keep = ref.support(f, g, eps, 1e-3)
    ref, fast = ref.subset(keep), fast.subset(keep)
    rows, cols = _Children(src[coarse], src[fine].points), _Children(tgt[coarse], tgt[fine].points)
    f_ref, g_ref = _extrapolate(ref, f, g, eps, rows, cols, len(src[fine]), len(tgt[fine]))
    f_new = fast.softmin_children(src[fine].points, src[fine].parent, f, g, eps)
    g_new = fast.softmin_children(tgt[fine].points, tgt[fine].parent, f, g, eps, by_column=True)
    assert torch.allclose(f_new, f_ref, atol=1e-7) and torch.allclose(g_new, g_ref, atol=1e-7)
    fine_eps = eps / 4
    Ic, Jc, Cc = _child_pairs(ref.I, ref.J, rows, cols)
    lmf = (log_mass(src[fine].mass), log_mass(tgt[fine].mass))
    cand = SparsePairs(src[fine].points, tgt[fine].points, *lmf, Ic, Jc, Cc)
    want = cand.subset(cand.support(f_ref, g_ref, fine_eps, 1e-4))
    got = fast.refine(src[fine].points, tgt[fine].points, *lmf, src[fine].parent, tgt[coarse].child_start,
                      tgt[coarse].child_order, f_ref, g_ref, fine_eps, 1e-4)
    key = lambda P: sorted(zip(P.I.tolist(), P.J.tolist()))  # noqa: E731
    assert key(got) == key(want)
    assert torch.equal(got.I, torch.sort(got.I).values)  # by row
    order_got = torch.argsort(got.I * len(tgt[fine]) + got.J)
    order_want = torch.argsort(want.I * len(tgt[fine]) + want.J)
    assert torch.allclose(got.C[order_got], want.C[order_want], atol=1e-6)


def image_pair(res: int, shift: float):
    t = (torch.arange(res, dtype=torch.float32) + 0.5) / res
    yy, xx = torch.meshgrid(t, t, indexing="ij")
    out = []
    for cx, cy, r, col in ((0.35, 0.4, 0.2, (0.9, 0.5, 0.3)), (0.35 + shift, 0.55, 0.25, (0.8, 0.6, 0.3))):
        d2 = (xx - cx) ** 2 + (yy - cy) ** 2
        mask = d2 < r * r
        img = torch.tensor(col)[None, None] * (0.4 + 0.6 * (1 - d2 / (r * r)).clamp(0, 1).sqrt())[..., None]
        out.append(image_points(img * mask[..., None], mask, background="include", pool=1)[0])
    return out


@pytest.mark.parametrize("res, blur", [(32, 0.01), (48, 0.01), (64, 0.04)])
@pytest.mark.parametrize("reach", [None, 0.1])
def test_whole_solves_equal_the_pytorch_path(res, blur, reach):
    """The paper's schedule on all-pixel images (64² at blur 0.04: the pooled last level)."""
    s, t = image_pair(res, 0.2)
    prob = TransportProblem(s, t, 0.5)
    (tr, cr, ir), = solve([prob], blur, 0.5, kernel="torch", reach=reach)
    (tc, cc, ic), = solve([prob], blur, 0.5, kernel="compiled", reach=reach)
    assert ir["kernel"] == "torch" and ic["kernel"] == "compiled"
    assert float((tc - tr)[:, 3:5].abs().max()) * res < 0.01  # pixels
    assert float((tc - tr)[:, :3].abs().max()) < 1e-3
    assert cc == pytest.approx(cr, rel=1e-4)
    assert ic["marginal_error"] == pytest.approx(ir["marginal_error"], abs=1e-4)
    assert abs(ic["pairs"] - ir["pairs"]) <= 1e-4 * ir["pairs"] + 10
    if reach is not None:
        assert ic["transported"] == pytest.approx(ir["transported"], rel=1e-4)


@FEW
@given(st.integers(20, 200), st.integers(20, 200), st.integers(0, 10_000))
def test_random_sets_float64_equal_the_pytorch_path(n, m, seed):
    g = torch.Generator().manual_seed(seed)
    s = PointSet(torch.rand(n, 5, generator=g, dtype=torch.float64), 0.2 + torch.rand(n, generator=g))
    t = PointSet(torch.rand(m, 5, generator=g, dtype=torch.float64), 0.2 + torch.rand(m, generator=g))
    prob = TransportProblem(s, t, 0.5)
    (tr, cr, _), = solve([prob], 0.05, 0.7, kernel="torch")
    (tc, cc, _), = solve([prob], 0.05, 0.7, kernel="compiled")
    assert torch.allclose(tc, tr, atol=1e-9) and math.isclose(cc, cr, rel_tol=1e-9)


def test_auto_kernel_and_bad_arguments():
    s, t = image_pair(16, 0.1)
    assert SinkhornMatcher(solver="multiscale").match(s, t).info["kernel"] == "compiled"
    prob = TransportProblem(s, t, 0.5)
    with pytest.raises(ValueError, match="kernel"):
        solve([prob], 0.01, 0.5, kernel="cuda")
    with pytest.raises(RuntimeError, match="cost"):
        torch.ops.drot.sparse_log_sums(torch.tensor([0, 1]), torch.tensor([0]), torch.zeros(2), torch.zeros(1),
                                       torch.zeros(1), 1.0)
    with pytest.raises(RuntimeError, match="ptr"):
        torch.ops.drot.sparse_support(torch.tensor([0.0, 1.0]), torch.tensor([0]), torch.zeros(1), torch.zeros(1),
                                      torch.zeros(1), 1.0, -1.0)
