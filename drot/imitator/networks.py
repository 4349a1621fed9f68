"""Networks: the two imitators (Kips et al. §7.2 for source images; a decoder for parameter-only
renderers), the inverse-graphics encoder and the patch critic of the optional adversarial term.

Images are float ``[B, H, W, 3]`` in [0, 1] at the interfaces (channels last, like the rest of
drot); parameter vectors float ``[B, D]`` (:mod:`drot.imitator.space`). All are plain
``torch.nn.Module`` s built from a few integers, so a checkpoint stores its constructor arguments
(:attr:`config`) and rebuilds it (:func:`build_network`).
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["SourceImitator", "ParameterImitator", "Encoder", "Critic", "build_network", "NETWORKS"]


class _Residual(nn.Module):
    def __init__(self, ch: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(ch, ch, 3, padding=1), nn.InstanceNorm2d(ch, affine=True), nn.ReLU(True),
                                  nn.Conv2d(ch, ch, 3, padding=1), nn.InstanceNorm2d(ch, affine=True))

    def forward(self, x):
        return x + self.body(x)


class SourceImitator(nn.Module):
    """Kips's StarGAN-style conditional generator: the parameters, broadcast to channels, are
    concatenated to the source image; two stride-2 convolutions, ``blocks`` residual blocks with
    instance norm, two upsampling (nearest x2 + 3 x 3) convolutions; the output is a difference added to the source.

    ``forward(vectors [B, D], sources [B, H, W, 3]) -> [B, H, W, 3]`` (H, W divisible by 4).
    Kips uses 4 x 4 kernels in the residual blocks; we use 3 x 3 (symmetric padding).
    """

    def __init__(self, dim: int, width: int = 16, blocks: int = 2) -> None:
        super().__init__()
        self.config = {"kind": "source", "dim": dim, "width": width, "blocks": blocks}
        w = width

        def block(cin, cout, k, s, p, up=False):
            conv = [nn.Upsample(scale_factor=2), nn.Conv2d(cin, cout, 3, 1, 1)] if up else [nn.Conv2d(cin, cout, k, s, p)]
            return [*conv, nn.InstanceNorm2d(cout, affine=True), nn.ReLU(True)]
        self.net = nn.Sequential(*block(3 + dim, w, 3, 1, 1), *block(w, 2 * w, 4, 2, 1), *block(2 * w, 4 * w, 4, 2, 1),
                                 *[_Residual(4 * w) for _ in range(blocks)],
                                 *block(4 * w, 2 * w, 4, 2, 1, up=True), *block(2 * w, w, 4, 2, 1, up=True),
                                 nn.Conv2d(w, 3, 3, 1, 1), nn.Tanh())

    def forward(self, vectors: torch.Tensor, sources: torch.Tensor) -> torch.Tensor:
        b, h, w, _ = sources.shape
        x = torch.cat([sources.permute(0, 3, 1, 2), vectors[:, :, None, None].expand(b, vectors.shape[1], h, w)], 1)
        return sources + self.net(x).permute(0, 2, 3, 1)


class ParameterImitator(nn.Module):
    """A decoder from the parameter vector: an MLP to a 4 x 4 feature map, then upsampling
    convolution blocks (nearest x2, conv 3 x 3, instance norm, ReLU) to ``resolution``.

    ``forward(vectors [B, D], sources=None) -> [B, R, R, 3]`` (R = resolution, a power of two >= 8).
    """

    def __init__(self, dim: int, resolution: int = 64, width: int = 128) -> None:
        super().__init__()
        if resolution < 8 or resolution & (resolution - 1):
            raise ValueError(f"ParameterImitator resolution must be a power of two >= 8, got {resolution}")
        self.config = {"kind": "parameter", "dim": dim, "resolution": resolution, "width": width}
        self.mlp = nn.Sequential(nn.Linear(dim, 256), nn.ReLU(True), nn.Linear(256, width * 16), nn.ReLU(True))
        layers, ch, size = [], width, 4
        while size < resolution:
            out = max(16, ch // 2)
            layers += [nn.Upsample(scale_factor=2), nn.Conv2d(ch, out, 3, padding=1), nn.InstanceNorm2d(out, affine=True),
                       nn.ReLU(True), nn.Conv2d(out, out, 3, padding=1), nn.ReLU(True)]
            ch, size = out, size * 2
        self.width = width
        self.up = nn.Sequential(*layers, nn.Conv2d(ch, 3, 3, padding=1))

    def forward(self, vectors: torch.Tensor, sources: torch.Tensor | None = None) -> torch.Tensor:
        x = self.mlp(vectors).view(-1, self.width, 4, 4)
        return torch.sigmoid(self.up(x)).permute(0, 2, 3, 1)


class Encoder(nn.Module):
    """Image → parameter vector (Kips §7.2): stride-2 4 x 4 convolutions with ReLU, then linear outputs.

    ``forward(images [B, H, W, 3]) -> [B, D]`` raw outputs; :meth:`vectors` maps them to the space's
    encoding (continuous slots through a sigmoid, discrete blocks through a softmax).
    """

    def __init__(self, dim: int, width: int = 16, resolution: int = 64) -> None:
        super().__init__()
        self.config = {"kind": "encoder", "dim": dim, "width": width, "resolution": resolution}
        layers, ch, size = [], 3, resolution
        while size > 4:
            out = min(8 * width, width if ch == 3 else ch * 2)
            layers += [nn.Conv2d(ch, out, 4, 2, 1), nn.ReLU(True)]
            ch, size = out, size // 2
        self.features = nn.Sequential(*layers, nn.Flatten(), nn.Linear(ch * size * size, 128), nn.ReLU(True),
                                      nn.Linear(128, dim))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.features(images.permute(0, 3, 1, 2))


class Critic(nn.Module):
    """A small patch critic for WGAN-GP: ``forward(images [B, H, W, 3], sources or None) -> [B]``."""

    def __init__(self, width: int = 16, conditional: bool = False) -> None:
        super().__init__()
        self.config = {"kind": "critic", "width": width, "conditional": conditional}
        cin = 6 if conditional else 3
        self.net = nn.Sequential(nn.Conv2d(cin, width, 4, 2, 1), nn.LeakyReLU(0.2, True),
                                 nn.Conv2d(width, 2 * width, 4, 2, 1), nn.LeakyReLU(0.2, True),
                                 nn.Conv2d(2 * width, 1, 3, 1, 1))

    def forward(self, images: torch.Tensor, sources: torch.Tensor | None = None) -> torch.Tensor:
        x = images if sources is None else torch.cat([images, sources], -1)
        return self.net(x.permute(0, 3, 1, 2)).flatten(1).mean(1)


NETWORKS = {"source": SourceImitator, "parameter": ParameterImitator, "encoder": Encoder, "critic": Critic}


def build_network(config: dict) -> nn.Module:
    """Rebuild a network from its :attr:`config` (``{"kind": ..., constructor arguments}``)."""
    cfg = dict(config)
    kind = cfg.pop("kind", None)
    if kind not in NETWORKS:
        raise ValueError(f"unknown network kind {kind!r} in config; kinds: {', '.join(NETWORKS)}")
    return NETWORKS[kind](**cfg)
