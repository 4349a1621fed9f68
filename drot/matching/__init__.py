"""Pixel matching between a rendered image and a target image (paper §4.3, §5.2).

Images become weighted RGBXY point sets (:func:`image_points`); a :class:`Matcher` gives every
source point a 5-D target:

* :class:`SinkhornMatcher` — entropic optimal transport (the paper's method), our fast solver
  or GeomLoss as reference;
* :class:`BipartiteMatcher` — exact one-to-one assignment (SciPy), small problems only;
* :class:`IdentityMatcher` — the pixel under each point (what a per-pixel loss uses);
* :class:`FlowMatcher` — where dense optical flow (OpenCV Farnebäck, optional extra
  ``drot[flow]``) sends each pixel, the paper's Table 1 (a) alternative.

Matchers register themselves (:func:`register_matcher`, :data:`MATCHERS`): a new one is one
module plus its import below.

Example::

    source, fg = image_points(render_rgb, render_mask, background="include")
    target, _ = image_points(target_rgb, target_mask, background="include")
    m = make_matcher("sinkhorn", lam=0.5, blur=0.01).match(source, target)
    goal = m.targets[: len(fg)]          # [F, 5] matched RGBXY of the foreground pixels
"""
from __future__ import annotations

from .base import Matcher, Matching, PointSet, embed
from .registry import MATCHERS, make_matcher, matcher_from_settings, register_matcher
# Importing a matcher module registers it (this order is the order of MATCHERS).
from .sinkhorn import SinkhornMatcher
from .bipartite import BipartiteMatcher
from .identity import IdentityMatcher
from .flow import FlowMatcher
from .pixels import image_points

__all__ = ["PointSet", "Matching", "Matcher", "SinkhornMatcher", "BipartiteMatcher", "IdentityMatcher",
           "FlowMatcher", "make_matcher", "matcher_from_settings", "register_matcher", "image_points", "embed",
           "MATCHERS"]
