"""A tiny black-box renderer for the imitator tests: 32 x 32, a large blob whose brightness is ``a``,
a small 3 x 3 dot whose brightness is ``b`` (few pixels: what the sensitivity loss is for), the
blob drawn as a disc or a square (``shape``), rendered through an 8-bit quantisation."""
import numpy as np
import torch

from drot.imitator import BlackBoxRenderer, Continuous, Discrete, ParameterSpace

_Y, _X = np.mgrid[0:32, 0:32] + 0.5


class ToyRenderer(BlackBoxRenderer):
    def __init__(self):
        super().__init__()
        self.space = ParameterSpace([Continuous("a", 0.0, 1.0), Continuous("b", 0.0, 1.0),
                                     Discrete("shape", ("disc", "square"))])
        self.resolution = (32, 32)

    def render_one(self, setting, source, seed):
        img = np.full((32, 32, 3), 0.2)
        if setting["shape"] == "disc":
            blob = (_X - 12) ** 2 + (_Y - 14) ** 2 < 64
        else:
            blob = (abs(_X - 12) < 7) & (abs(_Y - 14) < 7)
        img[blob] = (0.2 + 0.7 * setting["a"], 0.3, 0.5)
        img[26:29, 26:29] = 0.1 + 0.9 * setting["b"]
        return np.round(img * 255) / 255


class SourceToy(ToyRenderer):
    """The same with a source image: the blob's colour is blended over the source."""
    needs_source = True

    def sources(self, n, generator=None):
        return 0.3 + 0.4 * torch.rand(n, 1, 1, 3, generator=generator).expand(n, 32, 32, 3).contiguous()

    def render_one(self, setting, source, seed):
        img = super().render_one(setting, None, seed)
        return np.round((0.5 * img + 0.5 * source) * 255) / 255
