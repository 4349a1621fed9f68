"""Which loss each parameter takes its gradient from (``appearance_gradients``).

RGBXY derivatives move pixels: they say where a surface point should go. A parameter that moves
no pixel — a material, a texture, an environment map (the ``appearance`` stage of
:mod:`drot.scene.kinds`) — gets from the OT loss only its colour term, which moves colours less
precisely than the per-pixel L2 loss (measured: OUTDOOR, whose only parameter is a cube map, stops
at 51 dB under the hybrid schedule and reaches 100 dB under L2). With
``appearance_gradients="standard"`` an RGBXY iteration also computes the standard loss of a view
and those parameters take their gradients from it, the geometric ones from the OT loss.
"""
from __future__ import annotations

import torch

from ..scene.kinds import KINDS
from ..scene.scene import Scene


def appearance_split(scene: Scene, fixed: tuple[str, ...], split: bool) -> tuple[bool, tuple[str, ...]]:
    """``(rgbxy_moves, appearance_names)``: whether any free parameter takes RGBXY derivatives (not
    when ``split`` and every free parameter is an appearance one: then every iteration is a standard
    one), and the free appearance parameters that take the standard loss's gradients instead."""
    free = [p for p in scene.parameters if p.name not in fixed]
    appearance = tuple(p.name for p in free if KINDS[p.kind].stage == "appearance")
    moves = not split or len(appearance) < len(free)
    return moves, appearance if split and moves else ()


def routed_backward(total: torch.Tensor, appearance_total: torch.Tensor | None, params: dict[str, torch.Tensor],
                    appearance_names: tuple[str, ...]) -> None:
    """Gradients of an iteration's loss into ``params``' ``.grad``; with ``appearance_total`` (the
    standard losses of ``appearance_gradients="standard"``), the parameters ``appearance_names``
    take their gradients from it instead of from ``total``."""
    if appearance_total is None:
        total.backward()
        return
    free = [(k, v) for k, v in params.items() if v.requires_grad]
    geometric = [v for k, v in free if k not in appearance_names]
    appearance = [v for k, v in free if k in appearance_names]
    grads = (torch.autograd.grad(total, geometric, retain_graph=True, allow_unused=True)
             + torch.autograd.grad(appearance_total, appearance, allow_unused=True))
    for v, g in zip(geometric + appearance, grads):
        v.grad = torch.zeros_like(v) if g is None else g
