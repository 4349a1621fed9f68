"""The inverse-graphics encoder (Kips et al. §6): image → parameter vector, trained self-supervised.

Loss (Eq. 5–6): ``graphics · L_graphics + rendering · L_rendering`` where ``L_graphics`` is the squared
error of the continuous slots plus the cross-entropy of every discrete block against the sampled
setting, and ``L_rendering`` the perceptual distance (L1 + MS-SSIM) between the render ``R(X, g)``
and the imitator's image of the estimate ``I(X, E(R(X, g)))`` — differentiable through the frozen
imitator. At inference, one forward pass: :meth:`InverseEncoder.predict`.
"""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from .data import Samples
from .losses import perceptual_loss
from .networks import Encoder
from .space import ParameterSpace
from .validation import check_options
from .training import Imitator, read_checkpoint, rebuild, save_checkpoint

__all__ = ["EncoderSettings", "InverseEncoder", "train_encoder", "load_encoder"]


@dataclasses.dataclass(frozen=True)
class EncoderSettings:
    """Encoder training options (``rendering`` is Kips's λ3; 0 trains on the graphics loss alone)."""

    steps: int = 1500
    batch: int = 32
    lr: float = 1e-3
    graphics: float = 1.0
    rendering: float = 1.0
    width: int = 16
    seed: int = 0
    progress: bool = True

    def __post_init__(self) -> None:
        check_options(self, positive=("steps", "batch", "lr", "width"),
                      nonnegative=("graphics", "rendering", "seed"), integers=("steps", "batch", "width", "seed"))


class InverseEncoder(torch.nn.Module):
    """``encoder(images [B, H, W, 3])`` → vectors float ``[B, D]`` in the space's encoding
    (continuous slots in [0, 1] through a sigmoid, discrete blocks as softmax probabilities)."""

    def __init__(self, network: Encoder, space: ParameterSpace) -> None:
        super().__init__()
        self.network, self.space = network, space

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        raw = self.network(images)
        parts = []
        for p in self.space.parameters:
            sl = self.space.slices[p.name]
            parts.append(torch.sigmoid(raw[:, sl]) if p.size == 1 and p in self.space.continuous
                         else torch.softmax(raw[:, sl], 1))
        return torch.cat(parts, 1)

    @torch.no_grad()
    def predict(self, images: torch.Tensor) -> torch.Tensor:
        """One forward pass without gradients: vectors ``[B, D]`` (relaxed discrete blocks)."""
        if images.ndim == 3:
            images = images[None]
        return self.eval()(images.float())


def _graphics_loss(space: ParameterSpace, estimate: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    ci = space.continuous_index
    loss = (estimate[:, ci] - truth[:, ci]).square().sum(1).mean()
    for p in space.discrete:
        sl = space.slices[p.name]
        loss = loss + F.nll_loss(estimate[:, sl].clamp_min(1e-8).log(), truth[:, sl].argmax(1))
    return loss


def train_encoder(samples: Samples, imitator: Imitator | None, settings: EncoderSettings = EncoderSettings(),
                  checkpoint: str | Path | None = None) -> tuple[InverseEncoder, list[dict]]:
    """Train an encoder on ``samples`` (both the settings and their shifted twins are used).

    Args:
        samples: rendered samples; their images are the inputs, their settings the graphics targets.
        imitator: the trained imitator for the rendering loss (frozen); None with ``settings.rendering == 0``.
        settings: :class:`EncoderSettings`.
        checkpoint: where to write the encoder at the end (weights + space), or None.

    Returns:
        ``(encoder, history)`` (one dict per step: ``loss``, ``graphics``, ``rendering``, ``seconds``).
    """
    if settings.rendering > 0 and imitator is None:
        raise ValueError("train_encoder: the rendering loss (settings.rendering > 0) needs an imitator")
    space = imitator.space if imitator is not None else None
    if space is None:
        raise ValueError("train_encoder: pass the imitator (its parameter space is the encoder's)")
    torch.manual_seed(settings.seed)
    images = torch.cat([samples.images, samples.shifted_images])
    vectors = torch.cat([samples.vectors, samples.shifted])
    sources = None if samples.sources is None else torch.cat([samples.sources, samples.sources])
    enc = InverseEncoder(Encoder(space.dim, settings.width, images.shape[1]), space)
    opt = torch.optim.Adam(enc.parameters(), lr=settings.lr)
    if imitator is not None:
        imitator.eval().requires_grad_(False)
    g = torch.Generator().manual_seed(settings.seed)
    history, start = [], time.perf_counter()
    enc.train()
    for step in tqdm(range(settings.steps), desc="encoder", disable=not settings.progress, unit="step"):
        idx = torch.randint(0, images.shape[0], (settings.batch,), generator=g)
        est = enc(images[idx])
        l_g = _graphics_loss(space, est, vectors[idx])
        l_r = torch.zeros(())
        if settings.rendering > 0:
            l_r = perceptual_loss(imitator(est, None if sources is None else sources[idx]), images[idx])
        loss = settings.graphics * l_g + settings.rendering * l_r
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append({"step": step + 1, "loss": loss.item(), "graphics": l_g.item(), "rendering": l_r.item(),
                        "seconds": time.perf_counter() - start})
    enc.eval()
    if checkpoint is not None:
        save_checkpoint(checkpoint, "encoder", network=enc.network.state_dict(), config=enc.network.config,
                        step=settings.steps, space=space.to_dict(), settings=dataclasses.asdict(settings),
                        history=history)
    return enc, history


def load_encoder(path: str | Path) -> InverseEncoder:
    """The encoder stored at ``path`` by :func:`train_encoder`."""
    net, space = rebuild(path, read_checkpoint(path, "encoder"))
    return InverseEncoder(net, space).eval()
