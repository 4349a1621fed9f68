"""How much of Table 1 to run and how long each run is: :class:`Protocol`, :data:`QUICK`, :data:`FULL`."""
from __future__ import annotations

import dataclasses

from ...optim.recommended import RECOMMENDED_STARTS
from .variants import VARIANTS, VARIANTS_BY_ID, Variant


@dataclasses.dataclass(frozen=True)
class Protocol:
    """How much of the table to run, and how long each run is.

    Attributes:
        name: label (``"quick"``, ``"full"``).
        seeds: random starts per scene (scenes with a fixed start run one).
        iterations: per run.
        resolution: base render and evaluation resolution.
        high_resolution: the "L2 at high resolution" rows (render resolution; multi-res target).
        bipartite_resolution: exact bipartite matching's render resolution.
        variants: ids of the rows to run (None: every row but the ablation rows of group "f", which
            run only when named).
        max_points: cap on the points per side of a Sinkhorn matching (random subsampling; None: no
            cap). Only views with more foreground pixels than that are affected (e.g. BOX, where
            the room fills the image).
        curve_points: points kept per error-vs-time curve (also the PSNR evaluations of PSNR scenes).
        device: torch device.
        starts: batched starts of the multi-start rows ("drot").
    """

    name: str
    seeds: int
    iterations: int
    resolution: int
    high_resolution: int
    bipartite_resolution: int = 32
    variants: tuple[str, ...] | None = None
    max_points: int | None = None
    curve_points: int = 40
    device: str = "cpu"
    starts: int = RECOMMENDED_STARTS

    def __post_init__(self) -> None:
        if self.starts < 1:
            raise ValueError(f"--starts {self.starts}: the multi-start rows need at least one start")
        if self.seeds < 1 or self.iterations < 1:
            raise ValueError(f"a protocol needs at least one seed and one iteration (--seeds {self.seeds}, "
                             f"--iterations {self.iterations})")
        small = {k: v for k, v in (("resolution", self.resolution), ("high_resolution", self.high_resolution),
                                   ("bipartite_resolution", self.bipartite_resolution)) if v < 16}
        if small:
            raise ValueError("resolutions must be at least 16 (SSIM needs 11 x 11 pixels): got "
                             + ", ".join(f"{k} {v}" for k, v in small.items()))
        unknown = [v for v in (self.variants or ()) if v not in VARIANTS_BY_ID]
        if unknown:
            raise ValueError(f"unknown variant(s) {unknown}; valid: {', '.join(VARIANTS_BY_ID)}")

    def rows(self) -> list[Variant]:
        """The rows this protocol shows (a row shown "same as" another also runs that one)."""
        return [v for v in VARIANTS if (v.id in self.variants if self.variants is not None else v.group != "f")]

    def resolution_of(self, variant: Variant) -> int:
        return {"base": self.resolution, "high": self.high_resolution,
                "bipartite": self.bipartite_resolution}[variant.resolution]

    def label(self, variant: Variant) -> str:
        return variant.label.format(base=self.resolution, high=self.high_resolution, bip=self.bipartite_resolution,
                                    starts=self.starts)

    def describe(self) -> str:
        rows = "every row" if self.variants is None else "rows " + ", ".join(self.variants)
        cap = "" if self.max_points is None else f", Sinkhorn point sets capped at {self.max_points} per side"
        return (f"{self.name} protocol: {self.seeds} seed(s) per scene (1 for fixed-start scenes), "
                f"{self.iterations} iterations, base resolution {self.resolution}², high resolution "
                f"{self.high_resolution}², bipartite {self.bipartite_resolution}²{cap}, {self.starts} batched starts "
                f"in the multi-start rows, {rows}, device {self.device}")


#: The paper's protocol (§6.1): 10 seeds × 1000 iterations × 128², the L2 rows at 1024². Meant for a
#: GPU (``--device cuda``): 53 scene-seed pairs × 18 run configurations × 1000 iterations is many
#: hours on this project's 2-core CPU (mostly the 1024² L2 rows).
FULL = Protocol("full", seeds=10, iterations=1000, resolution=128, high_resolution=1024)

#: The whole table on a 2-core CPU in under 15 minutes: 4 seeds (1 for fixed-start scenes), 200
#: iterations, 64² (the "high resolution" L2 rows at 128², bipartite at 32²), Sinkhorn point sets
#: capped at 1024 per side (only BOX, whose room fills the view, has more); rows λ = 0.01 / 0.99 and
#: K = 1 / 50 left out (the remaining λ and K rows still bracket the defaults).
QUICK = Protocol("quick", seeds=4, iterations=200, resolution=64, high_resolution=128, max_points=1024,
                 curve_points=25,
                 variants=("flow", "bipartite", "lam0.1", "lam0.5", "lam0.9", "K0", "K5", "K10",
                           "random", "hybrid", "basic", "drot", "l2", "l2-high", "l2-multires", "l2-downsampled",
                           "softras"))

PROTOCOLS = {"quick": QUICK, "full": FULL}
