"""Losses of the imitator and the encoder: a perceptual distance without pretrained weights, the
imitation loss, the sensitivity loss (Kips et al. §5.2) and the WGAN-GP adversarial terms.

No network weights can be downloaded here, so the perceptual distance is **L1 + multi-scale SSIM**
(Zhao et al., "Loss functions for image restoration with neural networks"): ``α (1 − MS-SSIM) +
(1 − α) L1`` with α = 0.84, MS-SSIM over three scales (Gaussian window 7, σ 1.5, valid region,
scale weights 0.0448, 0.2856, 0.3001 renormalised), differentiable. Images are float ``[B, H, W, 3]``
in [0, 1] throughout (H, W >= 28 for three scales).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["ms_ssim", "perceptual_loss", "imitation_loss", "sensitivity_loss", "gradient_penalty"]

_WEIGHTS = torch.tensor([0.0448, 0.2856, 0.3001])
_WIN, _SIGMA = 7, 1.5


def _window(dtype, device) -> torch.Tensor:
    x = torch.arange(_WIN, dtype=dtype, device=device) - (_WIN - 1) / 2
    w = torch.exp(-0.5 * (x / _SIGMA) ** 2)
    return w / w.sum()


def _ssim_parts(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean SSIM and contrast-structure terms per image, ``[B]`` each, of ``[B, C, H, W]`` inputs."""
    c = x.shape[1]
    w = _window(x.dtype, x.device)
    kx, ky = w.view(1, 1, 1, -1).repeat(c, 1, 1, 1), w.view(1, 1, -1, 1).repeat(c, 1, 1, 1)

    def blur(t):
        return F.conv2d(F.conv2d(t, kx, groups=c), ky, groups=c)
    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    cs = (2 * cxy + c2) / (vx + vy + c2)
    ssim = (2 * mx * my + c1) / (mx * mx + my * my + c1) * cs
    return ssim.flatten(1).mean(1), cs.flatten(1).mean(1)


def ms_ssim(x: torch.Tensor, y: torch.Tensor, scales: int = 3) -> torch.Tensor:
    """Multi-scale SSIM per image, float ``[B]`` (1 for identical images), of ``[B, H, W, 3]`` images."""
    if x.shape != y.shape or x.ndim != 4:
        raise ValueError(f"ms_ssim: images must both be [B, H, W, C], got {tuple(x.shape)} and {tuple(y.shape)}")
    if min(x.shape[1:3]) < _WIN * 2 ** (scales - 1):
        raise ValueError(f"ms_ssim: {scales} scales need images of at least {_WIN * 2 ** (scales - 1)} pixels, "
                         f"got {tuple(x.shape[1:3])}")
    a, b = x.permute(0, 3, 1, 2), y.permute(0, 3, 1, 2)
    weights = _WEIGHTS[:scales].to(x) / _WEIGHTS[:scales].sum()
    out = torch.ones(x.shape[0], dtype=x.dtype, device=x.device)
    for s in range(scales):
        ssim, cs = _ssim_parts(a, b)
        term = ssim if s == scales - 1 else cs
        out = out * term.clamp_min(1e-6) ** weights[s]
        a, b = F.avg_pool2d(a, 2), F.avg_pool2d(b, 2)
    return out


def perceptual_loss(x: torch.Tensor, y: torch.Tensor, alpha: float = 0.84) -> torch.Tensor:
    """``α (1 − MS-SSIM) + (1 − α) L1``, a scalar (mean over the batch) — drot's weight-free perceptual distance."""
    return alpha * (1 - ms_ssim(x, y)).mean() + (1 - alpha) * (x - y).abs().mean()


def imitation_loss(imitated: torch.Tensor, rendered: torch.Tensor) -> torch.Tensor:
    """Kips Eq. 2 with our perceptual distance: mean over the batch of ``perceptual(R(g), I(g))``."""
    return perceptual_loss(imitated, rendered)


def sensitivity_loss(imitated: torch.Tensor, imitated_shifted: torch.Tensor, rendered: torch.Tensor,
                     rendered_shifted: torch.Tensor) -> torch.Tensor:
    """Kips's rendering sensitivity loss: the imitator's image change under a one-parameter shift must
    equal the renderer's, ``‖[R(g) − R(g′)] − [I(g) − I(g′)]‖²``, here the mean over pixels and the batch
    of the squared difference times the number of pixels per image / 1000 (so it does not vanish
    when a parameter changes a small region). All four ``[B, H, W, 3]``."""
    diff = (rendered - rendered_shifted) - (imitated - imitated_shifted)
    return diff.square().flatten(1).sum(1).mean() / 1000.0


def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
    """WGAN-GP's penalty ``(‖∇ D(x̂)‖ − 1)²`` on random interpolates of ``real`` and ``fake`` ``[B, H, W, 3]``."""
    eps = torch.rand(real.shape[0], 1, 1, 1, dtype=real.dtype)
    x = (eps * real + (1 - eps) * fake).detach().requires_grad_(True)
    out = critic(x, condition)
    (grad,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    return (grad.flatten(1).norm(dim=1) - 1).square().mean()
