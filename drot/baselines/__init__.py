"""Baselines the paper compares against that are not part of DROT itself.

* :mod:`drot.baselines.softras` — a SoftRas-style soft rasterizer (``strategy="softras"``).

The other Table 1 (e) baselines are settings of :func:`drot.optimize`: ``strategy="standard"``
(per-pixel L2 through analytic antialiasing) at any resolution, with ``l2_schedule="multires"``
or ``"downsampled"`` (see :mod:`drot.multiscale`).
"""
from .softras import SoftFrame, SoftRasSettings, soft_render

__all__ = ["SoftRasSettings", "SoftFrame", "soft_render"]
