"""Pixel matching between a rendered image and a target image (paper §4.3, §5.2).

Images become weighted RGBXY point sets (:func:`image_points`); a :class:`Matcher` gives every
source point a 5-D target:

* :class:`SinkhornMatcher` — entropic optimal transport (the paper's method), our fast solver
  or GeomLoss as reference;
* :class:`BipartiteMatcher` — exact one-to-one assignment (SciPy), small problems only;
* :class:`IdentityMatcher` — the pixel under each point (what a per-pixel loss uses);
* :class:`FlowMatcher` — where dense optical flow (OpenCV Farnebäck, optional extra
  ``drot[flow]``) sends each pixel, the paper's Table 1 (a) alternative.

Example::

    source, fg = image_points(render_rgb, render_mask, background="include")
    target, _ = image_points(target_rgb, target_mask, background="include")
    m = make_matcher("sinkhorn", lam=0.5, blur=0.01).match(source, target)
    goal = m.targets[: len(fg)]          # [F, 5] matched RGBXY of the foreground pixels
"""
from __future__ import annotations

from typing import Any

from .base import Matcher, Matching, PointSet, embed
from .bipartite import BipartiteMatcher
from .flow import FlowMatcher
from .identity import IdentityMatcher
from .pixels import image_points
from .sinkhorn import SinkhornMatcher

__all__ = ["PointSet", "Matching", "Matcher", "SinkhornMatcher", "BipartiteMatcher", "IdentityMatcher",
           "FlowMatcher", "make_matcher", "image_points", "embed", "MATCHERS"]

#: Matcher classes by name.
MATCHERS: dict[str, type[Matcher]] = {
    "sinkhorn": SinkhornMatcher,
    "bipartite": BipartiteMatcher,
    "identity": IdentityMatcher,
    "flow": FlowMatcher,
}


def make_matcher(name: str, **kwargs: Any) -> Matcher:
    """Build a matcher by name (``"sinkhorn"``, ``"bipartite"``, ``"identity"`` or ``"flow"``) with
    the keyword arguments of its class (``"flow"`` needs ``resolution=(H, W)``)."""
    if name not in MATCHERS:
        raise ValueError(f"unknown matcher {name!r}; valid names: {', '.join(MATCHERS)}")
    return MATCHERS[name](**kwargs)
