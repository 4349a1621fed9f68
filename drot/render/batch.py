"""One render for several evaluated scenes: the batch of a multi-start run.

Entry ``b`` of the batch is ``states[b]`` seen from its view ``views[b]``; all states are the same
scene at different parameter values (same triangles and vertex count). Geometry — clip positions,
rasterization, attribute interpolation, antialiasing, the point proxies — runs once for the whole
batch; shading runs once too when the states share their appearance (the usual case: pose,
camera or shape parameters), else once per state (material, texture or environment parameters).
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch

from .backend import RasterBackend
from .renderer import Frame, finish_frame, shade_attributes, surface_attributes
from .state import SceneState

_APPEARANCE = ("colors", "uvs", "texture", "ambient", "diffuse", "specular", "environment", "background", "objects")


def _same(a, b) -> bool:
    if a is b:
        return True
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        # Equal values are shared only when no gradient flows through them (else each start needs its own).
        return (not a.requires_grad and not b.requires_grad and a.shape == b.shape and a.device == b.device
                and bool(torch.equal(a, b)))
    return False


def shared_appearance(states: Sequence[SceneState]) -> bool:
    """Whether every state has the first one's appearance (material, textures, lights' colours, background)."""
    first = states[0]
    return all(s.shininess == first.shininess and all(_same(getattr(s, f), getattr(first, f)) for f in _APPEARANCE)
               for s in states[1:])


def _check(states: Sequence[SceneState], views: Sequence[int]) -> None:
    if not states or len(states) != len(views):
        raise ValueError(f"render_states needs one view per state, got {len(states)} states and {len(views)} views")
    n = states[0].vertices.shape[0]
    if any(s.vertices.shape[0] != n or s.faces is not states[0].faces and not torch.equal(s.faces, states[0].faces)
           for s in states[1:]):
        raise ValueError("render_states: the states must be one scene (same triangles and vertex count)")


def _per_entry(states: Sequence[SceneState], views: Sequence[int], field: str) -> torch.Tensor:
    return torch.stack([getattr(s, field)[v] for s, v in zip(states, views)])


def render_states(states: Sequence[SceneState], views: Sequence[int], resolution: tuple[int, int],
                  backend: RasterBackend, antialias: bool = True) -> Frame:
    """Render ``states[b]`` from its view ``views[b]`` for every ``b``, as one batch of ``B`` images
    (:class:`~drot.render.renderer.Frame`: ``image`` ``[B, H, W, 3]``, ``clip`` ``[B, V, 4]``)."""
    _check(states, views)
    faces = states[0].faces
    clip = batch_clip(states, views)
    rast = backend.rasterize(clip, faces, resolution)
    attrs = backend.interpolate(batch_attributes(states), rast, faces)
    eye = _per_entry(states, views, "eyes")[:, None, None, :]
    light = _per_entry(states, views, "lights")[:, None, None, :]
    if shared_appearance(states):
        color = shade_attributes(states[0], backend, attrs, eye, light)
    else:
        color = torch.cat([shade_attributes(s, backend, attrs[b:b + 1], eye[b:b + 1], light[b:b + 1])
                           for b, s in enumerate(states)])
    background = None if states[0].background is None else torch.stack([s.background for s in states])
    return finish_frame(color, rast, clip, faces, background, backend, antialias)


def batch_attributes(states: Sequence[SceneState]) -> torch.Tensor:
    """Vertex attributes ``[B, V, C]`` of every state (for batched point proxies)."""
    return torch.stack([surface_attributes(s) for s in states])


def batch_clip(states: Sequence[SceneState], views: Sequence[int]) -> torch.Tensor:
    """Clip positions ``[B, V, 4]``: ``states[b]`` in view ``views[b]``."""
    return torch.cat([s.clip_positions([v]) for s, v in zip(states, views)], 0)


def batch_shader(states: Sequence[SceneState], backend: RasterBackend, views: Sequence[int]
                 ) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The ``shade(values, batch)`` of :func:`~drot.render.proxies.frozen_proxies` for a batch of states,
    each proxy shaded with its entry's material and seen from its entry's eye."""
    eyes, lights = _per_entry(states, views, "eyes"), _per_entry(states, views, "lights")
    shared = shared_appearance(states)

    def shade(values: torch.Tensor, batch: torch.Tensor) -> torch.Tensor:
        if shared:
            return shade_attributes(states[0], backend, values, eyes[batch], lights[batch])
        out = values.new_zeros(values.shape[0], 3)
        for b, s in enumerate(states):
            rows = (batch == b).nonzero().squeeze(1)
            out = out.index_copy(0, rows, shade_attributes(s, backend, values[rows], eyes[b].expand(len(rows), 3),
                                                           lights[b].expand(len(rows), 3)))
        return out
    return shade
