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
    """Residual block (two 3 x 3 convolutions with instance norm) whose norms are modulated by the
    parameters (FiLM: ``(1 + γ(g)) · IN(x) + β(g)``) — without it, instance norm would subtract the
    constant parameter channels away."""

    def __init__(self, ch: int, dim: int) -> None:
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(ch, ch, 3, padding=1), nn.Conv2d(ch, ch, 3, padding=1)
        self.norm = nn.InstanceNorm2d(ch, affine=False)
        self.film = nn.Linear(dim, 4 * ch)

    def forward(self, x, v):
        g1, b1, g2, b2 = self.film(v)[:, :, None, None].chunk(4, 1)
        h = torch.relu(self.norm(self.conv1(x)) * (1 + g1) + b1)
        return x + self.norm(self.conv2(h)) * (1 + g2) + b2


class _Context(nn.Module):
    """Whole-image statistics back to every pixel: the mean and max over the image of bottleneck
    and of full-resolution features, with the parameters, give a FiLM of full-resolution features.
    Renderers normalise by image-wide quantities (the lips' mean and brightest grey) that a stack
    of 3 x 3 convolutions cannot see at 64 x 64; the full-resolution max keeps a single brightest pixel."""

    def __init__(self, channels: tuple[int, ...], dim: int, out: int) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(2 * sum(channels) + dim, 4 * out), nn.ReLU(True), nn.Linear(4 * out, 2 * out))

    def forward(self, features, vectors):
        stats = [s for f in features for s in (f.mean((2, 3)), f.amax((2, 3)))]
        return self.mlp(torch.cat([*stats, vectors], 1))[:, :, None, None].chunk(2, 1)


class SourceImitator(nn.Module):
    """Kips's StarGAN-style conditional generator: the parameters, broadcast to channels, are
    concatenated to the source image; two stride-2 4 x 4 convolutions with instance norm,
    ``blocks`` residual blocks with instance norm, two upsampling steps (nearest x2 + 3 x 3) with
    skip connections, and a head that sees the features, the source pixel and the parameters; the
    output (tanh) is a difference added to the source.

    ``forward(vectors [B, D], sources [B, H, W, 3]) -> [B, H, W, 3]`` (H, W divisible by 4).
    Departures from Kips (measured necessary here): the residual blocks' instance norms are
    modulated by the parameters (FiLM), since instance norm removes the constant parameter channels,
    and so are the full-resolution features before the head;
    3 x 3 kernels in the residual blocks; U-Net skips for pixel-accurate masks. With ``context``,
    that last FiLM also sees whole-image statistics (:class:`_Context`); with ``positional`` > 0,
    the head sees a learned ``positional``-channel map of the ``resolution`` screen, for effects
    fixed in screen space (a sparkle pattern, a vignette) that no translation-invariant layer can place;
    with ``gated``, the edit is multiplied by a per-pixel sigmoid gate (edits are local: outside them
    the output is the source, not the source plus a small learned residual).
    """

    def __init__(self, dim: int, width: int = 16, blocks: int = 2, context: bool = False, positional: int = 0,
                 resolution: int = 64, gated: bool = False, gate_init: float | None = None) -> None:
        super().__init__()
        self.config = {"kind": "source", "dim": dim, "width": width, "blocks": blocks, "context": context,
                       "positional": positional, "resolution": resolution, "gated": gated,
                       "gate_init": gate_init}
        w = width
        self.inp = nn.Conv2d(3 + dim, w, 3, 1, 1)
        self.down1 = nn.Sequential(nn.Conv2d(w, 2 * w, 4, 2, 1), nn.InstanceNorm2d(2 * w, affine=True), nn.ReLU(True))
        self.down2 = nn.Sequential(nn.Conv2d(2 * w, 4 * w, 4, 2, 1), nn.InstanceNorm2d(4 * w, affine=True), nn.ReLU(True))
        self.blocks = nn.ModuleList([_Residual(4 * w, dim) for _ in range(blocks)])
        self.up1 = nn.Sequential(nn.Conv2d(4 * w + 2 * w, 2 * w, 3, 1, 1), nn.ReLU(True))
        self.up0 = nn.Sequential(nn.Conv2d(2 * w + w, w, 3, 1, 1), nn.ReLU(True))
        self.film = _Context((4 * w, w), dim, w) if context else nn.Linear(dim, 2 * w)
        self.positional = nn.Parameter(torch.zeros(1, positional, resolution, resolution)) if positional else None
        self.gated = gated
        self.head = nn.Sequential(nn.Conv2d(w + 3 + dim + positional, w, 3, 1, 1), nn.ReLU(True),
                                  nn.Conv2d(w, 4 if gated else 3, 1))
        if gated and gate_init is not None:
            with torch.no_grad():  # the gate's logit at initialisation (negative: the edit starts closed)
                self.head[-1].bias[3] = gate_init

    def forward(self, vectors: torch.Tensor, sources: torch.Tensor) -> torch.Tensor:
        b, h, w, _ = sources.shape
        x = torch.cat([sources.permute(0, 3, 1, 2), vectors[:, :, None, None].expand(b, vectors.shape[1], h, w)], 1)
        f0 = torch.relu(self.inp(x))
        f1 = self.down1(f0)
        f2 = self.down2(f1)
        for block in self.blocks:
            f2 = block(f2, vectors)
        up = nn.functional.interpolate
        u1 = self.up1(torch.cat([up(f2, scale_factor=2.0), f1], 1))
        u0 = self.up0(torch.cat([up(u1, scale_factor=2.0), f0], 1))
        if isinstance(self.film, _Context):
            gamma, beta = self.film((f2, f0), vectors)
        else:
            gamma, beta = self.film(vectors)[:, :, None, None].chunk(2, 1)
        u0 = u0 * (1 + gamma) + beta  # full-resolution features modulated by the parameters
        parts = [u0, x]
        if self.positional is not None:
            if self.positional.shape[2:] != (h, w):
                raise ValueError(f"this imitator's screen map is {tuple(self.positional.shape[2:])}, "
                                 f"the sources are {(h, w)}")
            parts.append(self.positional.expand(b, -1, h, w))
        out = self.head(torch.cat(parts, 1))
        edit = torch.tanh(out[:, :3])
        if self.gated:  # a saturating per-pixel gate: pixels the renderer leaves alone stay exactly the source
            edit = edit * torch.sigmoid(out[:, 3:])
        return sources + edit.permute(0, 2, 3, 1)


class ParameterImitator(nn.Module):
    """A decoder from the parameter vector: an MLP to a 4 x 4 feature map, then upsampling
    convolution blocks (nearest x2, two 3 x 3 convolutions with ReLU) to ``resolution``, a sigmoid.
    No instance norm: it would remove the per-channel brightness that colour and light set.
    With ``positional`` > 0, a learned ``positional``-channel full-resolution map and the parameters
    join the last features in a per-pixel head (two 3 x 3 convolutions): a fixed camera's
    silhouettes are pixel-sharp there rather than upsampled from 4 x 4.

    ``forward(vectors [B, D], sources=None) -> [B, R, R, 3]`` (R = resolution, a power of two >= 8).
    """

    def __init__(self, dim: int, resolution: int = 64, width: int = 128, positional: int = 0) -> None:
        super().__init__()
        if resolution < 8 or resolution & (resolution - 1):
            raise ValueError(f"ParameterImitator resolution must be a power of two >= 8, got {resolution}")
        self.config = {"kind": "parameter", "dim": dim, "resolution": resolution, "width": width,
                       "positional": positional}
        self.mlp = nn.Sequential(nn.Linear(dim, 256), nn.ReLU(True), nn.Linear(256, width * 16), nn.ReLU(True))
        layers, ch, size = [], width, 4
        while size < resolution:
            out = max(16, ch // 2)
            layers += [nn.Upsample(scale_factor=2), nn.Conv2d(ch, out, 3, padding=1), nn.ReLU(True),
                       nn.Conv2d(out, out, 3, padding=1), nn.ReLU(True)]
            ch, size = out, size * 2
        self.width = width
        if positional:
            self.up = nn.Sequential(*layers)
            self.positional = nn.Parameter(0.1 * torch.randn(1, positional, resolution, resolution))
            self.head = nn.Sequential(nn.Conv2d(ch + positional + dim, ch, 3, padding=1), nn.ReLU(True),
                                      nn.Conv2d(ch, 3, 3, padding=1))
        else:
            self.up = nn.Sequential(*layers, nn.Conv2d(ch, 3, 3, padding=1))
            self.positional, self.head = None, None

    def forward(self, vectors: torch.Tensor, sources: torch.Tensor | None = None) -> torch.Tensor:
        x = self.up(self.mlp(vectors).view(-1, self.width, 4, 4))
        if self.head is not None:
            b, _, h, w = x.shape
            x = self.head(torch.cat([x, self.positional.expand(b, -1, h, w),
                                     vectors[:, :, None, None].expand(b, vectors.shape[1], h, w)], 1))
        return torch.sigmoid(x).permute(0, 2, 3, 1)


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
