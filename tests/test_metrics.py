"""Tests for drot.metrics."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.ndimage import gaussian_filter

from drot.metrics import psnr, rmse, ssim, success_rate, vertex_mae


def reference_ssim(x: np.ndarray, y: np.ndarray) -> float:
    """Independent SSIM, the scikit-image recipe: scipy Gaussian filter + valid crop.

    x, y: float arrays [H, W, C] in [0, 1]. sigma=1.5 with truncate=3.5 gives a
    radius of int(3.5 * 1.5 + 0.5) = 5, i.e. an 11-tap window; the 5-pixel border where
    the window hangs over the (reflect-padded) edge is cropped away.
    """
    c1, c2, pad = 0.01**2, 0.03**2, 5
    vals = []
    for ch in range(x.shape[-1]):
        a = x[..., ch].astype(np.float64)
        b = y[..., ch].astype(np.float64)

        def f(z):
            return gaussian_filter(z, sigma=1.5, truncate=3.5, mode="reflect")

        ux, uy = f(a), f(b)
        vx = f(a * a) - ux * ux
        vy = f(b * b) - uy * uy
        vxy = f(a * b) - ux * uy
        s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux**2 + uy**2 + c1) * (vx + vy + c2))
        vals.append(s[pad:-pad, pad:-pad].mean())
    return float(np.mean(vals))


def _rand(shape, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(shape, generator=g)


# ----------------------------------------------------------------------------- SSIM


@pytest.mark.parametrize("shape", [(11, 11, 1), (24, 31, 3), (40, 17, 2)])
def test_ssim_matches_independent_implementation(shape):
    x = _rand(shape, 0)
    # Correlated reference so SSIM is far from 0 and 1: exercises every term.
    y = (0.7 * x + 0.3 * _rand(shape, 1)).clamp(0, 1)
    expected = reference_ssim(x.numpy(), y.numpy())
    assert ssim(x, y) == pytest.approx(expected, abs=1e-4)
    # float32 input gives the same answer (computed in float64 internally).
    assert ssim(x.float(), y.float()) == pytest.approx(expected, abs=1e-6)


def test_ssim_batch_is_mean_over_images():
    x = _rand((3, 20, 22, 3), 2)
    y = _rand((3, 20, 22, 3), 3)
    per_image = [reference_ssim(x[i].numpy(), y[i].numpy()) for i in range(3)]
    assert ssim(x, y) == pytest.approx(np.mean(per_image), abs=1e-4)


def test_ssim_identical_is_one():
    x = _rand((16, 16, 3), 4)
    assert ssim(x, x) == pytest.approx(1.0, abs=1e-12)
    # Constant images too (zero variance is handled by C2).
    c = torch.full((12, 12, 3), 0.3)
    assert ssim(c, c) == pytest.approx(1.0, abs=1e-12)


def test_ssim_too_small_raises():
    x = torch.rand(10, 32, 3)
    with pytest.raises(ValueError, match="at least 11x11"):
        ssim(x, x)


def test_ssim_bad_rank_raises():
    with pytest.raises(ValueError, match=r"\[H, W, C\]"):
        ssim(torch.rand(16, 16), torch.rand(16, 16))


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    h=st.integers(11, 20),
    w=st.integers(11, 20),
    c=st.integers(1, 3),
)
def test_ssim_symmetric_and_bounded(seed, h, w, c):
    x = _rand((h, w, c), seed)
    y = _rand((h, w, c), seed + 1)
    s_xy, s_yx = ssim(x, y), ssim(y, x)
    assert s_xy == pytest.approx(s_yx, abs=1e-12)
    assert s_xy <= 1.0 + 1e-12
    assert s_xy >= -1.0 - 1e-12


# ----------------------------------------------------------------------------- PSNR / RMSE


def test_psnr_constant_offset_is_20db():
    # float64 so that 0.4 + 0.1 - 0.4 is 0.1 to well within the 1e-9 tolerance.
    ref = torch.full((8, 8, 3), 0.4, dtype=torch.float64)
    img = ref + 0.1  # MSE = 0.01 -> 10 log10(1 / 0.01) = 20 dB
    assert psnr(img, ref) == pytest.approx(20.0, abs=1e-9)
    assert rmse(img, ref) == pytest.approx(0.1, abs=1e-7)
    # max_value scales the peak: offset 0.1 on a 0..255 range -> 20 log10(255 / 0.1).
    assert psnr(img, ref, max_value=255.0) == pytest.approx(20 * math.log10(2550.0), abs=1e-6)


def test_psnr_identical_is_inf():
    x = _rand((8, 8, 3), 5)
    assert psnr(x, x) == float("inf")


def test_psnr_batch_is_mean_of_per_image():
    ref = torch.zeros(2, 4, 4, 1, dtype=torch.float64)
    img = torch.stack([torch.full((4, 4, 1), v, dtype=torch.float64) for v in (0.1, 0.01)])
    assert psnr(img, ref) == pytest.approx((20.0 + 40.0) / 2, abs=1e-9)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_psnr_decreases_as_noise_grows(seed):
    ref = torch.full((16, 16, 3), 0.5)
    noise = torch.randn((16, 16, 3), generator=torch.Generator().manual_seed(seed))
    values = [psnr(ref + s * noise, ref) for s in (0.01, 0.03, 0.1, 0.3)]
    assert all(a > b for a, b in zip(values, values[1:]))


# ----------------------------------------------------------------------------- geometry


def test_vertex_mae_known_value():
    v = torch.zeros(2, 3)
    r = torch.tensor([[1.0, 0.0, 0.0], [0.0, -2.0, 3.0]])
    assert vertex_mae(v, r) == pytest.approx(6.0 / 6.0)
    assert vertex_mae(r, r) == 0.0


def test_vertex_mae_shape_mismatch_raises():
    with pytest.raises(ValueError, match="shape mismatch"):
        vertex_mae(torch.zeros(4, 3), torch.zeros(5, 3))
    with pytest.raises(ValueError, match=r"\[V, 3\]"):
        vertex_mae(torch.zeros(4, 2), torch.zeros(4, 2))


def test_success_rate():
    assert success_rate([0.01, 0.02, 0.5, float("inf")], 0.02) == pytest.approx(0.5)
    assert success_rate(torch.tensor([0.1, 0.2]), 1.0) == 1.0
    with pytest.raises(ValueError, match="empty"):
        success_rate([], 0.1)
    with pytest.raises(ValueError, match="NaN"):
        success_rate([0.1, float("nan")], 0.1)


# ----------------------------------------------------------------------------- validation


@pytest.mark.parametrize("fn", [psnr, ssim, rmse])
def test_image_metrics_reject_shape_mismatch(fn):
    with pytest.raises(ValueError, match="shape mismatch"):
        fn(torch.rand(16, 16, 3), torch.rand(16, 15, 3))


@pytest.mark.parametrize("fn", [psnr, ssim, rmse, vertex_mae])
def test_metrics_reject_nan(fn):
    shape = (4, 3) if fn is vertex_mae else (16, 16, 3)
    a = torch.rand(shape)
    b = a.clone()
    b[0, 0] = float("nan")
    with pytest.raises(ValueError, match="reference.*NaN"):
        fn(a, b)
    with pytest.raises(ValueError, match="NaN"):
        fn(b, a)
