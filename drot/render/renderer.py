"""Deferred renderer: rasterize → interpolate surface attributes → shade → antialias.

Images come out top-row-first (``image[:, 0]`` is the top of the picture), float ``[B, H, W, 3]``
in linear RGB on a black background, or on the scene's background image when it has one
(composited before antialiasing, so silhouettes blend into it). ``Frame.rast`` keeps the backend's bottom-row-first layout
so it can be handed back to the backend (antialias, point proxies).
"""
from __future__ import annotations

import dataclasses

import torch

from .state import SceneState
from .backend import RasterBackend
from .shading import shade


@dataclasses.dataclass(frozen=True)
class Frame:
    """Output of :func:`render` for ``B`` views.

    Attributes:
        image: float ``[B, H, W, 3]``, top row first.
        mask: bool ``[B, H, W]`` covered pixels, top row first.
        rast: float ``[B, H, W, 4]`` backend rasterization, bottom row first.
        clip: float ``[B, V, 4]`` clip-space positions used.
    """

    image: torch.Tensor
    mask: torch.Tensor
    rast: torch.Tensor
    clip: torch.Tensor


def surface_attributes(state: SceneState) -> torch.Tensor:
    """Per-vertex attributes the shader needs, packed ``[V, 9]`` (position, normal, albedo) or ``[V, 8]``
    (…, uv); for several objects ``[V, 18]`` (position, normal, albedo, uv, texture slot, material)."""
    if state.objects is not None:
        o = state.objects
        return torch.cat([state.vertices, state.normals, o.colors, o.uvs, o.texture_slot, o.material], 1)
    appearance = state.uvs if state.texture is not None else state.colors
    return torch.cat([state.vertices, state.normals, appearance], 1)


def shade_attributes(state: SceneState, backend: RasterBackend, attrs: torch.Tensor, eye: torch.Tensor,
                     light: torch.Tensor) -> torch.Tensor:
    """Shade interpolated attributes ``[..., C]`` (:func:`surface_attributes`) seen from ``eye`` and
    lit from ``light`` (``[..., 3]``)."""
    position, normal, appearance = attrs[..., 0:3], attrs[..., 3:6], attrs[..., 6:]
    cube = (lambda cube, d: backend.texture(cube, d, "cube"))
    if state.objects is not None:
        albedo, uv, slot, mat = appearance[..., 0:3], appearance[..., 3:5], appearance[..., 5:6], appearance[..., 6:12]
        for k, texture in enumerate(state.objects.textures, 1):
            # The slot is constant over a triangle: interpolation leaves it within rounding of k.
            albedo = torch.where((slot - k).abs() < 0.5, backend.texture(texture, uv, "wrap"), albedo)
        return shade(position, normal, albedo, eye, light, mat[..., 0:1], mat[..., 1:4], mat[..., 4:5],
                     mat[..., 5:6], state.environment, cube)
    albedo = backend.texture(state.texture, appearance, "wrap") if state.texture is not None else appearance
    return shade(position, normal, albedo, eye, light, state.ambient, state.diffuse, state.specular,
                 state.shininess, state.environment, cube)


def render(state: SceneState, views: list[int] | torch.Tensor, resolution: tuple[int, int],
           backend: RasterBackend, antialias: bool = True) -> Frame:
    """Render ``views`` (indices into the scene's cameras) at ``resolution = (H, W)``."""
    views = torch.as_tensor(views, dtype=torch.long, device=state.vertices.device).reshape(-1)
    clip = state.clip_positions(views)
    rast = backend.rasterize(clip, state.faces, resolution)
    attrs = backend.interpolate(surface_attributes(state), rast, state.faces)
    eye = state.eyes[views][:, None, None, :]
    light = state.lights[views][:, None, None, :]
    color = shade_attributes(state, backend, attrs, eye, light)
    return finish_frame(color, rast, clip, state.faces, state.background, backend, antialias)


def finish_frame(color: torch.Tensor, rast: torch.Tensor, clip: torch.Tensor, faces: torch.Tensor,
                 background: torch.Tensor | None, backend: RasterBackend, antialias: bool) -> Frame:
    """The :class:`Frame` of shaded ``color`` ``[B, H, W, 3]`` (bottom row first, like ``rast``):
    background pixels black or ``background`` (``[H, W, 3]`` or ``[B, H, W, 3]``, top row first),
    silhouettes antialiased."""
    covered = rast[..., 3:4] > 0
    color = color * covered.to(color.dtype)
    if background is not None:
        if tuple(background.shape[-3:-1]) != tuple(rast.shape[1:3]):
            raise ValueError(f"background is {tuple(background.shape[-3:-1])} but the render is "
                             f"{tuple(rast.shape[1:3])}")
        color = color + (~covered).to(color.dtype) * background.flip(-3)  # rows bottom-first like rast
    if antialias:
        color = backend.antialias(color, rast, clip, faces)
    return Frame(image=color.flip(1), mask=covered[..., 0].flip(1), rast=rast, clip=clip)
