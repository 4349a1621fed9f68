"""A smoothness prior on per-vertex offsets (``offset_smoothness``).

Per-vertex offsets give every vertex its own three degrees of freedom. Where the image says nothing
about a vertex — the interior of a uniformly coloured shape, the depth of a flat one seen from the
front — neither RGBXY nor L2 derivatives hold it in place, and the surface crumples (the paper's
GINGER ends worse than its start under every row). The prior penalises the uniform Laplacian of the
offsets, ``L o_i = o_i - mean_{j ~ i} o_j``, so that a vertex moves with its neighbours unless the
image asks otherwise (a smooth deformation has a small Laplacian; the prior is zero for any
translation of the whole mesh):

    penalty = offset_smoothness * mean_i |L o_i|² / diagonal²

``diagonal`` is the rest mesh's bounding-box diagonal, so the weight does not depend on the scene's
units. It is added to every iteration's loss (RGBXY and standard alike), per start.
"""
from __future__ import annotations

import torch

from ..scene.scene import Scene

#: The parameter kinds the prior acts on.
OFFSET_KINDS = ("vertex_offsets", "planar_offsets")


class _Term:
    """The prior of one offsets parameter: its mesh's edges ``[E, 2]`` and vertex degrees ``[V]``."""

    def __init__(self, name: str, faces: torch.Tensor, rest: torch.Tensor) -> None:
        self.name = name
        edges = torch.cat([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]).sort(1).values
        self.edges = torch.unique(edges, dim=0)
        count = rest.shape[0]
        degree = torch.zeros(count, dtype=torch.float64).index_add_(
            0, self.edges.reshape(-1), torch.ones(self.edges.numel(), dtype=torch.float64))
        self.inverse_degree = 1.0 / degree.clamp_min(1.0)  # an unused vertex has no neighbour: L o = o
        span = rest.double().amax(0) - rest.double().amin(0)
        self.inverse_diagonal2 = 1.0 / float(span.square().sum().clamp_min(1e-12))

    def __call__(self, offsets: torch.Tensor) -> torch.Tensor:
        """``mean_i |L o_i|² / diagonal²`` of offsets ``[S, V, C]`` → ``[S]``."""
        a, b = self.edges[:, 0].to(offsets.device), self.edges[:, 1].to(offsets.device)
        summed = torch.zeros_like(offsets).index_add(1, a, offsets[:, b]).index_add(1, b, offsets[:, a])
        laplacian = offsets - summed * self.inverse_degree.to(offsets).unsqueeze(1)
        return laplacian.square().sum(-1).mean(-1) * self.inverse_diagonal2


class OffsetSmoothness:
    """The prior on every free offsets parameter of ``scene``.

    Args:
        scene: the scene; an offsets parameter of an object uses that object's mesh.
        fixed: names of the parameters held fixed (no prior on them).
        weight: ``offset_smoothness`` (0: no prior).

    Calling it with the loop's values (name → ``[S, *shape]``) gives the penalty ``[S]``, or None
    when there is nothing to smooth (no free offsets parameter, or weight 0): the object is then falsy.
    """

    def __init__(self, scene: Scene, fixed: tuple[str, ...], weight: float) -> None:
        self.weight = float(weight)
        meshes = {o.name: o.mesh for o in scene.objects}
        self.terms = []
        if self.weight <= 0:  # off: no term, nothing built
            return
        for p in scene.parameters:
            if p.kind not in OFFSET_KINDS or p.name in fixed:
                continue
            owner = p.name.split("/", 1)[0] if "/" in p.name else None
            mesh = meshes.get(owner, scene.mesh)
            self.terms.append(_Term(p.name, mesh.faces, mesh.vertices))

    def __bool__(self) -> bool:
        return bool(self.terms)

    def __call__(self, values: dict[str, torch.Tensor]) -> torch.Tensor | None:
        if not self.terms:
            return None
        return self.weight * sum(term(values[term.name]) for term in self.terms)
