"""Translations optimised in the first view's frame: image position and log depth of the object.

In one view, a world-space translation step that slides an off-centre object's image toward its
target also moves the object perpendicular to its viewing ray, which has a depth component: the
object drifts away from the camera while it slides (perspective shrinks it toward the image centre),
and from there only its image size, a weak signal, can bring it back (drot's JOINT). Optimised as
``(u, v, log depth)`` of the object's centre in the camera of view 0 — ``u, v`` the centre's image
position (camera x / depth, y / depth), the depth the distance along the camera's axis, all three
times the object's depth at rest so that they are in scene units like the lr — a slide is
a change of ``u, v`` alone, and the depth moves only where the object's image size asks for it.
Under ``optimizer="vector_adam"`` the three coordinates share one second moment, so the depth moves
by its share of the gradient: a small object's size is a weak signal, and the matching's is biased
while the object is still far from its target (measured on JOINT: with a moment of its own the
depth took full-size steps on that bias, 2-4 units along the ray; shared, both translated objects
end within 0.03 of their targets).

:class:`ViewFrame` maps between the two: ``internal = to_internal(name, t)``,
``t = to_world(name, internal)``, differentiable, with any leading axes (the start axis).
"""
from __future__ import annotations

import torch

from ..render.camera import look_at
from ..scene.scene import Scene


class ViewFrame:
    """The view-frame coordinates of a scene's translation parameters ``names``.

    Args:
        scene: the scene (its view 0 must be a perspective camera).
        names: the translation parameters to map.
        rest: name → the centre ``[3]`` of the object that parameter moves, where its translation is zero.
    """

    def __init__(self, scene: Scene, names: list[str], rest: dict[str, torch.Tensor]) -> None:
        cam = scene.cameras[0]
        if cam.ortho_half_height is not None:
            raise ValueError("translation_frame='view' needs a perspective view 0 (an orthographic view has no depth "
                             "in the image)")
        view = look_at(cam.eye.double(), cam.target.double(), cam.up.double())
        self.rotation, self.eye = view[:3, :3], cam.eye.double()
        self.names, self.rest = tuple(names), {k: v.double() for k, v in rest.items()}
        # In units of the object's depth at rest, so that a step of the optimiser moves about as far as
        # a world-space step would (lr is in scene units).
        self.scale = {k: float((-((v - self.eye) @ self.rotation.T)[2]).clamp_min(1e-6)) for k, v in self.rest.items()}

    def to_internal(self, name: str, t: torch.Tensor) -> torch.Tensor:
        """``(u, v, log depth)`` ``[..., 3]`` of translation ``t`` ``[..., 3]``."""
        x = (self.rest[name].to(t.device) + t.double() - self.eye.to(t.device)) @ self.rotation.to(t.device).T
        depth = (-x[..., 2]).clamp_min(1e-6)  # the camera looks along its -z
        return (self.scale[name] * torch.stack([x[..., 0] / depth, x[..., 1] / depth, depth.log()], -1)).to(t.dtype)

    def to_world(self, name: str, internal: torch.Tensor) -> torch.Tensor:
        """Translation ``[..., 3]`` of view-frame coordinates ``internal`` ``[..., 3]`` (differentiable)."""
        uvw = internal / self.scale[name]
        depth = uvw[..., 2].exp()
        x = torch.stack([uvw[..., 0] * depth, uvw[..., 1] * depth, -depth], -1)
        rot, eye = self.rotation.to(internal), self.eye.to(internal)
        return x @ rot + eye - self.rest[name].to(internal)


def view_frame(scene: Scene, start: dict[str, torch.Tensor], fixed: tuple[str, ...]) -> ViewFrame | None:
    """The :class:`ViewFrame` of ``scene``'s free translation parameters (None when it has none);
    each object's centre is its vertex centroid with the start values and that translation zero."""
    names = [p.name for p in scene.parameters if p.kind == "translation" and p.name not in fixed]
    if not names:
        return None
    ranges = scene.object_ranges()
    rest = {}
    with torch.no_grad():
        for name in names:
            verts = scene.evaluate({**start, name: torch.zeros_like(start[name])}).vertices
            obj = name.split("/", 1)[0]
            a, b = ranges.get(obj, (0, verts.shape[-2])) if "/" in name else (0, verts.shape[-2])
            rest[name] = verts[..., a:b, :].mean(-2).detach().cpu()
    return ViewFrame(scene, names, rest)
