"""Search on the real renderer, steered by the imitator: every step is proposed by the imitator and
kept only if the **real** render improves, so the result is never worse than the start.

Per target, with a budget of ``calls`` real renders (:func:`imitator_search`):

1. discrete parameters by search (:func:`~drot.imitator.discrete.search_choices`, one real render
   per choice, at the start's continuous values); the best render is the first accepted point;
2. then Levenberg–Marquardt steps on the **real** residual ``r = R(x) − target`` (continuous slots):
   ``(JᵀJ + μ D) δ = −Jᵀ r``, where ``J`` is the imitator's Jacobian ``∂I/∂x`` at ``x`` plus a
   correction learnt from the real renders seen so far (Broyden's secant update: after a step
   ``δ`` that changed the real residual by ``Δr``, ``E += (Δr − (J_I + E) δ) δᵀ / ‖δ‖²``), ``D`` the
   diagonal of ``JᵀJ`` (floored, so a parameter the imitator ignores still gets a bounded step),
   the step clipped to ``max_step`` per slot and to [0, 1]. Accepted (``μ`` shrinks) when the real
   mean squared error drops, else rejected (``μ`` grows); the secant update learns from both.

The imitator's bias never reaches the objective (the residual is always real); it only has to
point the right way. The objective is the mean squared pixel error, so the best-so-far curve is
also a PSNR curve.
"""
from __future__ import annotations

import dataclasses

import torch

from .blackbox import BlackBoxRenderer
from .discrete import search_choices
from .training import Imitator

__all__ = ["SearchSettings", "SearchResult", "imitator_search", "best_so_far"]


@dataclasses.dataclass(frozen=True)
class SearchSettings:
    """Options of :func:`imitator_search` (``calls``: real renders per target, discrete search included)."""

    calls: int = 20
    damping: float = 0.01     # initial μ, relative to the diagonal of JᵀJ
    max_step: float = 0.25    # the largest change of one normalised slot in one step
    secant: bool = True       # correct the imitator's Jacobian from the real renders (Broyden)

    def __post_init__(self) -> None:
        if not isinstance(self.calls, int) or self.calls < 1:
            raise ValueError(f"SearchSettings.calls must be an integer >= 1, got {self.calls!r}")
        if not self.damping > 0 or not 0 < self.max_step <= 1:
            raise ValueError(f"SearchSettings: damping must be > 0 and max_step in (0, 1], got "
                             f"{self.damping!r}, {self.max_step!r}")


@dataclasses.dataclass
class SearchResult:
    """``vectors`` float ``[B, D]`` (hard one-hots), the best real render found per target;
    ``losses`` float ``[B, calls]``: the real mean squared error of every call, in order (the
    best-so-far curve is :func:`best_so_far`); ``visited`` float ``[B, calls, D]``: the vector of
    every call; ``accepted`` the number of accepted LM steps per target."""

    vectors: torch.Tensor
    losses: torch.Tensor
    visited: torch.Tensor
    accepted: list[int]


def best_so_far(losses: torch.Tensor, visited: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(best loss [B, N], its vector [B, N, D])`` after each of ``N`` calls, from every call's
    ``losses [B, N]`` and ``visited [B, N, D]`` (any method's; NaN losses never count as best)."""
    filled = torch.where(torch.isnan(losses), torch.full_like(losses, float("inf")), losses)
    best, index = filled.cummin(1)
    return best, torch.gather(visited, 1, index[..., None].expand(-1, -1, visited.shape[2]))


def _mse(image: torch.Tensor, target: torch.Tensor) -> float:
    return float((image - target).square().mean())


def _jacobian(imitator: Imitator, vector: torch.Tensor, slots: torch.Tensor, source) -> torch.Tensor:
    """``∂I(x)/∂x[slots]`` of the imitator at ``vector`` ``[D]``: float ``[H·W·3, len(slots)]`` (forward mode)."""
    def image(values):
        v = vector.clone()
        v = v.index_put((slots,), values)
        return imitator(v[None], source).flatten()
    return torch.func.jacfwd(image)(vector[slots])


def imitator_search(imitator: Imitator, renderer: BlackBoxRenderer, targets: torch.Tensor, start: torch.Tensor,
                    sources: torch.Tensor | None = None, settings: SearchSettings = SearchSettings(),
                    seed: int = 0) -> SearchResult:
    """Find settings whose real renders match ``targets`` with at most ``settings.calls`` real renders each.

    Args:
        imitator: a trained imitator of ``renderer`` (frozen here; only its Jacobian is used).
        renderer: the black box; every call is one render of one setting.
        targets: float ``[B, H, W, 3]`` target images.
        start: float ``[B, D]`` start vectors (e.g. the encoder's estimate; relaxed blocks allowed).
        sources: ``[B, H, W, 3]`` for a source renderer, else None.
        settings: :class:`SearchSettings`.
        seed: renderer seed: target ``b``'s renders all use ``seed + b`` (common random numbers, and
            the seeds a batch render would use).

    Returns:
        :class:`SearchResult`.
    """
    space = renderer.space
    if imitator.space != space:
        raise ValueError("imitator_search: the imitator was trained on another parameter space than the renderer's")
    start = space.project(space.check_vectors(start, "start").detach().float())
    if targets.ndim != 4 or targets.shape[0] != start.shape[0] or targets.shape[1:3] != renderer.resolution:
        raise ValueError(f"imitator_search: targets must be [B, H, W, 3] = [{start.shape[0]}, "
                         f"{renderer.resolution[0]}, {renderer.resolution[1]}, 3], got {tuple(targets.shape)}")
    needed = sum(p.size for p in space.discrete) or 1
    if settings.calls < needed:
        raise ValueError(f"imitator_search: calls={settings.calls} cannot even search the discrete choices "
                         f"({needed} renders)")
    imitator.eval().requires_grad_(False)
    slots = space.continuous_index
    out, losses, visited, accepted = [], [], [], []
    for b in range(start.shape[0]):
        src = None if sources is None else sources[b:b + 1]
        tgt = targets[b]
        row_losses, row_visited = [], []

        def log(v, image):
            loss = _mse(image, tgt)
            row_losses.append(loss)
            row_visited.append(v.clone())
            return loss

        found = search_choices(renderer, start[b], src, seed + b, log)
        if found is None:  # no discrete parameter: the start's render
            image = renderer(start[b][None], src, seed=seed + b)[0]
            found = (start[b], image, log(start[b], image))
        x, residual, loss = found[0], found[1] - tgt, found[2]
        mu, correction, steps = settings.damping, None, 0
        while len(row_losses) < settings.calls:
            jac = _jacobian(imitator, x, slots, src)
            if correction is None:
                correction = torch.zeros_like(jac)
            jac = jac + correction if settings.secant else jac
            r = residual.flatten()
            normal = jac.T @ jac
            diag = normal.diagonal().clamp_min(1e-3 * float(normal.diagonal().mean()) + 1e-12)
            delta = torch.linalg.solve(normal + mu * torch.diag(diag), -(jac.T @ r))
            delta = delta * min(1.0, settings.max_step / max(float(delta.abs().max()), 1e-12))
            cand = x.clone()
            cand[slots] = (x[slots] + delta).clamp(0, 1)
            moved = cand[slots] - x[slots]
            if float(moved.abs().max()) < 1e-6:  # pinned against the box: damp and retry without a render
                mu *= 4
                if mu > 1e8:
                    break
                continue
            with torch.no_grad():
                image = renderer(cand[None], src, seed=seed + b)[0]
            new_loss = log(cand, image)
            new_residual = image - tgt
            if settings.secant:
                change = (new_residual - residual).flatten()
                correction += torch.outer(change - jac @ moved, moved) / float(moved.square().sum())
            if new_loss < loss:
                x, residual, loss, mu = cand, new_residual, new_loss, max(mu / 3, 1e-6)
                steps += 1
            else:
                mu *= 4
        pad = settings.calls - len(row_losses)  # stopped early: no more calls spent
        out.append(x)
        losses.append(torch.tensor(row_losses + [float("nan")] * pad))
        visited.append(torch.stack(row_visited + [x] * pad))
        accepted.append(steps)
    return SearchResult(torch.stack(out), torch.stack(losses), torch.stack(visited), accepted)
