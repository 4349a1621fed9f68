"""Surface shading: Lambert + Phong with a point light, optionally lit by a cube-map environment.

Shading is evaluated per surface point and is elementwise over leading dimensions, so the same
function colours image pixels (standard derivatives) and point proxies (RGBXY derivatives).
"""
from __future__ import annotations

import dataclasses

import torch


@dataclasses.dataclass(frozen=True)
class Material:
    """Phong material (the paper's reference setting: ambient 0, diffuse 0.8, specular 0.2)."""

    ambient: float = 0.0
    diffuse: float = 0.8
    specular: float = 0.2
    shininess: float = 32.0

    def __post_init__(self) -> None:
        for name in ("ambient", "diffuse", "specular"):
            if not 0 <= getattr(self, name) <= 10:
                raise ValueError(f"material {name} must be in [0, 10], got {getattr(self, name)}")
        if self.shininess <= 0:
            raise ValueError(f"material shininess must be positive, got {self.shininess}")


def _normalize(v: torch.Tensor) -> torch.Tensor:
    return v / v.norm(dim=-1, keepdim=True).clamp_min(1e-12)


def shade(position: torch.Tensor, normal: torch.Tensor, albedo: torch.Tensor, eye: torch.Tensor,
          light_position: torch.Tensor, ambient, diffuse, specular, shininess,
          environment: torch.Tensor | None = None, cube_lookup=None) -> torch.Tensor:
    """Colour of surface points.

    Args:
        position, normal, albedo: float ``[..., 3]`` world-space points, (unnormalised) normals, base colours.
        eye, light_position: float ``[..., 3]`` broadcastable to ``position``.
        ambient, diffuse, specular: floats or tensors broadcastable to ``[..., 1]`` / ``[..., 3]``.
        shininess: Phong exponent (a float, or a tensor broadcastable to ``[..., 1]``).
        environment: optional cube map ``[6, R, R, 3]``; when given, the surface is also lit by it
            (diffuse: albedo × env(normal), specular: env(reflected view direction)), with
            ``cube_lookup(cube, directions)`` doing the filtering.

    Returns:
        float ``[..., 3]`` linear RGB (not clamped, so gradients survive highlights).
    """
    n = _normalize(normal)
    v = _normalize(eye - position)
    # Two-sided lighting: open meshes (planes, leaves) are lit from whichever side is seen.
    n = torch.where((n * v).sum(-1, keepdim=True) < 0, -n, n)
    l = _normalize(light_position - position)
    n_dot_l = (n * l).sum(-1, keepdim=True)
    lambert = n_dot_l.clamp_min(0)
    r = 2 * n_dot_l * n - l
    phong = (r * v).sum(-1, keepdim=True).clamp_min(0).pow(shininess) * (n_dot_l > 0).to(position.dtype)
    color = albedo * (ambient + diffuse * lambert) + specular * phong
    if environment is not None:
        reflected = 2 * (n * v).sum(-1, keepdim=True) * n - v
        color = color + albedo * diffuse * cube_lookup(environment, n) + specular * cube_lookup(environment, reflected)
    return color
