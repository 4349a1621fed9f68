"""Optimisation through the imitator: refine parameter vectors by gradient descent on the imitator's
image against target images, then check with the real renderer.

Variables: the continuous slots (clamped to [0, 1] after each Adam step) and, per discrete
parameter, logits ``z`` whose relaxed one-hot is ``softmax(β z)`` (AgileAvatar §3.2); the sharpening
coefficient ``β`` rises geometrically from ``sharpen[0]`` to ``sharpen[1]`` over the steps.

Image losses (``loss``): ``"perceptual"`` (L1 + MS-SSIM), ``"l2"`` (drot's per-pixel
:func:`~drot.optim.losses.image_l2_loss`) or ``"ot"`` — drot's optimal-transport loss: the imitator's
pixels and the target's become RGBXY point sets (:func:`drot.matching.image_points`, every pixel),
drot's Sinkhorn matcher pairs them every ``match_interval`` steps, and
:func:`drot.optim.losses.rgbxy_loss` pulls each pixel's colour towards its match (pixel positions are
fixed in a generated image, so only the colour term carries gradient), plus ``ot_l2`` × L2.
"""
from __future__ import annotations

import dataclasses

import torch

from ..matching import image_points, make_matcher
from ..optim.losses import image_l2_loss, rgbxy_loss
from .losses import perceptual_loss
from .space import ParameterSpace
from .training import Imitator

__all__ = ["RefineSettings", "Refinement", "refine", "relaxed_vectors", "LOSSES"]

LOSSES = ("perceptual", "l2", "ot")


@dataclasses.dataclass(frozen=True)
class RefineSettings:
    steps: int = 150
    lr: float = 0.02
    loss: str = "perceptual"
    sharpen: tuple[float, float] = (1.0, 10.0)
    lam: float = 0.5          # λ of the OT cost (colour vs position)
    blur: float = 0.02        # Sinkhorn blur of the OT matching
    match_interval: int = 10
    ot_l2: float = 1.0

    def __post_init__(self):
        if self.loss not in LOSSES:
            raise ValueError(f"unknown refine loss {self.loss!r}; choose one of {', '.join(LOSSES)}")
        if self.steps < 0 or self.lr <= 0 or not 0 < self.sharpen[0] <= self.sharpen[1]:
            raise ValueError(f"bad refine settings: steps={self.steps}, lr={self.lr}, sharpen={self.sharpen}")


@dataclasses.dataclass
class Refinement:
    """``vectors`` float ``[B, D]`` (relaxed discrete blocks at the final β), ``logits`` (the discrete
    variables), ``history`` (loss per step)."""

    vectors: torch.Tensor
    history: list[float]


def relaxed_vectors(space: ParameterSpace, cont: torch.Tensor, logits: dict[str, torch.Tensor], beta: float) -> torch.Tensor:
    """Assemble ``[B, D]`` from continuous values ``[B, C]`` and per-discrete logits ``[B, K]`` (softmax(β z))."""
    parts, ci = [], 0
    for p in space.parameters:
        if p in space.continuous:
            parts.append(cont[:, ci:ci + 1])
            ci += 1
        else:
            parts.append(torch.softmax(beta * logits[p.name], 1))
    return torch.cat(parts, 1)


def _ot_loss(image: torch.Tensor, target: torch.Tensor, cache: dict, step: int, s: RefineSettings) -> torch.Tensor:
    total = image_l2_loss(image, target) * s.ot_l2
    for b in range(image.shape[0]):
        h, w = image.shape[1:3]
        if step % s.match_interval == 0 or b not in cache:
            src, _ = image_points(image[b].detach(), torch.ones(h, w, dtype=torch.bool), "exclude")
            tgt, _ = image_points(target[b], torch.ones(h, w, dtype=torch.bool), "exclude")
            cache[b] = make_matcher("sinkhorn", lam=s.lam, blur=s.blur).match(src, tgt).targets.detach()
        ys = (torch.arange(h, dtype=image.dtype) + 0.5) / h
        xs = (torch.arange(w, dtype=image.dtype) + 0.5) / w
        xy = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), -1).reshape(-1, 2)
        total = total + rgbxy_loss(torch.cat([image[b].reshape(-1, 3), xy], 1), cache[b], s.lam) / image.shape[0]
    return total


def refine(imitator: Imitator, targets: torch.Tensor, start: torch.Tensor, sources: torch.Tensor | None = None,
           settings: RefineSettings = RefineSettings()) -> Refinement:
    """Gradient descent on the parameters through the imitator.

    Args:
        imitator: the trained imitator (frozen here).
        targets: float ``[B, H, W, 3]`` target images.
        start: float ``[B, D]`` start vectors (e.g. the encoder's estimate; relaxed blocks allowed).
        sources: ``[B, H, W, 3]`` for a source imitator, else None.
        settings: :class:`RefineSettings`.
    """
    space = imitator.space
    start = space.check_vectors(start, "start").detach().float()
    if targets.ndim != 4 or targets.shape[0] != start.shape[0]:
        raise ValueError(f"targets must be [B, H, W, 3] with B = {start.shape[0]}, got {tuple(targets.shape)}")
    imitator.eval().requires_grad_(False)
    cont = start[:, space.continuous_index].clone().clamp(0, 1).requires_grad_(True)
    b0 = settings.sharpen[0]
    logits = {p.name: (start[:, space.slices[p.name]].clamp_min(1e-4).log() / b0).clone().requires_grad_(True)
              for p in space.discrete}
    opt = torch.optim.Adam([cont, *logits.values()], lr=settings.lr)
    history, cache = [], {}
    ratio = settings.sharpen[1] / settings.sharpen[0]
    for step in range(settings.steps):
        beta = b0 * ratio ** (step / max(1, settings.steps - 1))
        image = imitator(relaxed_vectors(space, cont, logits, beta), sources)
        if settings.loss == "perceptual":
            loss = perceptual_loss(image, targets)
        elif settings.loss == "l2":
            loss = image_l2_loss(image, targets)
        else:
            loss = _ot_loss(image, targets, cache, step, settings)
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            cont.clamp_(0, 1)
        history.append(loss.item())
    with torch.no_grad():
        vectors = relaxed_vectors(space, cont, logits, settings.sharpen[1])
    return Refinement(vectors.detach(), history)
