"""Differentiable 2-D warps: the four-point homography (perspective warp) and the thin-plate spline.

Points are float tensors ``[..., 2]`` holding ``(x, y)``; every function is differentiable in its
inputs (corners, control points, points), so a warp's defining points can be optimised.

* :func:`homography_from_corners` solves the 8 x 8 direct-linear-transform (DLT) system for the
  homography that maps four source points onto four destination points (paper [37] / STRAT: the
  accessory's bounding-box corners onto their placement in the portrait); :func:`apply_homography`
  applies it.
* :func:`quad_corners` / :func:`quad_modes` describe a quadrilateral by eight *modes* — centre,
  log-scale, rotation, log-aspect, shear and two perspective tilts — instead of its eight corner
  coordinates: the same quads, in coordinates whose effects are decoupled and comparably sized,
  which is what a per-coordinate optimizer (Adam) needs (see :mod:`drot.apps.accessory`).
* :func:`tps_warp` evaluates the thin-plate spline interpolating control-point displacements;
  :func:`tps_bending_energy` is its bending energy ``∫∫ f_xx² + 2 f_xy² + f_yy²`` (zero exactly
  for affine warps), the usual TPS regulariser.
"""
from __future__ import annotations

import math

import torch

__all__ = [
    "UNIT_SQUARE",
    "check_corners",
    "homography_from_corners",
    "apply_homography",
    "warp_by_corners",
    "corner_jacobian",
    "QUAD_MODES",
    "quad_corners",
    "quad_modes",
    "quad_decoupling",
    "tps_kernel",
    "tps_coefficients",
    "tps_warp",
    "tps_bending_energy",
    "grid_points",
]

#: The unit square's corners ``[4, 2]`` in the order used throughout: top-left, top-right,
#: bottom-right, bottom-left (``y`` grows downward, as in images).
UNIT_SQUARE = ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0))

# Twice a triangle's area, relative to the squared size of the quadrilateral, below which three
# corners count as collinear: the DLT system is then singular (or hopelessly ill-conditioned).
_COLLINEAR_TOL = 1e-6


def _as_points(points, name: str, count: int | None = None) -> torch.Tensor:
    try:
        t = torch.as_tensor(points)
    except (TypeError, ValueError, RuntimeError):
        want = f"[{count}, 2]" if count is not None else "[N, 2]"
        raise TypeError(f"{name} must be (x, y) points {want} (a tensor, array or nested list of numbers), got "
                        f"{type(points).__name__} {points!r}") from None
    if not t.is_floating_point():
        t = t.to(torch.float32)
    if t.ndim < 2 or t.shape[-1] != 2 or (count is not None and t.shape[-2] != count):
        want = f"[..., {count}, 2]" if count is not None else "[..., N, 2]"
        raise ValueError(f"{name} must be a float tensor {want} of (x, y) points, got shape {tuple(t.shape)}")
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} contains NaN or inf")
    return t


def check_corners(corners, name: str = "corners") -> torch.Tensor:
    """Validate four corners ``[..., 4, 2]`` for a homography: finite, no three of them collinear.

    Returns the corners as a float tensor. Raises ``ValueError`` naming the collinear triple.
    """
    c = _as_points(corners, name, count=4).detach().to(torch.float64)
    size2 = (c.amax(-2) - c.amin(-2)).square().sum(-1)  # squared bounding-box diagonal [...]
    for i, j, k in ((0, 1, 2), (1, 2, 3), (2, 3, 0), (3, 0, 1)):
        a, b = c[..., j, :] - c[..., i, :], c[..., k, :] - c[..., i, :]
        area2 = (a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]).abs()
        bad = ~(area2 > _COLLINEAR_TOL * size2)  # also catches all corners coinciding (size 0)
        if bool(bad.any()):
            raise ValueError(
                f"{name} are degenerate for a homography: corners {i}, {j} and {k} are collinear (or coincide), "
                f"got {c.tolist()}; expected four corners of a proper quadrilateral (top-left, top-right, "
                f"bottom-right, bottom-left), no three on one line")
    return _as_points(corners, name, count=4)


def homography_from_corners(src, dst, check: bool = True) -> torch.Tensor:
    """The homography mapping four source points onto four destination points (DLT, 8 x 8 solve).

    With ``H[2, 2] = 1``, each correspondence ``(x, y) → (u, v)`` gives two rows of the linear system
    ``[x y 1 0 0 0 -ux -uy] h = u`` and ``[0 0 0 x y 1 -vx -vy] h = v``, solved with
    ``torch.linalg.solve`` — differentiable in both point sets.

    Args:
        src, dst: float ``[..., 4, 2]`` (batch dimensions broadcast).
        check: validate that neither set has three collinear points (raises ``ValueError``); an
            optimisation loop may turn it off and accept a singular-system error instead.

    Returns:
        ``[..., 3, 3]`` in the promoted dtype of the inputs; the solve itself runs in float64 so
        that float32 corners still give a homography accurate to float32 precision.
    """
    if check:
        check_corners(src, "source corners")
        check_corners(dst, "destination corners")
    src, dst = _as_points(src, "source corners", 4), _as_points(dst, "destination corners", 4)
    out_dtype = torch.promote_types(src.dtype, dst.dtype)
    src, dst = torch.broadcast_tensors(src.to(torch.float64), dst.to(torch.float64))
    x, y = src[..., 0], src[..., 1]  # [..., 4]
    u, v = dst[..., 0], dst[..., 1]
    one, zero = torch.ones_like(x), torch.zeros_like(x)
    rows_u = torch.stack([x, y, one, zero, zero, zero, -u * x, -u * y], -1)  # [..., 4, 8]
    rows_v = torch.stack([zero, zero, zero, x, y, one, -v * x, -v * y], -1)
    a = torch.cat([rows_u, rows_v], -2)  # [..., 8, 8]
    b = torch.cat([u, v], -1)  # [..., 8]
    h = torch.linalg.solve(a, b.unsqueeze(-1)).squeeze(-1)
    h = torch.cat([h, torch.ones_like(h[..., :1])], -1)
    return h.reshape(*h.shape[:-1], 3, 3).to(out_dtype)


def apply_homography(h: torch.Tensor, points) -> torch.Tensor:
    """Map points ``[..., N, 2]`` by homographies ``[..., 3, 3]`` → ``[..., N, 2]`` (dtype of the promotion)."""
    points = _as_points(points, "points")
    dtype = torch.promote_types(h.dtype, points.dtype)
    homo = torch.cat([points.to(dtype), torch.ones_like(points[..., :1], dtype=dtype)], -1)
    mapped = homo @ h.to(dtype).transpose(-1, -2)
    return mapped[..., :2] / mapped[..., 2:3]


def warp_by_corners(points, dst_corners, src_corners=UNIT_SQUARE, check: bool = True) -> torch.Tensor:
    """Perspective-warp points ``[..., N, 2]`` so that ``src_corners`` land on ``dst_corners`` (both ``[4, 2]``)."""
    dst = _as_points(dst_corners, "destination corners", 4)
    src = torch.as_tensor(src_corners, dtype=dst.dtype, device=dst.device)
    return apply_homography(homography_from_corners(src, dst, check=check), points)


def corner_jacobian(corners, points, src_corners=UNIT_SQUARE, step: float = 1e-6) -> torch.Tensor:
    """Jacobian ``[N, 2, 4, 2]`` of the warped ``points`` ``[N, 2]`` with respect to the destination corners.

    ``J[i, :, k, d]`` is how point ``i`` moves when corner ``k``'s coordinate ``d`` moves. Central
    differences in float64 over one batched solve (16 perturbed homographies): accurate to ~1e-9,
    and a fraction of the cost of autograd's ``jacrev``/``jacfwd`` through the DLT solve. No gradient.
    """
    with torch.no_grad():
        c = _as_points(corners, "corners", 4).detach().to(torch.float64).reshape(8)
        src = torch.as_tensor(src_corners, dtype=torch.float64, device=c.device)
        eye = torch.eye(8, dtype=torch.float64, device=c.device) * step
        batch = torch.cat([c + eye, c - eye]).reshape(16, 4, 2)
        h = homography_from_corners(src.expand(16, 4, 2), batch, check=False)
        pts = _as_points(points, "points").detach().to(torch.float64)
        mapped = apply_homography(h, pts.expand(16, *pts.shape))  # [16, N, 2]
        jac = (mapped[:8] - mapped[8:]) / (2 * step)  # [8, N, 2]
        return jac.permute(1, 2, 0).reshape(pts.shape[0], 2, 4, 2)


# ------------------------------------------------------------------------------- quad modes
#: The eight modes of :func:`quad_corners`, in order.
QUAD_MODES = ("x", "y", "log_scale", "angle", "log_aspect", "shear", "tilt_x", "tilt_y")
_SX = (-1.0, 1.0, 1.0, -1.0)  # corner signs: top-left, top-right, bottom-right, bottom-left (y down)
_SY = (-1.0, -1.0, 1.0, 1.0)


def quad_corners(modes: torch.Tensor, half_size, coupling: torch.Tensor | None = None) -> torch.Tensor:
    """Corners ``[..., 4, 2]`` (TL, TR, BR, BL; y down) of the quad described by ``modes`` ``[..., 8]``.

    Starting from the rectangle ``[-a, a] x [-b, b]`` (``half_size = (a, b)``, the accessory's own
    half width and height), in this order:

    * the four *shape* modes: ``tilt_x``, ``tilt_y`` (perspective foreshortening: the right edge
      becomes ``1 + tilt_x`` times as tall and the left edge ``1 - tilt_x``; the bottom edge
      ``1 + tilt_y`` as wide and the top ``1 - tilt_y``); ``log_aspect`` (width x
      ``exp(log_aspect / 2)``, height x ``exp(-log_aspect / 2)``); ``shear`` (``x += shear * y``);
    * the four *similarity* modes: ``log_scale`` (both x ``exp(log_scale)``), ``angle`` (radians,
      counter-clockwise as seen on screen) and the centre ``x``, ``y``.

    ``coupling`` ``[4, 6]`` (optional, see :func:`quad_decoupling`) adds ``coupling @ modes[2:]`` to
    (a shift in the rectangle's own frame, log-scale, angle), so that scale and rotation act about
    the accessory's pixels rather than the quad's centre, and each shape mode leaves the pixels
    where they are on average instead of, say, tilting like a translation. All zeros but the centre
    gives the rectangle at its own size. Differentiable.
    """
    m = torch.as_tensor(modes)
    if m.shape[-1] != 8:
        raise ValueError(f"quad modes must be [..., 8] ({', '.join(QUAD_MODES)}), got shape {tuple(m.shape)}")
    a, b = (float(v) for v in half_size)
    sx = torch.tensor(_SX, dtype=m.dtype, device=m.device)
    sy = torch.tensor(_SY, dtype=m.dtype, device=m.device)
    cx, cy, log_s, angle, log_a, shear, tx, ty = (m[..., i:i + 1] for i in range(8))
    shift_x = shift_y = torch.zeros_like(cx)
    if coupling is not None:
        extra = m[..., 2:] @ torch.as_tensor(coupling, dtype=m.dtype, device=m.device).T  # [..., 4]
        shift_x, shift_y = extra[..., 0:1], extra[..., 1:2]
        log_s, angle = log_s + extra[..., 2:3], angle + extra[..., 3:4]
    x = sx * a * (1 + ty * sy) * torch.exp(log_a / 2)
    y = sy * b * (1 + tx * sx) * torch.exp(-log_a / 2)
    x = x + shear * y + shift_x
    y = y + shift_y
    scale = torch.exp(log_s)
    cos, sin = torch.cos(angle), torch.sin(angle)
    xr = scale * (cos * x + sin * y)  # counter-clockwise on screen = clockwise in y-down coordinates
    yr = scale * (-sin * x + cos * y)
    return torch.stack([xr + cx, yr + cy], -1)


def quad_decoupling(half_size, samples) -> torch.Tensor:
    """The ``coupling`` ``[4, 6]`` for :func:`quad_corners` that makes the modes' effects on
    ``samples`` ``[N, 2]`` (points of the unit square, e.g. an accessory's opaque texel centres,
    warped by the quad's homography) orthogonal at the rest shape, in the order translation →
    scale, rotation → shape modes (Gram–Schmidt by least squares on their Jacobians).

    Scale and rotation get a compensating shift (they then act about the samples' centroid); each
    shape mode gets a compensating shift, log-scale and angle. Without it, for a wide accessory
    ``tilt_x`` moves its pixels much like a translation in x (correlation −0.9 for 24 x 8
    glasses) and ``log_aspect`` like a scale (+0.8), and an optimizer confuses them.
    """
    pts = _as_points(samples, "samples").detach().to(torch.float64).cpu()
    src = torch.tensor(UNIT_SQUARE, dtype=torch.float64)

    def warped(m: torch.Tensor, coupling: torch.Tensor | None) -> torch.Tensor:
        corners = quad_corners(m, half_size, coupling)
        return apply_homography(homography_from_corners(src, corners, check=False), pts).reshape(-1)

    # Jacobian of the warped samples with respect to (local shift x, y, log-scale, angle, 4 shape modes)
    # at the rest shape: with a zero coupling, column 0 / 1 of the shift are the centre's x / y.
    jac = torch.func.jacfwd(lambda m: warped(m, None))(torch.zeros(8, dtype=torch.float64))  # [2N, 8]
    j_t, j_sim, j_shape = jac[:, :2], jac[:, 2:4], jac[:, 4:]
    lstsq = lambda a, b: torch.linalg.solve(a.T @ a, a.T @ b)  # noqa: E731
    c_sim = -lstsq(j_t, j_sim)  # [2, 2]: shift for log-scale, angle
    j_sim_orth = j_sim + j_t @ c_sim
    coef = -lstsq(torch.cat([j_t, j_sim_orth], 1), j_shape)  # [4, 4] on (shift, orthogonal sim)
    shift = coef[:2] + c_sim @ coef[2:]
    coupling = torch.zeros(4, 6, dtype=torch.float64)
    coupling[:2, :2] = c_sim
    coupling[:2, 2:] = shift
    coupling[2:, 2:] = coef[2:]
    return coupling


def quad_modes(corners, half_size, coupling: torch.Tensor | None = None, tol: float = 1e-9,
               max_iter: int = 100) -> torch.Tensor:
    """The modes ``[8]`` (float64) whose :func:`quad_corners` are ``corners`` ``[4, 2]``: Newton's method.

    Raises ValueError when the corners are degenerate, or when no modes reproduce them (a quad too
    far from a rectangle: a tilt at or beyond ±1, i.e. an edge shrunk to nothing, or folded).
    """
    target = check_corners(corners, "corners").detach().to(torch.float64).cpu()
    centre = target.mean(0)
    top = target[1] - target[0]
    a, b = (float(v) for v in half_size)
    size = float((target.amax(0) - target.amin(0)).norm())
    scale = math.sqrt(float((target[1] - target[0]).norm() * (target[3] - target[0]).norm()) / (4 * a * b))
    z = torch.zeros(8, dtype=torch.float64)
    z[0], z[1] = centre
    z[2] = math.log(max(scale, 1e-6))
    z[3] = -math.atan2(float(top[1]), float(top[0]))
    coupling = None if coupling is None else torch.as_tensor(coupling, dtype=torch.float64).cpu()
    residual = lambda v: (quad_corners(v, half_size, coupling) - target).reshape(8)  # noqa: E731
    err = residual(z)
    for _ in range(max_iter):
        if float(err.abs().max()) <= tol * max(size, 1.0):
            return z
        jac = torch.func.jacfwd(residual)(z)
        try:
            step = torch.linalg.solve(jac, err)
        except RuntimeError:
            break
        t = 1.0  # backtracking: accept the first step that reduces the residual
        while t > 1e-4:
            trial = z - t * step
            trial_err = residual(trial)
            if float(trial_err.norm()) < float(err.norm()):
                z, err = trial, trial_err
                break
            t /= 2
        else:
            break
    if float(err.abs().max()) <= 1e-6 * max(size, 1.0):
        return z
    raise ValueError(f"corners {target.tolist()} cannot be described as a tilted (perspective) rectangle: "
                     f"expected a convex quad whose opposite edges are not shrunk to nothing")


# ------------------------------------------------------------------------------- thin-plate spline
def tps_kernel(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The TPS radial basis ``U(r) = r² log r`` between point sets ``[N, 2]`` and ``[M, 2]`` → ``[N, M]``.

    ``U`` is the fundamental solution of the biharmonic operator (``Δ²U = 8π δ``); written as
    ``½ r² log(r² + tiny)`` so that value and gradient are finite (0) at ``r = 0``.
    """
    r2 = (a[:, None, :] - b[None, :, :]).square().sum(-1)
    tiny = torch.finfo(r2.dtype).tiny
    return 0.5 * r2 * torch.log(r2 + tiny)


def tps_coefficients(control, targets, regularization: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Solve for the thin-plate spline mapping ``control`` points onto ``targets`` (both ``[K, 2]``, K ≥ 3).

    The spline is ``f(p) = A^T [1, x, y] + Σ_i W_i U(|p − c_i|)`` with the side conditions
    ``P^T W = 0`` (so that ``W`` carries no affine part), from the ``(K + 3)`` square system
    ``[[K + λI, P], [P^T, 0]] [W; A] = [targets; 0]``.

    Args:
        control, targets: float ``[K, 2]``; control points not all collinear.
        regularization: λ ≥ 0; 0 interpolates exactly, larger values smooth (approximate).

    Returns:
        ``(W [K, 2], A [3, 2])``, differentiable in ``control`` and ``targets``.
    """
    control, targets = _as_points(control, "control points"), _as_points(targets, "TPS targets")
    if control.ndim != 2 or control.shape != targets.shape or control.shape[0] < 3:
        raise ValueError(f"control points and targets must both be [K, 2] with K >= 3, got "
                         f"{tuple(control.shape)} and {tuple(targets.shape)}")
    if not regularization >= 0:
        raise ValueError(f"TPS regularization must be >= 0, got {regularization}")
    dtype = torch.promote_types(control.dtype, targets.dtype)
    c, t = control.to(dtype), targets.to(dtype)
    k = c.shape[0]
    kmat = tps_kernel(c, c) + regularization * torch.eye(k, dtype=dtype, device=c.device)
    p = torch.cat([torch.ones_like(c[:, :1]), c], 1)  # [K, 3]
    top = torch.cat([kmat, p], 1)
    bottom = torch.cat([p.T, torch.zeros(3, 3, dtype=dtype, device=c.device)], 1)
    system = torch.cat([top, bottom], 0)
    rhs = torch.cat([t, torch.zeros(3, 2, dtype=dtype, device=c.device)], 0)
    try:
        sol = torch.linalg.solve(system, rhs)
    except RuntimeError as exc:  # torch._C._LinAlgError subclasses RuntimeError
        raise ValueError("TPS control points are degenerate (all collinear or repeated); expected K >= 3 "
                         "distinct points spanning the plane") from exc
    return sol[:k], sol[k:]


def tps_warp(points, control, targets, regularization: float = 0.0) -> torch.Tensor:
    """Thin-plate-spline warp of ``points`` ``[N, 2]`` by ``control → targets`` (``[K, 2]`` each) → ``[N, 2]``."""
    points = _as_points(points, "points")
    w, a = tps_coefficients(control, targets, regularization)
    p = points.to(w.dtype)
    affine = torch.cat([torch.ones_like(p[:, :1]), p], 1) @ a
    return affine + tps_kernel(p, torch.as_tensor(control).to(w.dtype)) @ w


def tps_bending_energy(control, targets, regularization: float = 0.0) -> torch.Tensor:
    """Bending energy ``∫∫_R² f_xx² + 2 f_xy² + f_yy²`` (summed over x and y) of the TPS ``control → targets``.

    With ``U(r) = r² log r`` and ``P^T W = 0`` it equals ``8π · trace(W^T K W)`` (integrating by parts,
    ``Δ²f = 8π Σ W_i δ_{c_i}``): a scalar ≥ 0, exactly 0 when the targets are an affine image of
    the control points, differentiable in both — the penalty to add to a loss.
    """
    w, _ = tps_coefficients(control, targets, regularization)
    c = torch.as_tensor(control).to(w.dtype)
    kmat = tps_kernel(c, c)
    return 8 * math.pi * (w * (kmat @ w)).sum()


def grid_points(n: int, dtype=torch.float32, device=None) -> torch.Tensor:
    """An ``n x n`` grid of control points over the unit square, row-major from the top-left → ``[n², 2]``."""
    if not isinstance(n, int) or n < 2:
        raise ValueError(f"a TPS control grid needs n >= 2 points per side, got {n!r}")
    s = torch.linspace(0.0, 1.0, n, dtype=dtype, device=device)
    yy, xx = torch.meshgrid(s, s, indexing="ij")
    return torch.stack([xx.reshape(-1), yy.reshape(-1)], 1)
