"""The accessory scene: the accessory as a flat textured mesh (:func:`accessory_mesh`) warped by an
:class:`~drot.apps.accessory.warp.AccessoryWarp` onto the portrait, seen by an orthographic camera
(:func:`accessory_scene`), and the pixel corners of parameter values (:func:`scene_corners`).
"""
from __future__ import annotations

import numpy as np
import torch

from ...render.camera import Camera
from ...render.shading import Material
from ...scene.mesh import Mesh
from ...scene.parameters import Parameter
from ...scene.scene import Scene
from .images import ALPHA_THRESHOLD, as_accessory, as_portrait
from .metrics import accessory_mask
from .placement import Placement, canvas_to_pixels, pixels_to_canvas, placement_corners
from .warp import AccessoryWarp


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
    target_px = placement_corners(target, (h, w), "target (accessory corners)")
    start_px = placement_corners(start if start is not None else Placement(center=(pw / 2, ph / 2)), (h, w),
                                 "start (accessory corners)")
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
