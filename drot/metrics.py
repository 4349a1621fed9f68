"""Image and geometry metrics (pure torch).

Images are float tensors in [0, 1], laid out ``[H, W, C]`` (one image) or
``[B, H, W, C]`` (a batch).  Every metric returns a plain Python ``float`` and
raises :class:`ValueError` with a clear message on mismatched shapes or NaN
input, so a broken run fails loudly instead of reporting a meaningless number.

Computations are done in float64: the metrics are cheap, and SSIM in float32
loses ~1e-5 to cancellation in ``E[x^2] - E[x]^2``.
"""

from __future__ import annotations

import math
from typing import Callable, Mapping, Sequence

import torch

__all__ = ["psnr", "ssim", "rmse", "vertex_mae", "success_rate", "ImageMetric", "register_metric",
           "unregister_metric", "registered_metrics", "image_metrics"]

# Standard SSIM constants (Wang et al. 2003; scikit-image defaults with gaussian_weights=True).
_SSIM_SIGMA = 1.5
_SSIM_WIN = 11  # = 2 * int(3.5 * 1.5 + 0.5) + 1, scikit-image's window for sigma=1.5, truncate=3.5
#: The smallest image side :func:`ssim` can score (its window); runs refuse smaller renders up front.
SSIM_MIN_SIDE = _SSIM_WIN
_SSIM_K1 = 0.01
_SSIM_K2 = 0.03


def _as_tensor(x, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        try:
            x = torch.as_tensor(x)
        except Exception as exc:  # pragma: no cover - message only
            raise ValueError(f"{name}: cannot convert {type(x).__name__} to a tensor") from exc
    return x.detach().to(device="cpu", dtype=torch.float64)


def _check_pair(a, b, names: tuple[str, str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Convert to float64 CPU tensors and check equal shapes and no NaNs."""
    a = _as_tensor(a, names[0])
    b = _as_tensor(b, names[1])
    if a.shape != b.shape:
        raise ValueError(
            f"shape mismatch: {names[0]} has shape {tuple(a.shape)}, "
            f"{names[1]} has shape {tuple(b.shape)}"
        )
    for t, n in zip((a, b), names):
        if torch.isnan(t).any():
            raise ValueError(f"{n} contains NaN values")
    return a, b


def _as_batch(a: torch.Tensor, b: torch.Tensor, fn: str) -> tuple[torch.Tensor, torch.Tensor]:
    """[H,W,C] or [B,H,W,C] -> [B,H,W,C]."""
    if a.dim() == 3:
        return a.unsqueeze(0), b.unsqueeze(0)
    if a.dim() == 4:
        return a, b
    raise ValueError(
        f"{fn}: expected images of shape [H, W, C] or [B, H, W, C], got {tuple(a.shape)}"
    )


def psnr(image, reference, max_value: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB.

    Args:
        image, reference: float tensors ``[H, W, C]`` or ``[B, H, W, C]`` with values in
            ``[0, max_value]``.
        max_value: the peak value (1.0 for images in [0, 1]).

    Returns:
        ``10 * log10(max_value**2 / MSE)``; for a batch, the mean over images of the
        per-image PSNR.  ``float('inf')`` if the images are identical (MSE = 0); a
        batch with any identical pair therefore also averages to ``inf``.
    """
    a, b = _check_pair(image, reference, ("image", "reference"))
    a, b = _as_batch(a, b, "psnr")
    if max_value <= 0:
        raise ValueError(f"psnr: max_value must be positive, got {max_value}")
    mse = ((a - b) ** 2).flatten(1).mean(dim=1)  # [B]
    per_image = [
        float("inf") if m == 0 else 10.0 * math.log10(max_value**2 / m) for m in mse.tolist()
    ]
    return sum(per_image) / len(per_image)


def _gaussian_window(size: int = _SSIM_WIN, sigma: float = _SSIM_SIGMA) -> torch.Tensor:
    """Normalised 1-D Gaussian taps ``[size]`` (float64), same as scipy.ndimage.gaussian_filter."""
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    w = torch.exp(-0.5 * (x / sigma) ** 2)
    return w / w.sum()


def _filter_valid(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian blur without padding: ``[N, 1, H, W] -> [N, 1, H-10, W-10]``."""
    # Weighted sums of shifted slices: torch's float64 conv2d takes a slow generic path (about 20x
    # slower here on 6 views at 128²).
    k = w.numel()
    h, wd = x.shape[-2] - k + 1, x.shape[-1] - k + 1
    rows = sum(w[i] * x[..., i:i + h, :] for i in range(k))
    return sum(w[i] * rows[..., :, i:i + wd] for i in range(k))


def ssim(image, reference) -> float:
    """Structural similarity index (Wang et al. 2003), data range 1.

    Matches ``skimage.metrics.structural_similarity(image, reference, channel_axis=-1,
    gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1)``:
    an 11x11 Gaussian window (sigma 1.5), K1 = 0.01, K2 = 0.03, the SSIM map evaluated
    only where the window fits inside the image (the 'valid' region, no padding),
    averaged per channel, then over channels and images.

    Args:
        image, reference: float tensors ``[H, W, C]`` or ``[B, H, W, C]`` in [0, 1],
            with ``H >= 11`` and ``W >= 11``.

    Returns:
        Mean SSIM as a float (1.0 for identical images).
    """
    a, b = _check_pair(image, reference, ("image", "reference"))
    a, b = _as_batch(a, b, "ssim")
    bsz, h, w, c = a.shape
    if h < _SSIM_WIN or w < _SSIM_WIN:
        raise ValueError(
            f"ssim: images must be at least {_SSIM_WIN}x{_SSIM_WIN} pixels "
            f"(the Gaussian window size), got {h}x{w}"
        )
    # Each (image, channel) becomes one single-channel plane: [B*C, 1, H, W].
    x = a.permute(0, 3, 1, 2).reshape(bsz * c, 1, h, w)
    y = b.permute(0, 3, 1, 2).reshape(bsz * c, 1, h, w)
    win = _gaussian_window()

    # Filter all five moments in one conv pass.
    n = x.shape[0]
    stacked = torch.cat([x, y, x * x, y * y, x * y], dim=0)
    mu_x, mu_y, e_xx, e_yy, e_xy = _filter_valid(stacked, win).split(n, dim=0)
    var_x = e_xx - mu_x * mu_x
    var_y = e_yy - mu_y * mu_y
    cov_xy = e_xy - mu_x * mu_y

    c1 = (_SSIM_K1 * 1.0) ** 2
    c2 = (_SSIM_K2 * 1.0) ** 2
    num = (2 * mu_x * mu_y + c1) * (2 * cov_xy + c2)
    den = (mu_x * mu_x + mu_y * mu_y + c1) * (var_x + var_y + c2)
    ssim_map = num / den  # [B*C, 1, H-10, W-10]
    # Mean per plane, then over planes (equal-size planes, so same as a global mean).
    return float(ssim_map.flatten(1).mean(dim=1).mean())


def rmse(image, reference) -> float:
    """Root-mean-square error over all elements (any matching shapes, e.g. images)."""
    a, b = _check_pair(image, reference, ("image", "reference"))
    if a.numel() == 0:
        raise ValueError("rmse: inputs are empty")
    return float(torch.sqrt(((a - b) ** 2).mean()))


def vertex_mae(vertices, reference_vertices) -> float:
    """Mean absolute error over all vertex coordinates.

    Args:
        vertices, reference_vertices: float tensors ``[V, 3]`` in corresponding order.

    Returns:
        ``mean(|vertices - reference_vertices|)`` over all ``3 V`` coordinates.
    """
    a, b = _check_pair(vertices, reference_vertices, ("vertices", "reference_vertices"))
    if a.dim() != 2 or a.shape[1] != 3:
        raise ValueError(f"vertex_mae: expected vertices of shape [V, 3], got {tuple(a.shape)}")
    if a.shape[0] == 0:
        raise ValueError("vertex_mae: no vertices")
    return float((a - b).abs().mean())


#: The main metrics a scene's benchmark may report → whether higher is better (then a success
#: threshold is a lower bound, as for PSNR; else an upper bound, as for vertex MAE).
HIGHER_IS_BETTER = {"vertex_mae": False, "psnr": True}


def meets_threshold(value: float, threshold: float, higher_is_better: bool) -> bool:
    """One run's success: ``value >= threshold`` for scores (PSNR), ``value <= threshold`` for errors."""
    return bool(value >= threshold) if higher_is_better else bool(value <= threshold)


def success_rate(errors: Sequence[float] | torch.Tensor, threshold: float, higher_is_better: bool = False) -> float:
    """Fraction of ``errors`` that are ``<= threshold`` (e.g. final vertex MAE per run), or
    ``>= threshold`` with ``higher_is_better`` (e.g. PSNR per run).

    Args:
        errors: a 1-D sequence / tensor of non-NaN values (``inf`` counts as a failure for an
            error, as a success for a score such as the PSNR of an exact fit).
        threshold: success threshold.
        higher_is_better: the values are scores (success = value >= threshold).

    Returns:
        A float in [0, 1].
    """
    e = _as_tensor(errors, "errors").flatten()
    if e.numel() == 0:
        raise ValueError("success_rate: errors is empty")
    if torch.isnan(e).any():
        raise ValueError("success_rate: errors contains NaN values")
    if math.isnan(threshold):
        raise ValueError("success_rate: threshold is NaN")
    ok = e >= threshold if higher_is_better else e <= threshold
    return float(ok.to(torch.float64).mean())


# ----------------------------------------------------------------------------- extra metrics

#: An image metric: ``fn(image, reference) -> float`` on float tensors ``[B, H, W, 3]`` in [0, 1]
#: (CPU, float32; ``image`` is the final render of every view, ``reference`` the target).
ImageMetric = Callable[[torch.Tensor, torch.Tensor], float]

_BUILTIN_IMAGE_METRICS: dict[str, ImageMetric] = {"psnr": psnr, "ssim": ssim, "rmse": rmse}
_REGISTERED: dict[str, ImageMetric] = {}


def register_metric(name: str, fn: ImageMetric, *, replace: bool = False) -> None:
    """Add an image metric that result tables (e.g. ``benchmarks/table1.py``) compute for every run.

    This is the hook for metrics drot cannot ship, such as LPIPS, whose network weights are
    downloaded on first use (not possible offline). For example, with the ``lpips`` package::

        import lpips
        net = lpips.LPIPS(net="alex")                       # fetches its weights once

        def lpips_metric(image, reference):                 # [B, H, W, 3] in [0, 1]
            to_nchw = lambda x: x.permute(0, 3, 1, 2) * 2 - 1   # LPIPS expects [-1, 1]
            with torch.no_grad():
                return float(net(to_nchw(image), to_nchw(reference)).mean())

        drot.metrics.register_metric("lpips", lpips_metric)

    Args:
        name: column name (an identifier-like string); ``psnr``, ``ssim`` and ``rmse`` are built in.
        fn: ``fn(image, reference) -> float``, see :data:`ImageMetric`.
        replace: allow replacing a metric registered earlier under ``name``.
    """
    if not isinstance(name, str) or not name.strip() or any(c in name for c in ",|\n"):
        raise ValueError(f"metric name must be a non-empty string without ',', '|' or newlines, got {name!r}")
    if name in _BUILTIN_IMAGE_METRICS:
        raise ValueError(f"metric {name!r} is built in; choose another name")
    if not callable(fn):
        raise TypeError(f"metric {name!r}: expected a callable fn(image, reference) -> float, got {type(fn).__name__}")
    if name in _REGISTERED and not replace:
        raise ValueError(f"metric {name!r} is already registered (pass replace=True to replace it)")
    _REGISTERED[name] = fn


def unregister_metric(name: str) -> None:
    """Remove a metric added by :func:`register_metric` (no error if it is not registered)."""
    _REGISTERED.pop(name, None)


def registered_metrics() -> dict[str, ImageMetric]:
    """The metrics added by :func:`register_metric`, by name (a copy)."""
    return dict(_REGISTERED)


def image_metrics(image, reference, extra: Mapping[str, ImageMetric] | None = None,
                  errors: dict[str, str] | None = None) -> dict[str, float | None]:
    """PSNR, SSIM, RMSE, every registered metric and ``extra`` of ``image`` against ``reference``.

    Args:
        image, reference: float ``[B, H, W, 3]`` (or ``[H, W, 3]``) in [0, 1].
        extra: more metrics by name, applied after the registered ones.
        errors: if given, a metric that raises gets ``None`` and its message is stored here
            (``name -> "TypeError: ..."``) instead of propagating, so that a broken plug-in
            never loses the run it scores. Without it, the exception propagates.

    Returns:
        name -> value (built-in metrics first).
    """
    image = _as_tensor(image, "image").float()
    reference = _as_tensor(reference, "reference").float()
    if image.dim() == 3:
        image, reference = image.unsqueeze(0), reference.unsqueeze(0)
    out: dict[str, float | None] = {}
    for name, fn in {**_BUILTIN_IMAGE_METRICS, **_REGISTERED, **dict(extra or {})}.items():
        try:
            out[name] = float(fn(image, reference))
        except Exception as exc:
            if errors is None:
                raise
            errors[name] = f"{type(exc).__name__}: {exc}"
            out[name] = None
    return out
