"""The rows of Table 1: method variants (:class:`Variant`), grouped as in the paper (:data:`GROUPS`)."""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from ...optim.recommended import RECOMMENDED_LEVERS

#: Row groups, in the paper's order.
GROUPS = {
    "a": "(a) matching (K=5, basic)",
    "b": "(b) λ (K=5, basic)",
    "c": "(c) match interval K (λ=0.5, basic)",
    "d": "(d) strategy (K=5, λ=0.5)",
    "e": "(e) L2 baselines",
    "f": "(f) drot's levers, one left out each",
}


@dataclasses.dataclass(frozen=True)
class Variant:
    """One row of the table.

    Attributes:
        id: stable short name (part of every run key), e.g. ``"lam0.1"``.
        group: key of :data:`GROUPS`.
        label: row label; ``{base}``, ``{high}`` and ``{bip}`` are replaced by the protocol's resolutions.
        overrides: :class:`~drot.optim.OptimizeSettings` fields.
        resolution: ``"base"``, ``"high"`` or ``"bipartite"``: the render resolution of the run.
        same_as: id of a row with the same configuration, whose runs this row shows (run once).
        multistart: the row runs the protocol's number of batched starts (``--starts``).
    """

    id: str
    group: str
    label: str
    overrides: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    resolution: str = "base"
    same_as: str | None = None
    multistart: bool = False


_BASIC = {"strategy": "basic"}
VARIANTS: tuple[Variant, ...] = (
    Variant("flow", "a", "optical flow", {**_BASIC, "matcher": "flow"}),
    Variant("bipartite", "a", "bipartite ({bip}²)", {**_BASIC, "matcher": "bipartite"}, resolution="bipartite"),
    Variant("lam0.01", "b", "λ = 0.01", {**_BASIC, "lam": 0.01}),
    Variant("lam0.1", "b", "λ = 0.1", {**_BASIC, "lam": 0.1}),
    Variant("lam0.5", "b", "λ = 0.5", same_as="basic"),
    Variant("lam0.9", "b", "λ = 0.9", {**_BASIC, "lam": 0.9}),
    Variant("lam0.99", "b", "λ = 0.99", {**_BASIC, "lam": 0.99}),
    Variant("K0", "c", "K = 0", {**_BASIC, "match_interval": 0}),
    Variant("K1", "c", "K = 1", {**_BASIC, "match_interval": 1}),
    Variant("K5", "c", "K = 5", same_as="basic"),
    Variant("K10", "c", "K = 10", {**_BASIC, "match_interval": 10}),
    Variant("K50", "c", "K = 50", {**_BASIC, "match_interval": 50}),
    Variant("random", "d", "random", {"strategy": "random"}),
    Variant("hybrid", "d", "hybrid", {"strategy": "hybrid"}),
    Variant("basic", "d", "basic", dict(_BASIC)),
    Variant("drot", "d", "drot: hybrid, {starts} batched starts, jumps, appearance L2, VectorAdam, smooth offsets, "
                         "unbalanced OT, view-frame translations, supersampled L2",
            {"strategy": "hybrid", **RECOMMENDED_LEVERS}, multistart=True),
    # drot's row with one lever left out each (the ablation of benchmarks/README.md); not in the default rows.
    # (group "f" runs only when named in --variants)
    Variant("drot-nojumps", "f", "drot without look-alike jumps", {"strategy": "hybrid", **RECOMMENDED_LEVERS,
                                                                  "jump_interval": 0.0}, multistart=True),
    Variant("drot-rgbxy-appearance", "f", "drot, appearance from RGBXY derivatives",
            {"strategy": "hybrid", **RECOMMENDED_LEVERS, "appearance_gradients": "rgbxy"}, multistart=True),
    Variant("drot-adam", "f", "drot with Adam instead of VectorAdam",
            {"strategy": "hybrid", **RECOMMENDED_LEVERS, "optimizer": "adam"}, multistart=True),
    Variant("drot-nosmooth", "f", "drot without the smoothness prior on vertex offsets",
            {"strategy": "hybrid", **RECOMMENDED_LEVERS, "offset_smoothness": 0.0}, multistart=True),
    Variant("drot-balanced", "f", "drot with balanced transport (the paper's)",
            {"strategy": "hybrid", **RECOMMENDED_LEVERS, "sinkhorn_reach": None}, multistart=True),
    Variant("drot-world", "f", "drot with world-space translations (the paper's)",
            {"strategy": "hybrid", **RECOMMENDED_LEVERS, "translation_frame": "world"}, multistart=True),
    Variant("drot-nosupersample", "f", "drot with one sample per pixel in its L2 derivatives (the paper's)",
            {"strategy": "hybrid", **RECOMMENDED_LEVERS, "l2_supersample": 1}, multistart=True),
    Variant("drot-supersample2", "f", "drot with 2 × 2 samples per pixel in its L2 derivatives",
            {"strategy": "hybrid", **RECOMMENDED_LEVERS, "l2_supersample": 2}, multistart=True),
    Variant("drot-supersample4", "f", "drot with 4 × 4 samples per pixel in its L2 derivatives",
            {"strategy": "hybrid", **RECOMMENDED_LEVERS, "l2_supersample": 4}, multistart=True),
    Variant("drot-l2down", "f", "drot, its L2 phase coarse to fine (loss on 8² → {base}² of the full render)",
            {"strategy": "hybrid", **RECOMMENDED_LEVERS, "l2_schedule": "downsampled"}, multistart=True),
    Variant("drot-l2down-long", "f", "drot-l2down with half the run in L2 (rgbxy_fraction 0.5)",
            {"strategy": "hybrid", **RECOMMENDED_LEVERS, "l2_schedule": "downsampled", "rgbxy_fraction": 0.5},
            multistart=True),
    Variant("drot-plain", "f", "hybrid, {starts} batched starts (drot's row before the levers)",
            {"strategy": "hybrid"}, multistart=True),
    Variant("l2", "e", "L2, {base}²", {"strategy": "standard"}),
    Variant("l2-high", "e", "L2, {high}²", {"strategy": "standard"}, resolution="high"),
    Variant("l2-multires", "e", "L2, multi-res 8²→{high}²", {"strategy": "standard", "l2_schedule": "multires"},
            resolution="high"),
    Variant("l2-downsampled", "e", "L2, {high}² render, loss on 8²→{high}²",
            {"strategy": "standard", "l2_schedule": "downsampled"}, resolution="high"),
    Variant("softras", "e", "SoftRas (soft silhouette + colour), {base}²", {"strategy": "softras"}),
)
VARIANTS_BY_ID = {v.id: v for v in VARIANTS}
