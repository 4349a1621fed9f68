"""Before the loop: can the target views see every optimised parameter of a scene of objects?

An object hidden behind another, or outside every view, gets no gradient: the run would leave its
parameters where they started and still match the images (and score a high PSNR). So each free
parameter declared on an object is perturbed once, every perturbed copy rendered in one batch (the
start axis of :meth:`Scene.evaluate`), and a parameter that changes no pixel of any view is an error
naming it and why — the object is outside every view, hidden behind others, or the parameter has no
visible effect — with the way on (make it visible, or pass it in ``fixed=``).
"""
from __future__ import annotations

from typing import Sequence

import torch

from ..render.renderer import render
from ..scene.scene import Scene

__all__ = ["check_observable", "unobservable_parameters"]

#: A pixel "changes" when a channel moves by more than this (8-bit levels are 0.0039 apart).
PIXEL_CHANGE = 1e-4
#: The perturbation, as a fraction of the parameter's start range (or of its magnitude, at least 1).
STEP_FRACTION = 0.05


def _step(scene: Scene, name: str, value: torch.Tensor) -> torch.Tensor:
    param = next(p for p in scene.parameters if p.name == name)
    if param.init_range is not None and param.init_range[1] > param.init_range[0]:
        size = STEP_FRACTION * (param.init_range[1] - param.init_range[0])
    else:
        size = STEP_FRACTION * max(1.0, float(value.abs().max()) if value.numel() else 1.0)
    # Toward the middle of [0, 1]: an albedo or texture at 1 moved up would be clamped and change nothing.
    return torch.where(value > 0.5, -size, size).to(value.dtype)


def _in_some_view(clip: torch.Tensor) -> bool:
    """Whether any vertex ``clip [B, N, 4]`` lies inside some view's frustum."""
    w = clip[..., 3:4]
    inside = (w > 0).squeeze(-1) & (clip[..., :3].abs() <= w).all(-1)
    return bool(inside.any())


def unobservable_parameters(scene: Scene, values: dict[str, torch.Tensor], fixed: Sequence[str], backend,
                            device: torch.device | str = "cpu") -> dict[str, str]:
    """Name → reason for each free object parameter that changes no pixel of any view at ``values``."""
    names = [p.name for p in scene.parameters if p.name not in fixed and "/" in p.name]
    if not scene.objects or not names:
        return {}
    count = 1 + len(names)
    stacked = {k: v.detach().to(device).expand(count, *v.shape).clone() for k, v in values.items()}
    for i, name in enumerate(names, 1):
        stacked[name][i] += _step(scene, name, stacked[name][i])
    n_views = scene.num_views
    with torch.no_grad():
        state = scene.evaluate(stacked)
        views = [v for _ in range(count) for v in range(n_views)]
        starts = [s for s in range(count) for _ in range(n_views)]
        image = render(state, views, scene.resolution, backend, starts=starts).image
        image = image.reshape(count, n_views, *image.shape[1:])
        changed = ((image[1:] - image[:1]).abs() > PIXEL_CHANGE).flatten(1).any(1)
        ranges = scene.object_ranges()
        found = {}
        for name, seen in zip(names, changed.tolist()):
            if seen:
                continue
            obj = name.split("/", 1)[0]
            a, b = ranges[obj]
            clip = state.clip_positions(list(range(n_views)), torch.zeros(n_views, dtype=torch.long))[:, a:b]
            if not _in_some_view(clip):
                found[name] = f"object {obj!r} is outside every view ({n_views} camera(s))"
            else:
                found[name] = (f"object {obj!r} is in view but changes no pixel: hidden behind other objects, or the "
                               f"parameter has no visible effect")
    return found


def check_observable(scene: Scene, values: dict[str, torch.Tensor], fixed: Sequence[str], backend,
                     device: torch.device | str = "cpu") -> None:
    """ValueError naming every unobservable parameter (see the module docstring) and the way on."""
    found = unobservable_parameters(scene, values, fixed, backend, device)
    if found:
        lines = "; ".join(f"{name}: {why}" for name, why in found.items())
        raise ValueError(f"scene {scene.name!r}: {len(found)} parameter(s) cannot be recovered, the target views do "
                         f"not see them at the start values (they would get no gradient and keep their start "
                         f"values while the run reports a close image match): {lines}. Move the cameras or the "
                         f"object so that it is seen, or keep them fixed (fixed={sorted(found)!r})")
