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

The package, one concern per module: :mod:`~drot.apps.accessory.images` (validating and loading
images), :mod:`~drot.apps.accessory.placement` (coordinates, :class:`Placement`),
:mod:`~drot.apps.accessory.warp` (:class:`AccessoryWarp`, the preconditioner),
:mod:`~drot.apps.accessory.scene` (the mesh and the scene), :mod:`~drot.apps.accessory.metrics`
(Disp, IoU, thresholds) and :mod:`~drot.apps.accessory.fit` (:func:`fit_accessory`).
"""
from .fit import AccessoryFit, FitSettings, fit_accessory
from .images import ALPHA_THRESHOLD, as_accessory, as_portrait, load_accessory, load_portrait
from .metrics import DISP_THRESHOLD, IOU_THRESHOLD, accessory_mask, corner_displacement, mask_iou
from .placement import Placement, canvas_to_pixels, pixels_to_canvas, placement_corners
from .scene import accessory_mesh, accessory_scene, scene_corners
from .warp import AccessoryWarp, gauss_newton_inverse

__all__ = [
    "ALPHA_THRESHOLD", "DISP_THRESHOLD", "IOU_THRESHOLD",
    "as_accessory", "as_portrait", "load_accessory", "load_portrait",
    "Placement", "pixels_to_canvas", "canvas_to_pixels",
    "accessory_mesh", "AccessoryWarp", "gauss_newton_inverse", "accessory_scene",
    "corner_displacement", "mask_iou", "accessory_mask", "placement_corners", "scene_corners",
    "FitSettings", "AccessoryFit", "fit_accessory",
]
