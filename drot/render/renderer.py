"""Deferred renderer: rasterize → interpolate surface attributes → shade → antialias.

Images come out top-row-first (``image[:, 0]`` is the top of the picture), float ``[B, H, W, 3]``
in linear RGB on a black background, or on the scene's background image when it has one
(composited before antialiasing, so silhouettes blend into it). ``Frame.rast`` keeps the backend's bottom-row-first layout
so it can be handed back to the backend (antialias, point proxies).
"""
from __future__ import annotations

import dataclasses
from typing import Callable

import torch

from .state import SceneState, entry_starts
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
    (…, uv); for several objects ``[V, 18]`` (position, normal, albedo, uv, texture slot, material).
    With a start axis: ``[S, V, C]``."""
    lead = state.vertices.shape[:-2]

    def full(value: torch.Tensor) -> torch.Tensor:  # shared fields broadcast along the start axis
        return value.expand(*lead, *value.shape[-2:])

    if state.objects is not None:
        o = state.objects
        return torch.cat([state.vertices, state.normals, full(o.colors), full(o.uvs), full(o.texture_slot),
                          full(o.material)], -1)
    appearance = state.uvs if state.texture is not None else state.colors
    return torch.cat([state.vertices, state.normals, full(appearance)], -1)


def _per_entry(value, shared_ndim: int, index: torch.Tensor | None, ndim: int):
    """A state field for each entry: itself when shared (``shared_ndim`` dims), else its start of each
    entry, ``value[index]`` reshaped to broadcast against attributes of ``ndim`` dims led by ``index``'s."""
    if value is None or not isinstance(value, torch.Tensor) or value.ndim == shared_ndim or index is None:
        return value
    picked = value[index]
    return picked.reshape(*index.shape, *([1] * (ndim - 1 - index.ndim)), *value.shape[1:])


def _sample_per_start(sample, value, shared_ndim: int, index: torch.Tensor | None, coords: torch.Tensor):
    """``sample(texture, coords)`` with the texture (or cube map) of each entry's start."""
    if value.ndim == shared_ndim or index is None:
        return sample(value, coords)
    shape = (*index.shape, *([1] * (coords.ndim - index.ndim)))
    out = None
    for s in torch.unique(index).tolist():
        sampled = sample(value[s], coords)
        out = sampled if out is None else torch.where((index == s).reshape(shape), sampled, out)
    return out


def shade_attributes(state: SceneState, backend: RasterBackend, attrs: torch.Tensor, eye: torch.Tensor,
                     light: torch.Tensor, starts: torch.Tensor | None = None) -> torch.Tensor:
    """Shade interpolated attributes ``[..., C]`` (:func:`surface_attributes`) seen from ``eye`` and
    lit from ``light`` (``[..., 3]``). For a state with a start axis, ``starts`` gives the start of
    each leading entry of ``attrs`` (``[B]`` for images ``[B, H, W, C]``, ``[N]`` for proxies ``[N, C]``);
    per-start materials, textures and environments are taken from it."""
    position, normal, appearance = attrs[..., 0:3], attrs[..., 3:6], attrs[..., 6:]
    index = starts if state.starts is not None and state.starts > 1 else None
    if state.starts == 1:  # one start: its per-start fields are its own
        state = state.start(0)
    wrap = (lambda texture, uv: backend.texture(texture, uv, "wrap"))
    lookup = (lambda cube, d: backend.texture(cube, d, "cube"))
    environment = state.environment
    cube = None
    if environment is not None:
        cube = (lambda _, d: _sample_per_start(lookup, environment, 4, index, d))
    if state.objects is not None:
        albedo, uv, slot, mat = appearance[..., 0:3], appearance[..., 3:5], appearance[..., 5:6], appearance[..., 6:12]
        for k, texture in enumerate(state.objects.textures, 1):
            # The slot is constant over a triangle: interpolation leaves it within rounding of k.
            albedo = torch.where((slot - k).abs() < 0.5, _sample_per_start(wrap, texture, 3, index, uv), albedo)
        return shade(position, normal, albedo, eye, light, mat[..., 0:1], mat[..., 1:4], mat[..., 4:5],
                     mat[..., 5:6], environment, cube)
    albedo = (_sample_per_start(wrap, state.texture, 3, index, appearance) if state.texture is not None
              else appearance)
    field = (lambda value: _per_entry(value, 1, index, attrs.ndim))  # noqa: E731
    return shade(position, normal, albedo, eye, light, field(state.ambient), field(state.diffuse),
                 field(state.specular), state.shininess, environment, cube)


def state_shader(state: SceneState, backend: RasterBackend, views: torch.Tensor,
                 starts: torch.Tensor | None = None) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The ``shade(values, batch)`` of :func:`frozen_proxies` for a scene state rendered from ``views``
    (with a start axis: entry ``b`` is start ``starts[b]``): its material and lights, each proxy seen
    from its entry's eye."""
    if state.starts is None:
        def shade(values: torch.Tensor, batch: torch.Tensor) -> torch.Tensor:
            view = views[batch]
            return shade_attributes(state, backend, values, state.eyes[view], state.lights[view])
        return shade
    starts = entry_starts(state, views, starts)

    def shade_entries(values: torch.Tensor, batch: torch.Tensor) -> torch.Tensor:
        start, view = starts[batch], views[batch]
        return shade_attributes(state, backend, values, state.eyes[start, view], state.lights[start, view], start)
    return shade_entries


def render(state: SceneState, views: list[int] | torch.Tensor, resolution: tuple[int, int],
           backend: RasterBackend, antialias: bool = True, starts: list[int] | torch.Tensor | None = None) -> Frame:
    """Render ``views`` (indices into the scene's cameras) at ``resolution = (H, W)``.

    For a state with a start axis (``S`` starts), entry ``b`` shows start ``starts[b]`` from view
    ``views[b]`` (``starts`` may be left out when ``S = 1``): one rasterization, interpolation,
    shading and antialiasing for every ``(start, view)`` entry."""
    device = state.vertices.device
    views = torch.as_tensor(views, dtype=torch.long, device=device).reshape(-1)
    if state.starts is None:
        if starts is not None:
            raise ValueError("render: starts= given for a state without a start axis")
        state = state.with_start_axis()
    starts = entry_starts(state, views, starts)
    clip = state.clip_positions(views, starts)
    rast = backend.rasterize(clip, state.faces, resolution)
    attrs = surface_attributes(state)
    attrs = backend.interpolate(attrs[0] if state.starts == 1 else attrs[starts], rast, state.faces)
    # Shade the covered pixels only (the background would be multiplied by 0): the same values per
    # pixel, a fraction of the work and of the backward pass when the object fills part of the view.
    # Each covered pixel is shaded as a point proxy of its entry is (state_shader).
    height, width = rast.shape[1:3]
    pixels = (rast[..., 3] > 0).reshape(-1).nonzero().squeeze(1)
    points = attrs.reshape(-1, attrs.shape[-1])[pixels]
    shaded = state_shader(state, backend, views, starts)(points, pixels // (height * width))
    color = shaded.new_zeros(rast.shape[0] * height * width, shaded.shape[-1]).index_put((pixels,), shaded)
    color = color.view(rast.shape[0], height, width, -1)
    background = state.background
    if background is not None and background.ndim == 4:
        background = background[starts]
    return finish_frame(color, rast, clip, state.faces, background, backend, antialias)


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
