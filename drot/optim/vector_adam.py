"""Adam whose second moment is shared by the coordinates of a vector (VectorAdam, Ling et al. 2022).

Adam scales every coordinate by its own gradient history, so a coordinate whose gradient is small
but of steady sign moves as fast as the one that carries the signal. In one view, a screen-space pull
toward the image centre has a small depth component (perspective: moving away also moves an
off-centre object's image toward the centre); Adam turns that into a full-size step along the depth
axis, and objects drift away from the camera while they slide sideways (drot's JOINT). Sharing the
second moment over the three coordinates of a translation (or of an axis-angle, a vertex offset, a
camera shift) keeps each step along the gradient's direction, as plain gradient descent would,
while keeping Adam's scale invariance per vector.

Parameters marked ``vector`` in their param group are ``[..., 3]`` tensors (any leading axes: the
start axis, vertices); the others take Adam's elementwise update. The state keys (``exp_avg``,
``exp_avg_sq``, ``step``) and shapes with the leading start axis are Adam's, so thinning a batch of
starts by index works the same (``exp_avg_sq`` of a vector parameter is ``[..., 1]``).
"""
from __future__ import annotations

import torch


#: Kinds whose values are vectors in space (or ``[V, 3]``/``[V, 2]`` of them): their coordinates share a second moment.
VECTOR_KINDS = ("translation", "rotation", "vertex_offsets", "planar_offsets", "camera_eye", "camera_target")


def is_vector_parameter(kind: str, axis, last: int) -> bool:
    """Whether a parameter of ``kind`` (``axis`` for a one-angle rotation) whose last axis has
    ``last`` entries is a (stack of) 3-vector(s) in space (2-vectors in a plane for ``planar_offsets``)."""
    return kind in VECTOR_KINDS and last in (2, 3) and not (kind == "rotation" and axis is not None)


class VectorAdam(torch.optim.Optimizer):
    """Adam with the second moment of ``vector`` groups' parameters shared over their last axis.

    Args:
        params: parameter groups (dicts with ``params`` and optionally ``vector=True``).
        lr, betas, eps: as :class:`torch.optim.Adam`.
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, vector=False))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None if closure is None else closure()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                state = self.state[p]
                if not state:
                    state["step"] = torch.zeros((), dtype=torch.float32)
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = (torch.zeros_like(p[..., :1]) if group["vector"] else torch.zeros_like(p))
                state["step"] += 1
                t = float(state["step"])
                state["exp_avg"].mul_(beta1).add_(g, alpha=1 - beta1)
                square = g.square().sum(-1, keepdim=True) if group["vector"] else g.square()
                state["exp_avg_sq"].mul_(beta2).add_(square, alpha=1 - beta2)
                m_hat = state["exp_avg"] / (1 - beta1 ** t)
                v_hat = state["exp_avg_sq"] / (1 - beta2 ** t)
                p.sub_(group["lr"] * m_hat / (v_hat.sqrt() + group["eps"]))
        return loss


def make_optimizer(kind: str, scene, params: dict[str, torch.Tensor], lr: float) -> torch.optim.Optimizer:
    """The loop's optimiser over the free stacked tensors ``params`` (name → ``[S, *shape]``):
    ``"adam"`` (elementwise, so it is S independent Adams) or ``"vector_adam"`` (:class:`VectorAdam`
    with the vector kinds sharing their second moment). A translation optimised in a view's frame
    (``translation_frame="view"``: image position and log depth, each times the object's depth, so
    in scene units) is a vector too: sharing the moment keeps the depth, seen only through the
    object's image size, from taking steps as long as the image position's (measured on JOINT:
    with a moment of its own, a small object's noisy size signal sent it 2-4 units along its ray;
    shared, it ends within 0.03)."""
    free = [v for v in params.values() if v.requires_grad]
    if kind == "adam":
        return torch.optim.Adam(free, lr=lr, betas=(0.9, 0.999))
    by_name = {p.name: p for p in scene.parameters}
    is_vector = {k: is_vector_parameter(by_name[k].kind, by_name[k].axis, v.shape[-1])
                 for k, v in params.items()}
    groups = [{"params": [v for k, v in params.items() if v.requires_grad and is_vector[k] == flag], "vector": flag}
              for flag in (False, True)]
    return VectorAdam([g for g in groups if g["params"]], lr=lr, betas=(0.9, 0.999))

