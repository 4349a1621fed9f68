"""Perspective (or orthographic) look-at cameras (OpenGL conventions: the camera looks down -z, clip z/w in [-1, 1]).

The matrix builders are differentiable in every tensor argument, so a camera pose can itself be
an optimised parameter.
"""
from __future__ import annotations

import dataclasses
import math

import torch


def look_at(eye: torch.Tensor, target: torch.Tensor, up: torch.Tensor) -> torch.Tensor:
    """World → camera matrix ``[4, 4]`` for a camera at ``eye`` looking at ``target`` (all ``[3]``)."""
    forward = target - eye
    forward = forward / forward.norm().clamp_min(1e-12)
    right = torch.linalg.cross(forward, up)
    if float(right.detach().norm()) < 1e-8:
        raise ValueError("camera up vector is parallel to the viewing direction")
    right = right / right.norm()
    true_up = torch.linalg.cross(right, forward)
    rot = torch.stack([right, true_up, -forward])  # rows: camera axes in world coordinates
    trans = -(rot @ eye)
    top = torch.cat([rot, trans[:, None]], 1)
    bottom = torch.tensor([[0.0, 0.0, 0.0, 1.0]], dtype=eye.dtype, device=eye.device)
    return torch.cat([top, bottom], 0)


def perspective(fov_y_deg: float, aspect: float, near: float, far: float, dtype=torch.float32, device=None) -> torch.Tensor:
    """OpenGL perspective projection ``[4, 4]``."""
    if not 0 < fov_y_deg < 180:
        raise ValueError(f"field of view must be in (0, 180) degrees, got {fov_y_deg}")
    if not 0 < near < far:
        raise ValueError(f"need 0 < near < far, got near={near}, far={far}")
    f = 1.0 / math.tan(math.radians(fov_y_deg) / 2)
    m = torch.zeros(4, 4, dtype=dtype, device=device)
    m[0, 0] = f / aspect
    m[1, 1] = f
    m[2, 2] = (far + near) / (near - far)
    m[2, 3] = 2 * far * near / (near - far)
    m[3, 2] = -1.0
    return m


def orthographic(half_height: float, aspect: float, near: float, far: float, dtype=torch.float32, device=None) -> torch.Tensor:
    """OpenGL orthographic projection ``[4, 4]`` of a view volume ``2 half_height`` tall (w stays 1)."""
    if not half_height > 0:
        raise ValueError(f"orthographic half height must be > 0, got {half_height}")
    if not near < far:
        raise ValueError(f"need near < far, got near={near}, far={far}")
    m = torch.zeros(4, 4, dtype=dtype, device=device)
    m[0, 0] = 1.0 / (half_height * aspect)
    m[1, 1] = 1.0 / half_height
    m[2, 2] = -2.0 / (far - near)
    m[2, 3] = -(far + near) / (far - near)
    m[3, 3] = 1.0
    return m


@dataclasses.dataclass(frozen=True)
class Camera:
    """A perspective camera, or an orthographic one when ``ortho_half_height`` is set.

    Attributes:
        eye, target, up: float tensors ``[3]`` (world space).
        fov_y: vertical field of view in degrees (perspective).
        near, far: clip distances.
        ortho_half_height: half the height of an orthographic view volume (world units), or None.
    """

    eye: torch.Tensor
    target: torch.Tensor
    up: torch.Tensor
    fov_y: float = 60.0
    near: float = 0.01
    far: float = 100.0
    ortho_half_height: float | None = None

    def clip_matrix(self, aspect: float = 1.0, eye: torch.Tensor | None = None, target: torch.Tensor | None = None) -> torch.Tensor:
        """World → clip matrix ``[4, 4]``; ``eye``/``target`` override the stored pose (e.g. optimised ones)."""
        eye = self.eye if eye is None else eye
        target = self.target if target is None else target
        if self.ortho_half_height is not None:
            proj = orthographic(self.ortho_half_height, aspect, self.near, self.far, dtype=eye.dtype, device=eye.device)
        else:
            proj = perspective(self.fov_y, aspect, self.near, self.far, dtype=eye.dtype, device=eye.device)
        return proj @ look_at(eye, target, self.up.to(eye))

    def to(self, device) -> "Camera":
        return dataclasses.replace(self, eye=self.eye.to(device), target=self.target.to(device), up=self.up.to(device))

    @classmethod
    def from_opencv(cls, K, R, t, image_size: tuple[int, int], near: float = 0.01, far: float = 100.0,
                    tolerance: float = 1.0) -> "Camera":
        """The camera of a photograph calibrated the OpenCV way: intrinsics ``K`` ``[3, 3]`` (pixels) and
        extrinsics ``R`` ``[3, 3]``, ``t`` ``[3]`` mapping world to camera coordinates (x right, y down,
        z forward; ``x_cam = R x_world + t``), for an image of ``image_size = (H, W)`` pixels.

        drot's cameras are pinhole cameras with square pixels and the principal point at the image
        centre: ``fx`` and ``fy`` must agree, and ``(cx, cy)`` must lie within ``tolerance`` pixels of
        ``((W - 1) / 2, (H - 1) / 2)`` (OpenCV's pixel centres are integers); crop or pad the image
        around the principal point first otherwise (docs/photographs.md)."""
        K, R, t = (torch.as_tensor(a, dtype=torch.float64) for a in (K, R, t))
        h, w = (int(x) for x in image_size)
        fx, fy, cx, cy = float(K[0, 0]), float(K[1, 1]), float(K[0, 2]), float(K[1, 2])
        if abs(fx - fy) > 1e-3 * max(fx, fy) or abs(float(K[0, 1])) > 1e-6 * fx:
            raise ValueError(f"Camera.from_opencv: drot needs square pixels without skew, got fx {fx}, fy {fy}, "
                             f"skew {float(K[0, 1])}; resample the image so that fx = fy")
        if abs(cx - (w - 1) / 2) > tolerance or abs(cy - (h - 1) / 2) > tolerance:
            raise ValueError(f"Camera.from_opencv: the principal point ({cx:g}, {cy:g}) is not at the centre "
                             f"({(w - 1) / 2:g}, {(h - 1) / 2:g}) of the {w}x{h} image; crop or pad the image so "
                             f"that it is (docs/photographs.md)")
        eye = -R.T @ t
        forward, down = R.T @ torch.tensor([0.0, 0.0, 1.0], dtype=R.dtype), R.T @ torch.tensor([0.0, 1.0, 0.0], dtype=R.dtype)
        fov_y = math.degrees(2 * math.atan(h / (2 * fy)))
        return cls(eye.float(), (eye + forward).float(), (-down).float(), fov_y, near, far)


def square_views(distance: float = 2.0, jitter: float = 0.1, center=(0.0, 0.0, 0.0), fov_y: float = 60.0,
                 near: float = 0.01, far: float = 100.0, seed: int = 0) -> list[Camera]:
    """The paper's "square" rig: six cameras on ±x, ±y, ±z at ``distance`` from ``center``.

    Each eye is displaced by a seeded random offset of at most ``jitter`` per axis, so that no two
    views are exact mirror images.
    """
    gen = torch.Generator().manual_seed(seed)
    c = torch.tensor(center, dtype=torch.float32)
    axes = [(1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1)]
    ups = [(0, 1, 0), (0, 1, 0), (0, 0, -1), (0, 0, 1), (0, 1, 0), (0, 1, 0)]
    cams = []
    for axis, up in zip(axes, ups):
        offset = (torch.rand(3, generator=gen) * 2 - 1) * jitter
        eye = c + distance * torch.tensor(axis, dtype=torch.float32) + offset
        cams.append(Camera(eye, c.clone(), torch.tensor(up, dtype=torch.float32), fov_y, near, far))
    return cams


def random_views(count: int = 4, distance: float = 8.0, elevation=(0.0, 360.0), azimuth=(-180.0, 180.0),
                 center=(0.0, 0.0, 0.0), fov_y: float = 60.0, near: float = 0.01, far: float = 100.0,
                 seed: int = 0) -> list[Camera]:
    """``count`` cameras looking at ``center`` from random directions at ``distance`` (the paper's
    CUBE rig): elevation and azimuth (degrees) drawn uniformly from the given ranges with ``seed``.

    The direction is ``(cos e sin a, sin e, cos e cos a)``; each camera's up vector is the direction's
    derivative in elevation, so every elevation (over the poles too) gives a valid view.
    """
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"random views: count must be a positive integer, got {count!r}")
    for name, rng in (("elevation", elevation), ("azimuth", azimuth)):
        if len(rng) != 2 or not float(rng[0]) <= float(rng[1]):
            raise ValueError(f"random views: {name} must be a [low, high] range in degrees, got {rng!r}")
    gen = torch.Generator().manual_seed(seed)
    c = torch.tensor(center, dtype=torch.float32)
    cams = []
    for _ in range(count):
        u = torch.rand(2, generator=gen, dtype=torch.float64)
        e = math.radians(elevation[0] + (elevation[1] - elevation[0]) * float(u[0]))
        a = math.radians(azimuth[0] + (azimuth[1] - azimuth[0]) * float(u[1]))
        direction = torch.tensor([math.cos(e) * math.sin(a), math.sin(e), math.cos(e) * math.cos(a)])
        up = torch.tensor([-math.sin(e) * math.sin(a), math.cos(e), -math.sin(e) * math.cos(a)])
        cams.append(Camera(c + distance * direction, c.clone(), up, fov_y, near, far))
    return cams
