"""Accessory try-on by a perspective warp (Gou et al., "Virtual Accessory Try-On via Keypoint
Hallucination", §3): composite a 2-D accessory (glasses, hat, tie: an RGBA image) onto a portrait
by the homography that takes the accessory's four bounding-box corners to four points of the
portrait, and recover those four corners from a target composite with ``drot.optimize``.

How it plugs into the shared optimizer (no change to it):

* the accessory becomes a flat mesh (:func:`accessory_mesh`): two triangles per opaque texel
  (alpha ≥ 0.5) on a welded grid of texel corners in the accessory's unit square (u right, v
  down), textured with the accessory's colours;
* the scene's geometry model (:class:`AccessoryWarp`) maps them by the homography of the four
  corners (:func:`drot.apps.warps.homography_from_corners`, an 8 x 8 DLT solve, differentiable)
  onto the canvas plane z = 0, seen by an orthographic camera. The corners are parameterised by
  eight decoupled *modes* — parameters ``"pose"`` ``[4]`` (position, log-scale, angle) and
  ``"shape"`` ``[4]`` (log-aspect, shear, two perspective tilts), both of kind ``"model"`` — see
  :class:`AccessoryWarp` for why not the eight corner coordinates themselves;
* a flat material (ambient 1, no diffuse or specular light) shows the colours as they are, and the
  portrait is the scene's background image.

The point proxies are then exactly the accessory's visible pixels, and optimal transport matches
them to the accessory's pixels in the target composite (whose coverage mask is known, so only
accessory pixels are matched). :func:`fit_accessory` recovers a placement in two stages (pose by
the chosen method, then the full warp by per-pixel L2). An optional thin-plate-spline warp
(``tps_grid``) adds a local non-rigid deformation under the homography (parameter ``"tps"``;
:meth:`AccessoryWarp.bending_energy`, weighted by ``FitSettings.bending_weight``, is added to
the loss of the warp stage through ``OptimizeSettings.regularizer``).

Coordinates. *Pixel coordinates* ``(x, y)``: x right, y down, origin at the canvas's top-left
corner, pixel ``(row i, column j)`` covering ``[j, j + 1] x [i, i + 1]``. *Canvas units*: origin
at the canvas centre, x right, y down, one unit = half the canvas height (Adam's default learning
rate 0.02 is then a step of 0.64 pixels on a 64 x 64 canvas). Corners are ordered top-left,
top-right, bottom-right, bottom-left of the accessory image.

Metrics (STRAT, paper §4.1): :func:`corner_displacement` (Disp: mean corner distance, x and y
normalised by the canvas width and height) and :func:`mask_iou` of the accessory's coverage.
"""
from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path

import numpy as np
import torch

from ..optim.loop import OptimizationResult, OptimizeSettings, optimize
from ..render.backend import get_backend
from ..render.camera import Camera
from ..render.renderer import render
from ..render.shading import Material
from ..scene.mesh import Mesh
from ..scene.parameters import Parameter
from ..scene.scene import Scene
from .warps import (UNIT_SQUARE, apply_homography, check_corners, corner_jacobian, grid_points,
                    homography_from_corners, quad_corners, quad_decoupling, quad_modes, tps_bending_energy,
                    tps_warp)

__all__ = [
    "ALPHA_THRESHOLD", "DISP_THRESHOLD", "IOU_THRESHOLD",
    "as_accessory", "as_portrait", "load_accessory", "load_portrait",
    "Placement", "pixels_to_canvas", "canvas_to_pixels",
    "accessory_mesh", "AccessoryWarp", "gauss_newton_inverse", "accessory_scene",
    "corner_displacement", "mask_iou", "accessory_mask", "placement_corners", "scene_corners",
    "FitSettings", "AccessoryFit", "fit_accessory",
]

#: A texel belongs to the accessory when its alpha is at least this.
ALPHA_THRESHOLD = 0.5
#: Success thresholds of a recovered placement: Disp ≤ 0.02 and IoU ≥ 0.85.
DISP_THRESHOLD = 0.02
IOU_THRESHOLD = 0.85

# ------------------------------------------------------------------------------------- images
def _to_float_image(image, what: str) -> torch.Tensor:
    """Array-like ``[H, W, C]`` (uint8, uint16 or float in [0, 1]) → float32 tensor."""
    if isinstance(image, torch.Tensor):
        arr = image.detach().cpu().numpy()
    else:
        arr = np.asarray(image)
    if arr.dtype == np.uint8:
        arr = arr.astype(np.float32) / 255.0
    elif arr.dtype == np.uint16:
        arr = arr.astype(np.float32) / 65535.0
    elif np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float32)
    else:
        raise ValueError(f"{what} must be uint8, uint16 or float (values in [0, 1]), got dtype {arr.dtype}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{what} contains NaN or inf")
    return torch.from_numpy(np.ascontiguousarray(arr))


def as_accessory(image, crop: bool = False) -> torch.Tensor:
    """Validate an accessory image → float32 RGBA tensor ``[h, w, 4]`` in [0, 1].

    Args:
        image: array-like ``[h, w, 4]`` (RGBA) or ``[h, w, 2]`` (grey + alpha), uint8/uint16/float.
        crop: crop to the bounding box of the opaque texels (alpha ≥ 0.5), so that the four
            corners are those of the accessory itself rather than of the image's padding.

    Raises:
        ValueError: no alpha channel (RGB or grey image), wrong shape, no opaque texel.
    """
    img = _to_float_image(image, "accessory image")
    if img.ndim == 2 or (img.ndim == 3 and img.shape[2] in (1, 3)):
        channels = 1 if img.ndim == 2 else img.shape[2]
        raise ValueError(f"accessory image has no alpha channel: got shape {tuple(img.shape)} ({channels} channel"
                         f"{'s' if channels > 1 else ''}); expected RGBA [h, w, 4] whose alpha marks the accessory "
                         f"(alpha >= {ALPHA_THRESHOLD} = accessory, below = transparent)")
    if img.ndim != 3 or img.shape[2] not in (2, 4) or min(img.shape[:2]) < 1:
        raise ValueError(f"accessory image must be RGBA [h, w, 4] (or grey + alpha [h, w, 2]), got {tuple(img.shape)}")
    if img.shape[2] == 2:
        img = torch.cat([img[..., :1].expand(-1, -1, 3), img[..., 1:]], 2)
    img = img.clamp(0, 1)
    opaque = img[..., 3] >= ALPHA_THRESHOLD
    if not bool(opaque.any()):
        raise ValueError(f"accessory image is fully transparent: no texel has alpha >= {ALPHA_THRESHOLD}")
    if crop:
        rows, cols = opaque.any(1).nonzero().squeeze(1), opaque.any(0).nonzero().squeeze(1)
        img = img[int(rows[0]): int(rows[-1]) + 1, int(cols[0]): int(cols[-1]) + 1]
    return img.contiguous()


def as_portrait(image) -> torch.Tensor:
    """Validate a portrait → float32 RGB tensor ``[H, W, 3]`` in [0, 1].

    Accepts ``[H, W]`` grey, ``[H, W, 3]`` RGB or ``[H, W, 4]`` RGBA (composited over black, drot's
    background colour: give an opaque portrait to keep its colours).
    """
    img = _to_float_image(image, "portrait image")
    if img.ndim == 2:
        img = img[..., None].expand(-1, -1, 3)
    if img.ndim != 3 or img.shape[2] not in (3, 4) or min(img.shape[:2]) < 1:
        raise ValueError(f"portrait must be an image [H, W, 3] (RGB), [H, W, 4] (RGBA) or [H, W] (grey), "
                         f"got shape {tuple(img.shape)}")
    if img.shape[2] == 4:
        img = img[..., :3] * img[..., 3:]
    return img.clamp(0, 1).contiguous()


def _read_image(path: str | os.PathLike, what: str) -> np.ndarray:
    import imageio.v3 as iio

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} file not found: {path}")
    try:
        return np.asarray(iio.imread(path))
    except Exception as exc:  # imageio raises many exception types for unreadable files
        raise ValueError(f"cannot read {what} file {path}: {exc}") from exc


def load_accessory(path: str | os.PathLike, crop: bool = True) -> torch.Tensor:
    """Read an RGBA accessory image (PNG, ...) → float32 ``[h, w, 4]``, cropped to its opaque texels.

    Raises FileNotFoundError, or ValueError for an unreadable file or one without alpha channel.
    """
    arr = _read_image(path, "accessory image")
    try:
        return as_accessory(arr, crop=crop)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def load_portrait(path: str | os.PathLike) -> torch.Tensor:
    """Read a portrait image (RGB or RGBA PNG, JPEG, ...) → float32 ``[H, W, 3]``."""
    arr = _read_image(path, "portrait image")
    try:
        return as_portrait(arr)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


# -------------------------------------------------------------------------------- coordinates
def pixels_to_canvas(points, resolution: tuple[int, int]) -> torch.Tensor:
    """Pixel coordinates ``[..., 2]`` → canvas units (origin at the centre, 1 = half the height)."""
    h, w = resolution
    p = torch.as_tensor(points, dtype=torch.float32) if not torch.is_tensor(points) else points
    centre = torch.tensor([w / 2, h / 2], dtype=p.dtype, device=p.device)
    return (p - centre) / (h / 2)


def canvas_to_pixels(points, resolution: tuple[int, int]) -> torch.Tensor:
    """Canvas units ``[..., 2]`` → pixel coordinates (the inverse of :func:`pixels_to_canvas`)."""
    h, w = resolution
    p = torch.as_tensor(points, dtype=torch.float32) if not torch.is_tensor(points) else points
    centre = torch.tensor([w / 2, h / 2], dtype=p.dtype, device=p.device)
    return p * (h / 2) + centre


@dataclasses.dataclass(frozen=True)
class Placement:
    """A placement of an accessory by centre, scale, rotation, aspect, shear and perspective tilt.

    The eight numbers are the modes of :func:`drot.apps.warps.quad_corners`, in pixel units; any
    convex quad not too far from a rectangle is one (:meth:`from_corners`).

    Attributes:
        center: ``(x, y)`` pixel coordinates of the centre of the four corners.
        scale: size relative to the accessory's own size in pixels (1 = one texel per pixel).
        angle: rotation in degrees, counter-clockwise as seen on screen.
        tilt: ``(tx, ty)`` perspective foreshortening: the right edge is ``1 + tx`` times as tall as
            the middle and the left edge ``1 - tx``; likewise the bottom edge ``1 + ty`` as wide,
            the top edge ``1 - ty`` (|t| < 1).
        aspect: width / height stretch (width x aspect^½, height x aspect^-½).
        shear: horizontal shear of the accessory's own frame (``x += shear * y``), before rotation.
    """

    center: tuple[float, float]
    scale: float = 1.0
    angle: float = 0.0
    tilt: tuple[float, float] = (0.0, 0.0)
    aspect: float = 1.0
    shear: float = 0.0

    def __post_init__(self) -> None:
        for name in ("scale", "aspect"):
            v = getattr(self, name)
            if not (v > 0 and math.isfinite(v)):
                raise ValueError(f"placement {name} must be positive and finite, got {v}")
        if not all(abs(t) < 1 for t in self.tilt):
            raise ValueError(f"placement tilt must be in (-1, 1) per axis, got {self.tilt}")

    def modes(self) -> torch.Tensor:
        """The eight modes ``[8]`` (float64) in pixel units (angle in radians)."""
        return torch.tensor([self.center[0], self.center[1], math.log(self.scale), math.radians(self.angle),
                             math.log(self.aspect), self.shear, self.tilt[0], self.tilt[1]], dtype=torch.float64)

    def corners(self, size_hw: tuple[int, int]) -> torch.Tensor:
        """Pixel corners ``[4, 2]`` float32 (TL, TR, BR, BL) for an accessory of ``size_hw = (h, w)`` texels."""
        return quad_corners(self.modes(), (size_hw[1] / 2, size_hw[0] / 2)).to(torch.float32)

    @classmethod
    def from_corners(cls, corners, size_hw: tuple[int, int]) -> "Placement":
        """The placement whose corners are ``corners`` ``[4, 2]`` (pixels) for an ``(h, w)`` accessory."""
        m = quad_modes(corners, (size_hw[1] / 2, size_hw[0] / 2)).tolist()
        return cls(center=(m[0], m[1]), scale=math.exp(m[2]), angle=math.degrees(m[3]), tilt=(m[6], m[7]),
                   aspect=math.exp(m[4]), shear=m[5])


def placement_corners(placement, size_hw: tuple[int, int]) -> torch.Tensor:
    """Pixel corners ``[4, 2]`` from a :class:`Placement` or from corners given directly (checked)."""
    corners = placement.corners(size_hw) if isinstance(placement, Placement) else torch.as_tensor(
        placement, dtype=torch.float32)
    return check_corners(corners, "accessory corners").to(torch.float32)


# ---------------------------------------------------------------------------------- the scene
def accessory_mesh(accessory) -> Mesh:
    """The accessory as a flat textured mesh: two triangles per opaque texel, on a welded grid.

    Texel ``(i, j)`` of an ``h x w`` accessory becomes the quad ``[j/w, (j+1)/w] x [i/h, (i+1)/h]``
    of the unit square (u right, v down, z = 0). Neighbouring quads share their vertices, so the
    antialiasing sees only the accessory's outline as a silhouette (not every edge between texels),
    and the colours come from the accessory as a texture, sampled bilinearly like a warped image:
    at pixel centres that fall on texel centres (identity placement) the colours are the texels'.

    The texture is the accessory's RGB padded by one texel on every side (the renderer's lookups
    wrap around), with every transparent texel given the colour of the nearest opaque one, so
    that bilinear lookups at the accessory's edge do not bleed in the transparent texels' colour.

    Returns:
        :class:`~drot.scene.mesh.Mesh`: vertices ``[V, 3]`` (u, v, 0) at the texel corners of opaque
        texels, ``2 T`` faces (T opaque texels, row-major), uvs ``[V, 2]`` and texture
        ``[h + 2, w + 2, 3]``.
    """
    from scipy import ndimage

    acc = as_accessory(accessory)
    h, w = acc.shape[:2]
    opaque = acc[..., 3] >= ALPHA_THRESHOLD
    ii, jj = opaque.nonzero(as_tuple=True)
    # Texel corners (lattice points) used by opaque texels, numbered compactly.
    corner_ids = torch.stack([ii * (w + 1) + jj, ii * (w + 1) + jj + 1,
                              (ii + 1) * (w + 1) + jj + 1, (ii + 1) * (w + 1) + jj], 1)  # TL, TR, BR, BL [T, 4]
    used, local = torch.unique(corner_ids, return_inverse=True)
    gy, gx = (used // (w + 1)).double(), (used % (w + 1)).double()
    verts = torch.stack([gx / w, gy / h, torch.zeros_like(gx)], 1).float()
    uvs = torch.stack([(gx + 1) / (w + 2), (gy + 1) / (h + 2)], 1).float()
    # v points down here and up in the world, so (TL, BL, BR) is counter-clockwise in the world.
    faces = torch.cat([local[:, [0, 3, 2]], local[:, [0, 2, 1]]], 1).reshape(-1, 3)
    padded = np.zeros((h + 2, w + 2), dtype=bool)
    padded[1:-1, 1:-1] = opaque.numpy()
    _, (ni, nj) = ndimage.distance_transform_edt(~padded, return_indices=True)
    rgb = np.zeros((h + 2, w + 2, 3), dtype=np.float32)
    rgb[1:-1, 1:-1] = acc[..., :3].numpy()
    texture = torch.from_numpy(rgb[ni, nj])
    return Mesh(verts, faces.long(), uvs=uvs, texture=texture)


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


def accessory_scene(accessory, portrait, target, start=None, *, tps_grid: int = 0, precondition: bool = True,
                    name: str = "accessory") -> Scene:
    """A :class:`~drot.scene.scene.Scene` compositing ``accessory`` onto ``portrait`` by a warp.

    Args:
        accessory: RGBA image ``[h, w, 4]`` (see :func:`as_accessory`).
        portrait: RGB image ``[H, W, 3]`` (see :func:`as_portrait`): the canvas and the background.
        target: the placement to recover — pixel corners ``[4, 2]`` (TL, TR, BR, BL) or a :class:`Placement`.
        start: the default start placement (corners or :class:`Placement`); default: the accessory
            at its own size in the middle of the canvas. ``fit_accessory(scene, start)`` or
            ``drot.optimize(..., initial=scene.geometry.parameters(...))`` override it.
        tps_grid: 0, or n >= 2 to add a TPS warp on an n x n control grid (parameter ``"tps"``,
            target and start 0).
        precondition: Gauss–Newton-precondition the placement's gradient (see :class:`AccessoryWarp`).
        name: the scene's name.

    Returns:
        A scene with parameters ``"pose"`` ``[4]`` and ``"shape"`` ``[4]`` (kind ``"model"``, see
        :class:`AccessoryWarp`; ``scene.geometry.corners(values)`` converts them to corners), one
        orthographic view of the canvas, the flat accessory mesh and the portrait as background.

    Raises:
        ValueError: no alpha channel, a portrait smaller than the accessory, degenerate (collinear)
            corners, or a target placement that leaves no accessory pixel on the canvas.
    """
    acc = as_accessory(accessory)
    bg = as_portrait(portrait)
    (h, w), (ph, pw) = acc.shape[:2], bg.shape[:2]
    if ph < h or pw < w:
        raise ValueError(f"portrait is {ph} x {pw} pixels (H x W) but the accessory is {h} x {w}: the portrait "
                         f"(the canvas) must be at least as large as the accessory in both dimensions")
    resolution = (ph, pw)
    target_px = placement_corners(target, (h, w))
    start_px = placement_corners(start if start is not None else Placement(center=(pw / 2, ph / 2)), (h, w))
    ii, jj = (acc[..., 3] >= ALPHA_THRESHOLD).nonzero(as_tuple=True)
    samples = torch.stack([(jj + 0.5) / w, (ii + 0.5) / h], 1)  # opaque texel centres, unit square
    warp = AccessoryWarp((h, w), resolution, tps_grid, samples, precondition)
    target_values = warp.parameters(pixels_to_canvas(target_px, resolution))
    start_values = warp.parameters(pixels_to_canvas(start_px, resolution))
    params = [Parameter(k, "model", v, initial=start_values[k]) for k, v in target_values.items()]
    if warp.tps_grid:
        zeros = torch.zeros(warp.tps_grid ** 2, 2)
        params.append(Parameter("tps", "model", zeros, initial=zeros))
    camera = Camera(torch.tensor([0.0, 0.0, 3.0]), torch.zeros(3), torch.tensor([0.0, 1.0, 0.0]),
                    near=0.1, far=10.0, ortho_half_height=1.0)
    scene = Scene(name, accessory_mesh(acc), [camera], resolution, params,
                  material=Material(ambient=1.0, diffuse=0.0, specular=0.0),
                  description=f"{h}x{w} accessory warped onto a {ph}x{pw} portrait (4-corner homography"
                              f"{f' + {warp.tps_grid}x{warp.tps_grid} TPS' if warp.tps_grid else ''})",
                  geometry=warp, background=bg)
    if not bool(accessory_mask(scene, scene.target_values()).any()):
        raise ValueError(f"the target corners {target_px.tolist()} leave no accessory pixel on the "
                         f"{ph} x {pw} canvas; expected a placement that overlaps the portrait")
    return scene


def scene_corners(scene: Scene, values: dict[str, torch.Tensor]) -> torch.Tensor:
    """Pixel corners ``[4, 2]`` (float32, CPU) of parameter ``values`` of an accessory scene."""
    return canvas_to_pixels(scene.geometry.corners(values).detach().float().cpu(), scene.resolution)


# -------------------------------------------------------------------------------------- metrics
def corner_displacement(corners, reference, resolution: tuple[int, int]) -> float:
    """Disp: mean distance between pixel corners ``[4, 2]`` and ``reference`` ``[4, 2]``, with x
    normalised by the canvas width and y by its height (so 0.02 on 64 x 64 is 1.28 pixels)."""
    h, w = resolution
    a, b = torch.as_tensor(corners, dtype=torch.float64), torch.as_tensor(reference, dtype=torch.float64)
    if a.shape != (4, 2) or b.shape != (4, 2):
        raise ValueError(f"corners must both be [4, 2], got {tuple(a.shape)} and {tuple(b.shape)}")
    d = (a - b) / torch.tensor([w, h], dtype=torch.float64)
    return float(d.norm(dim=1).mean())


def mask_iou(mask, reference) -> float:
    """Intersection over union of two bool masks ``[H, W]`` (1.0 when both are empty)."""
    a, b = torch.as_tensor(mask, dtype=torch.bool), torch.as_tensor(reference, dtype=torch.bool)
    if a.shape != b.shape:
        raise ValueError(f"masks differ in shape: {tuple(a.shape)} vs {tuple(b.shape)}")
    union = int((a | b).sum())
    return 1.0 if union == 0 else int((a & b).sum()) / union


def accessory_mask(scene: Scene, values: dict[str, torch.Tensor], backend: str = "torch") -> torch.Tensor:
    """Bool coverage mask ``[H, W]`` of the accessory at parameter ``values``."""
    with torch.no_grad():
        frame = render(scene.evaluate(values), [0], scene.resolution, get_backend(backend, "cpu"),
                       antialias=False)
    return frame.mask[0].cpu()


# ------------------------------------------------------------------------------------ fitting
@dataclasses.dataclass(frozen=True)
class FitSettings:
    """The two stages of :func:`fit_accessory` (coarse to fine in the warp model).

    Attributes:
        pose: stage 1, the similarity (pose: position, scale, rotation; shape held at the start's):
            its ``strategy`` is replaced by the method of the run (``"hybrid"``: DROT, ``"standard"``:
            the L2 baseline).
        warp: stage 2, the full perspective warp (pose and shape, and the TPS offsets when the
            scene has them), from stage 1's result: per-pixel L2 (standard derivatives), the
            fine-alignment step of the hybrid schedule, for every method.
        bending_weight: weight of the TPS bending energy added to the warp stage's loss (scenes
            with a TPS grid only).
    """

    bending_weight: float = 1e-3
    pose: OptimizeSettings = OptimizeSettings(iterations=200, lr=0.02, lr_decay=0.995)
    warp: OptimizeSettings = OptimizeSettings(iterations=200, lr=0.02, lr_decay=0.995, strategy="standard")


@dataclasses.dataclass(frozen=True)
class AccessoryFit:
    """One recovered placement.

    Attributes:
        method: the stage-1 strategy (``"hybrid"``, ``"standard"``, ...).
        pose_result, warp_result: the :class:`~drot.optim.OptimizationResult` of each stage.
        start_corners, pose_corners, corners, target_corners: pixel corners ``[4, 2]`` (float32) at
            the start, after stage 1, at the end, and of the target.
        disp, iou: final Disp and mask IoU; ``start_disp``, ``start_iou``: the same at the start
            (``start_iou`` 0: the start does not overlap the target at all).
        wall_seconds: both stages' optimisation time.
    """

    method: str
    pose_result: OptimizationResult
    warp_result: OptimizationResult
    start_corners: torch.Tensor
    pose_corners: torch.Tensor
    corners: torch.Tensor
    target_corners: torch.Tensor
    disp: float
    iou: float
    start_disp: float
    start_iou: float

    @property
    def success(self) -> bool:
        """``disp <= DISP_THRESHOLD and iou >= IOU_THRESHOLD``."""
        return self.disp <= DISP_THRESHOLD and self.iou >= IOU_THRESHOLD

    @property
    def wall_seconds(self) -> float:
        return self.pose_result.wall_seconds + self.warp_result.wall_seconds

    @property
    def frames(self) -> list[torch.Tensor]:
        """Animation frames of both stages (when ``record_frames`` was asked for)."""
        return list(self.pose_result.frames) + list(self.warp_result.frames)

    def summary(self) -> dict:
        """Scalar figures (for tables, JSON, CSV)."""
        return {"method": self.method, "seed": self.pose_result.settings.seed, "start_disp": self.start_disp,
                "start_iou": self.start_iou, "disp": self.disp, "iou": self.iou, "success": self.success,
                "wall_s": self.wall_seconds, "corners": self.corners.tolist(),
                "target_corners": self.target_corners.tolist()}


def fit_accessory(scene: Scene, start=None, method: str = "hybrid", settings: FitSettings | None = None, *,
                  seed: int = 0, record_frames: int = 0) -> AccessoryFit:
    """Recover the accessory's target placement in ``scene`` from ``start``: two ``drot.optimize`` runs.

    1. *Pose* (global): the similarity — position, scale, rotation — with the start's shape held
       fixed, by ``method`` (``"hybrid"``: DROT, RGBXY derivatives and optimal transport then
       per-pixel L2; ``"standard"``: the L2 baseline).
    2. *Warp* (local): all eight modes of the perspective warp from stage 1's result, by
       per-pixel L2 (``settings.warp``).

    Why two stages: with all eight modes free from the start, the optimal-transport pull on a
    far-away accessory (or on a tiny one: 8-pixel-tall glasses) is rarely a pure similarity, and
    its small non-similar part, which Adam turns into full-size steps of the shape modes, tilts,
    shears and flattens the accessory on its way (see ``benchmarks/accessory_warps.py``, ablation);
    the pose alone is recovered reliably and lands within a pixel or two, where per-pixel
    derivatives finish the perspective warp (12 instances of the benchmark: one stage 8/12, all
    four glasses starts failing; two stages 12/12).

    Args:
        scene: from :func:`accessory_scene` (its target placement is the goal).
        start: start placement (pixel corners ``[4, 2]`` or :class:`Placement`); default: the scene's.
        method: the stage-1 strategy (see :class:`drot.OptimizeSettings`).
        settings: :class:`FitSettings` (default: 200 + 200 iterations).
        seed: seeds both stages.
        record_frames: animation frames to keep per stage.
    """
    warp = scene.geometry
    if not isinstance(warp, AccessoryWarp):
        raise ValueError(f"scene {scene.name!r} is not an accessory scene (build it with accessory_scene)")
    settings = settings or FitSettings()
    res = scene.resolution
    params = {p.name: p for p in scene.parameters}
    if start is None:
        initial = scene.initial_values(seed)
    else:
        initial = warp.parameters(pixels_to_canvas(placement_corners(start, warp.size_hw), res))
        initial.update({k: v.initial.clone() for k, v in params.items() if k not in initial})
    target = scene.target_values()

    # Stage 1: the pose alone (the shape frozen at the start's, no TPS), toward the true target composite.
    pose_only = lambda values: {"pose": values["pose"], "shape": values["shape"]}  # noqa: E731
    pose_scene = dataclasses.replace(scene, parameters=(params["pose"], params["shape"]))
    pose_result = optimize(pose_scene, pose_only(target),
                           dataclasses.replace(settings.pose, strategy=method, seed=seed, fixed=("shape",),
                                               record_frames=record_frames),
                           initial=pose_only(initial))
    # Stage 2: every parameter, from stage 1's pose.
    stage2_start = dict(initial, pose=pose_result.parameters["pose"].cpu())
    regularizer = None
    if warp.tps_grid:
        regularizer = lambda values: settings.bending_weight * warp.bending_energy(values)  # noqa: E731
    warp_result = optimize(scene, None, dataclasses.replace(settings.warp, seed=seed, record_frames=record_frames,
                                                            regularizer=regularizer),
                           initial=stage2_start)

    target_mask = accessory_mask(scene, target)
    final = warp_result.parameters
    return AccessoryFit(
        method=method, pose_result=pose_result, warp_result=warp_result,
        start_corners=scene_corners(scene, initial), pose_corners=scene_corners(scene, stage2_start),
        corners=scene_corners(scene, final), target_corners=scene_corners(scene, target),
        disp=corner_displacement(scene_corners(scene, final), scene_corners(scene, target), res),
        iou=mask_iou(accessory_mask(scene, final), target_mask),
        start_disp=corner_displacement(scene_corners(scene, initial), scene_corners(scene, target), res),
        start_iou=mask_iou(accessory_mask(scene, initial), target_mask))
