"""The accessory scene's geometry model (:class:`AccessoryWarp`): unit-square texel corners → canvas plane
by the homography of four corners given as eight decoupled modes, with a Gauss–Newton-preconditioned
gradient (:func:`gauss_newton_inverse`) and an optional thin-plate spline.
"""
from __future__ import annotations

import torch

from ..warps import (UNIT_SQUARE, apply_homography, corner_jacobian, grid_points, homography_from_corners,
                     quad_corners, quad_decoupling, quad_modes, tps_bending_energy, tps_warp)


class _Precondition(torch.autograd.Function):
    """Identity on a parameter vector ``[8]``; multiplies its gradient by a fixed ``[8, 8]`` matrix."""

    @staticmethod
    def forward(ctx, values: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(matrix)
        return values.view_as(values)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (matrix,) = ctx.saved_tensors
        return (matrix @ grad.reshape(-1)).reshape(grad.shape), None


def gauss_newton_inverse(modes: torch.Tensor, half_size: tuple[float, float], samples: torch.Tensor,
                         coupling: torch.Tensor | None = None, free: torch.Tensor | None = None,
                         damping: float = 1e-3) -> torch.Tensor:
    """Gauss–Newton preconditioner ``[8, 8]`` (float64) for the quad ``modes`` ``[8]``.

    ``(JᵀJ / N + μ I)⁻¹`` restricted to the ``free`` modes (bool ``[8]``, default all; zero rows and
    columns elsewhere), for the Jacobian ``J`` ``[2N, 8]`` of the ``samples`` ``[N, 2]`` (unit square)
    warped by the quad's homography; μ = ``damping`` x the mean diagonal (Levenberg–Marquardt-style,
    against near-singular metrics).
    """
    with torch.no_grad():
        z = modes.detach().to(torch.float64).cpu()
        corners_of = lambda m: quad_corners(m, half_size, coupling).reshape(8)  # noqa: E731
        dcorners = torch.func.jacfwd(corners_of)(z)  # [8 corner coordinates, 8 modes]
        jac = corner_jacobian(corners_of(z).reshape(4, 2), samples.cpu()).reshape(-1, 8) @ dcorners
        free = torch.ones(8, dtype=torch.bool) if free is None else free.cpu()
        metric = (jac.T @ jac / samples.shape[0])[free][:, free]
        metric = metric + damping * metric.diagonal().mean() * torch.eye(len(metric), dtype=metric.dtype)
        out = torch.zeros(8, 8, dtype=torch.float64)
        out[free.nonzero()[:, 0][:, None], free.nonzero()[:, 0][None, :]] = torch.linalg.inv(metric)
        return out


class AccessoryWarp:
    """The geometry model of an accessory scene: unit-square texel corners → canvas plane.

    Called as ``warp(values, vertices)`` by :class:`~drot.scene.scene.Scene`. The placement is two
    parameters of kind ``"model"``: ``values["pose"]`` ``[4]`` (x, y in canvas units, log-scale,
    angle in radians) and ``values["shape"]`` ``[4]`` (log-aspect, shear, tilt x, tilt y): together
    the eight modes of :func:`~drot.apps.warps.quad_corners` (with :attr:`coupling`), which give
    the four corners (:meth:`corners`), which give the homography. The coarse stage of
    :func:`fit_accessory` holds the shape fixed (``OptimizeSettings.fixed``). With a TPS grid,
    ``values["tps"]`` ``[n², 2]`` (unit-square units) displaces the control points of an ``n x n``
    grid, applied before the homography. Returns world vertices ``[V, 3]`` = (x, −y, 0) of the
    canvas units: the orthographic camera sees them directly.

    Args:
        size_hw: the accessory's size in texels ``(h, w)``.
        resolution: the canvas ``(H, W)``.
        tps_grid: 0, or the TPS grid's points per side (>= 2).
        samples: ``[N, 2]`` opaque texel centres in the unit square (decoupling and preconditioner).
        precondition: Gauss–Newton-precondition the gradient of the placement (below).

    Why modes rather than the corners themselves. Adam scales each coordinate's step by that
    coordinate's own gradient history, so a coordinate with a small but steady gradient moves as
    fast as one with a large gradient. With the eight corner coordinates as parameters, moving one
    corner of a homography also shears the far side of the quad (a unit square's corner moved by δ
    in x moves its points by 0.25 δ in x and ±0.15 δ in y on average), so an accessory that only
    needs to move up drags the corners' x coordinates along at full speed in whatever direction
    those cross terms say, and the quad folds. In modes, a translation is two coordinates and
    each other change is a coordinate of its own; :func:`~drot.apps.warps.quad_decoupling` makes
    the modes' effects on the accessory's pixels orthogonal at the rest shape (for 24 x 8 glasses
    a raw tilt moves the pixels like a translation, correlation −0.9), and the preconditioner
    ``(JᵀJ)⁻¹`` (:func:`gauss_newton_inverse`, re-evaluated at the current modes) hands the
    optimizer the change of modes that best explains the pull on the pixels. The forward map
    (corners, homography, render) is exact; only the gradient of the placement is transformed,
    for every strategy alike.
    """

    def __init__(self, size_hw: tuple[int, int], resolution: tuple[int, int], tps_grid: int = 0,
                 samples: torch.Tensor | None = None, precondition: bool = True) -> None:
        if isinstance(tps_grid, bool) or not isinstance(tps_grid, int) or tps_grid == 1 or tps_grid < 0:
            raise ValueError(f"tps_grid must be 0 (no TPS) or an integer >= 2, got {tps_grid!r}")
        self.size_hw = (int(size_hw[0]), int(size_hw[1]))
        self.resolution = (int(resolution[0]), int(resolution[1]))
        # The accessory's own half width and height in canvas units (1 unit = half the canvas height).
        self.half_size = (self.size_hw[1] / self.resolution[0], self.size_hw[0] / self.resolution[0])
        self.tps_grid = tps_grid
        if samples is None:  # the whole texel grid
            h, w = self.size_hw
            yy, xx = torch.meshgrid((torch.arange(h) + 0.5) / h, (torch.arange(w) + 0.5) / w, indexing="ij")
            samples = torch.stack([xx.reshape(-1), yy.reshape(-1)], 1)
        self.samples = torch.as_tensor(samples, dtype=torch.float64)
        self.precondition = bool(precondition)
        self.coupling = quad_decoupling(self.half_size, self.samples)  # [4, 6] float64
    def parameters(self, corners) -> dict[str, torch.Tensor]:
        """Parameter values ``{"pose": [4], "shape": [4]}`` for corners ``[4, 2]`` in canvas units."""
        modes = quad_modes(corners, self.half_size, self.coupling)
        return {"pose": modes[:4].to(torch.float32), "shape": modes[4:].to(torch.float32)}

    def modes(self, values: dict[str, torch.Tensor]) -> torch.Tensor:
        """The eight quad modes ``[8]`` of parameter ``values``."""
        pose = values["pose"]
        return torch.cat([pose, values["shape"].to(pose.dtype)])

    def corners(self, values: dict[str, torch.Tensor]) -> torch.Tensor:
        """Corners ``[4, 2]`` (canvas units) of parameter ``values``."""
        return quad_corners(self.modes(values), self.half_size, self.coupling)

    def warp_uv(self, values: dict[str, torch.Tensor], uv: torch.Tensor) -> torch.Tensor:
        """Unit-square points ``[N, 2]`` → canvas units ``[N, 2]``."""
        modes = self.modes(values)
        if self.precondition and torch.is_grad_enabled() and modes.requires_grad:
            free = torch.tensor([values["pose"].requires_grad] * 4
                                + [values["shape"].requires_grad] * 4)
            matrix = gauss_newton_inverse(modes, self.half_size, self.samples, self.coupling, free)
            modes = _Precondition.apply(modes, matrix.to(device=modes.device, dtype=modes.dtype))
        corners = quad_corners(modes, self.half_size, self.coupling)
        if self.tps_grid and "tps" in values:
            grid = self.control_points(corners.dtype, corners.device)
            uv = tps_warp(uv, grid, grid + values["tps"]).to(corners.dtype)
        src = torch.tensor(UNIT_SQUARE, dtype=corners.dtype, device=corners.device)
        # No collinearity check here: an optimisation step must not abort on a transient near-degenerate quad.
        return apply_homography(homography_from_corners(src, corners, check=False), uv).to(corners.dtype)

    def __call__(self, values: dict[str, torch.Tensor], vertices: torch.Tensor) -> torch.Tensor:
        xy = self.warp_uv(values, vertices[:, :2].to(values["pose"].dtype))
        return torch.stack([xy[:, 0], -xy[:, 1], torch.zeros_like(xy[:, 0])], 1).to(vertices.dtype)

    def control_points(self, dtype=torch.float32, device=None) -> torch.Tensor:
        """The TPS control grid ``[n², 2]`` in the unit square."""
        return grid_points(self.tps_grid, dtype=dtype, device=device)

    def bending_energy(self, values: dict[str, torch.Tensor]) -> torch.Tensor:
        """TPS bending energy of ``values["tps"]`` (0 without a TPS grid): the warp stage's regulariser."""
        if not self.tps_grid or "tps" not in values:
            return values["pose"].new_zeros(())
        grid = self.control_points(values["tps"].dtype, values["tps"].device)
        return tps_bending_energy(grid, grid + values["tps"])
