"""Training the imitator (Kips et al. §5.2, Eq. 4) with checkpoints, resume and a progress bar.

Loss per step, on a batch of :class:`~drot.imitator.data.Samples`:
``imitation · L_imitation + sensitivity · L_sens + adversarial · L_GAN`` where ``L_imitation`` is the
perceptual distance (L1 + MS-SSIM, :mod:`drot.imitator.losses`) on both the settings and their
shifted twins, ``L_sens`` the sensitivity loss on the pairs and ``L_GAN`` the WGAN-GP generator term
(its critic trained one step per step, only when ``adversarial > 0``).

A checkpoint (a plain-data file of :mod:`~drot.imitator.files`: tensors, numbers, strings, never code) holds the network and its config, the optimiser, the step,
the batch generator's state, the settings, the history and the parameter space
(:meth:`~drot.imitator.space.ParameterSpace.to_dict`): resuming continues exactly where it stopped.
"""
from __future__ import annotations

import dataclasses
import math
import time
import warnings
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from .data import Samples
from .files import read_plain, write_plain
from .losses import gradient_penalty, imitation_loss, sensitivity_loss
from .networks import Critic, ParameterImitator, SourceImitator, build_network
from .space import ParameterSpace
from .validation import check_options

__all__ = ["ImitatorSettings", "Imitator", "train_imitator", "load_imitator", "save_checkpoint", "read_checkpoint",
           "rebuild"]


@dataclasses.dataclass(frozen=True)
class ImitatorSettings:
    """Imitator training options (weights λ of Kips Eq. 4 as ``imitation``, ``sensitivity``, ``adversarial``)."""

    steps: int = 1500
    batch: int = 16
    lr: float = 2e-3          # Adam (β1 0.5), cosine-decayed to 5 % over ``steps``
    imitation: float = 1.0
    sensitivity: float = 1.0
    adversarial: float = 0.0
    pixel_l2: float = 0.0     # weight of the mean squared pixel error beside the perceptual distance
    width: int | None = None  # network width (None: 16 for source imitators, 64 for parameter imitators)
    context: bool = False     # source imitators: whole-image statistics in the last FiLM (networks._Context)
    positional: int = 0       # channels of a learned screen-space map seen by the head (0: none)
    gated: bool = False       # source imitators: the edit times a per-pixel sigmoid gate
    gate_init: float | None = None  # that gate's logit at initialisation (None: PyTorch's own; negative: closed)
    seed: int = 0
    checkpoint_every: int = 250
    progress: bool = True

    def __post_init__(self) -> None:
        check_options(self, positive=("steps", "batch", "lr", "width"),
                      nonnegative=("imitation", "sensitivity", "adversarial", "pixel_l2", "seed", "checkpoint_every",
                                   "positional"),
                      integers=("steps", "batch", "width", "seed", "checkpoint_every", "positional"))


class Imitator(torch.nn.Module):
    """A trained differentiable surrogate: ``imitator(vectors [B, D], sources [B, H, W, 3] | None)``
    → float ``[B, H, W, 3]`` (differentiable in ``vectors``; relaxed one-hots allowed)."""

    def __init__(self, network: torch.nn.Module, space: ParameterSpace) -> None:
        super().__init__()
        self.network, self.space = network, space
        self.needs_source = isinstance(network, SourceImitator)

    def forward(self, vectors: torch.Tensor, sources: torch.Tensor | None = None) -> torch.Tensor:
        if vectors.ndim != 2 or vectors.shape[1] != self.space.dim:
            raise ValueError(f"imitator: vectors must be [B, {self.space.dim}], got {tuple(vectors.shape)}")
        if self.needs_source and sources is None:
            raise ValueError("this imitator edits source images: pass sources [B, H, W, 3]")
        return self.network(vectors, sources)


def save_checkpoint(path: str | Path, kind: str, **state: Any) -> None:
    """Write a ``kind`` checkpoint atomically (``path.tmp`` then rename), tensors and plain data only."""
    write_plain(path, kind, state)


def read_checkpoint(path: str | Path, kind: str) -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_checkpoint` without running any code it may carry;
    ValueError naming the file and what is wrong if it is not a whole ``kind`` one of this format."""
    return read_plain(path, kind, required=("network", "config", "space", "step"))


def rebuild(path: str | Path, state: dict[str, Any]) -> tuple[torch.nn.Module, ParameterSpace]:
    """The network and parameter space of a checkpoint read by :func:`read_checkpoint`; ValueError
    naming ``path`` when its config, weights and space do not fit together."""
    try:
        space = ParameterSpace.from_dict(state["space"])
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    try:
        net = build_network(state["config"])
        net.load_state_dict(state["network"])
    except (ValueError, TypeError, KeyError, RuntimeError) as exc:
        first = str(exc).strip().splitlines()
        raise ValueError(f"{path}: the weights do not fit the network described by its config "
                         f"({first[0] if first else type(exc).__name__})") from None
    dim = net.config.get("dim")
    if dim is not None and dim != space.dim:
        raise ValueError(f"{path}: the network takes {dim} parameter slots but the stored space has {space.dim}")
    return net, space


def load_imitator(path: str | Path) -> Imitator:
    """The imitator stored at ``path`` (weights and parameter space), in eval mode."""
    net, space = rebuild(path, read_checkpoint(path, "imitator"))
    return Imitator(net, space).eval()


#: What resuming needs beyond a loadable imitator.
_RESUME_KEYS = ("network", "config", "space", "step", "optimizer", "generator", "torch_rng", "settings", "history")


def _new_network(samples: Samples, space: ParameterSpace, settings: ImitatorSettings) -> torch.nn.Module:
    res = samples.images.shape[1]
    if samples.sources is not None:
        return SourceImitator(space.dim, settings.width or 16, context=settings.context,
                              positional=settings.positional, resolution=res, gated=settings.gated,
                              gate_init=settings.gate_init)
    unused = [k for k in ("context", "gated") if getattr(settings, k)]
    if unused:
        warnings.warn(f"ImitatorSettings {', '.join(unused)} apply to source imitators only; these samples have no "
                      f"sources, so the parameter imitator ignores them", stacklevel=3)
    return ParameterImitator(space.dim, res, settings.width or 64, positional=settings.positional)


def train_imitator(samples: Samples, space: ParameterSpace, settings: ImitatorSettings = ImitatorSettings(),
                   checkpoint: str | Path | None = None, resume: bool = True,
                   until: int | None = None) -> tuple[Imitator, list[dict]]:
    """Train (or, with an existing ``checkpoint`` and ``resume``, continue training) an imitator.

    Args:
        samples: training samples (:func:`drot.imitator.data.generate`).
        space: their parameter space (stored in the checkpoint).
        settings: :class:`ImitatorSettings`; ``steps`` is the total, so resuming a finished run does nothing.
        checkpoint: file written every ``checkpoint_every`` steps and at the end (None: none).
        resume: continue from ``checkpoint`` if it exists (its settings must match ``settings`` but ``steps``/``progress``).
        until: stop at this step (an interrupted or time-boxed run; the learning-rate schedule still
            follows ``settings.steps``, so resuming later gives the same weights as one uninterrupted run).

    Returns:
        ``(imitator, history)``; history: one dict per step (``step``, ``loss``, ``imitation``, ``sensitivity``, ``seconds``).
    """
    if samples.vectors.shape[1] != space.dim:
        raise ValueError(f"samples have {samples.vectors.shape[1]} parameter slots, the space {space.dim}")
    torch.manual_seed(settings.seed)
    net = _new_network(samples, space, settings)
    critic = Critic(conditional=samples.sources is not None) if settings.adversarial > 0 else None
    opt = torch.optim.Adam(net.parameters(), lr=settings.lr, betas=(0.5, 0.999))
    copt = torch.optim.Adam(critic.parameters(), lr=settings.lr, betas=(0.5, 0.9)) if critic else None
    g = torch.Generator().manual_seed(settings.seed)
    history: list[dict] = []
    step = 0
    if checkpoint is not None and resume and Path(checkpoint).is_file():
        state = read_plain(checkpoint, "imitator", required=_RESUME_KEYS)
        saved = {k: v for k, v in state["settings"].items() if k not in ("steps", "progress", "checkpoint_every")}
        now = {k: v for k, v in dataclasses.asdict(settings).items() if k not in ("steps", "progress", "checkpoint_every")}
        if saved != now:
            diff = sorted(k for k in now if saved.get(k) != now[k])
            raise ValueError(f"{checkpoint}: saved with other settings ({', '.join(diff)}); pass resume=False to restart")
        if ParameterSpace.from_dict(state["space"]) != space:
            raise ValueError(f"{checkpoint}: saved with another parameter space")
        try:
            net.load_state_dict(state["network"])
            opt.load_state_dict(state["optimizer"])
            if critic is not None:
                critic.load_state_dict(state["critic"])
                copt.load_state_dict(state["critic_optimizer"])
            g.set_state(state["generator"])
            torch.set_rng_state(state["torch_rng"])
            step, history = int(state["step"]), list(state["history"])
        except (ValueError, TypeError, KeyError, RuntimeError, AttributeError) as exc:
            first = str(exc).strip().splitlines()
            raise ValueError(f"{checkpoint}: cannot resume from it, its training state does not fit these samples "
                             f"and settings ({first[0] if first else type(exc).__name__}); pass resume=False "
                             f"to restart") from None

    def save():
        if checkpoint is not None:
            save_checkpoint(checkpoint, "imitator", network=net.state_dict(), config=net.config,
                            optimizer=opt.state_dict(), step=step, generator=g.get_state(),
                            torch_rng=torch.get_rng_state(), settings=dataclasses.asdict(settings),
                            history=history, space=space.to_dict(),
                            critic=critic.state_dict() if critic else None,
                            critic_optimizer=copt.state_dict() if copt else None)

    net.train()
    bar = tqdm(total=settings.steps, initial=step, desc="imitator", disable=not settings.progress, unit="step")
    start = time.perf_counter() - (history[-1]["seconds"] if history else 0.0)
    last = settings.steps if until is None else min(settings.steps, until)
    while step < last:
        idx = torch.randint(0, len(samples), (settings.batch,), generator=g)
        b = samples.subset(idx)
        src = b.sources
        both_v = torch.cat([b.vectors, b.shifted])
        both_src = None if src is None else torch.cat([src, src])
        out = net(both_v, both_src)
        fake, fake_shift = out.split(settings.batch)
        real = torch.cat([b.images, b.shifted_images])
        l_im = imitation_loss(out, real)
        l_sens = sensitivity_loss(fake, fake_shift, b.images, b.shifted_images)
        loss = settings.imitation * l_im + settings.sensitivity * l_sens
        if settings.pixel_l2:
            loss = loss + settings.pixel_l2 * (out - real).square().mean()
        if critic is not None:
            cond = both_src
            d_loss = critic(out.detach(), cond).mean() - critic(real, cond).mean() + \
                10.0 * gradient_penalty(critic, real, out.detach(), cond)
            copt.zero_grad()
            d_loss.backward()
            copt.step()
            loss = loss - settings.adversarial * critic(out, cond).mean()
        for group in opt.param_groups:  # cosine decay to 5 % over the run (a function of the step: resumable)
            group["lr"] = settings.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * step / settings.steps)))
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        history.append({"step": step, "loss": loss.item(), "imitation": l_im.item(), "sensitivity": l_sens.item(),
                        "seconds": time.perf_counter() - start})
        bar.update(1)
        bar.set_postfix(imit=f"{l_im.item():.4f}", sens=f"{l_sens.item():.4f}")
        if settings.checkpoint_every and step % settings.checkpoint_every == 0:
            save()
    bar.close()
    save()
    return Imitator(net, space).eval(), history
