"""Mitsuba 3's scalar path tracer as a black box: an object on a plane under a point light.

The ``scalar_rgb`` variant has no gradients (Mitsuba's differentiable variants are ``*_ad_*``).
Needs ``pip install "drot[mitsuba]"``; importing this module without Mitsuba raises ImportError
naming the extra.

Scene: a camera looking down at an object standing on a grey plane, lit by a point light and a dim
constant environment; a path tracer (max depth 4), ``spp`` samples per pixel, box filter, output
``clip(L, 0, 1) ** (1 / 2.2)``, float32 ``[64, 64, 3]``.

Parameters (:func:`mitsuba_space`): ``r, g, b`` ∈ [0, 1] (the object's principled-BSDF base colour),
``roughness`` ∈ [0.05, 1], ``light_x`` ∈ [−1.5, 1.5] (the light's position across the scene),
``intensity`` ∈ [3, 30] (the light's radiant intensity) and ``shape`` ∈ {sphere, cube, cylinder}.

Scenes are built lazily, one per shape, in the process that renders (not pickled to workers).
The sampler is seeded per image (``seed``), so equal seeds give common random numbers.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

try:
    import drjit as dr
    import mitsuba as mi
except ImportError as exc:  # pragma: no cover - depends on the extra
    raise ImportError('the Mitsuba renderer needs the mitsuba package: pip install "drot[mitsuba]"') from exc

from ..blackbox import BlackBoxRenderer
from ..space import Continuous, Discrete, ParameterSpace

__all__ = ["MitsubaRenderer", "mitsuba_space", "EXAMPLE_MATERIALS", "SHAPES"]

SHAPES = ("sphere", "cube", "cylinder")

#: Example settings (plausible product shots) the sampling Gaussian is fitted to.
EXAMPLE_MATERIALS = [
    dict(r=0.8, g=0.1, b=0.1, roughness=0.3, light_x=0.8, intensity=12, shape="sphere"),
    dict(r=0.1, g=0.3, b=0.8, roughness=0.6, light_x=-0.5, intensity=10, shape="cube"),
    dict(r=0.9, g=0.8, b=0.2, roughness=0.2, light_x=0.2, intensity=15, shape="cylinder"),
    dict(r=0.2, g=0.7, b=0.3, roughness=0.8, light_x=-1.0, intensity=8, shape="sphere"),
    dict(r=0.6, g=0.6, b=0.6, roughness=0.4, light_x=1.2, intensity=20, shape="cube"),
    dict(r=0.5, g=0.2, b=0.6, roughness=0.1, light_x=0.0, intensity=18, shape="cylinder"),
]


def mitsuba_space(uniform_mix: float = 0.5) -> ParameterSpace:
    """The scene's parameter space, its Gaussian fitted to :data:`EXAMPLE_MATERIALS`."""
    space = ParameterSpace([Continuous("r", 0, 1), Continuous("g", 0, 1), Continuous("b", 0, 1),
                            Continuous("roughness", 0.05, 1.0), Continuous("light_x", -1.5, 1.5),
                            Continuous("intensity", 3.0, 30.0), Discrete("shape", SHAPES)], uniform_mix)
    return space.fit(EXAMPLE_MATERIALS)


def _shape(kind: str, T) -> dict:
    bsdf = {"type": "principled", "base_color": {"type": "rgb", "value": [0.5, 0.5, 0.5]}, "roughness": 0.5}
    if kind == "sphere":
        return {"type": "sphere", "center": [0, 0.45, 0], "radius": 0.45, "bsdf": bsdf}
    if kind == "cube":
        return {"type": "cube", "to_world": T().translate([0, 0.38, 0]).rotate([0, 1, 0], 30).scale(0.38), "bsdf": bsdf}
    return {"type": "cylinder", "to_world": T().rotate([1, 0, 0], -90).scale([0.35, 0.35, 0.9]), "bsdf": bsdf}


class MitsubaRenderer(BlackBoxRenderer):
    """Mitsuba 3 ``scalar_rgb`` path tracing of the scene above: ``renderer(vectors)`` → ``[B, 64, 64, 3]``.

    Args:
        resolution: image side in pixels.
        spp: samples per pixel.
        threads: Dr.Jit/Mitsuba worker threads in each rendering process.
    """

    needs_source = False

    def __init__(self, resolution: int = 64, spp: int = 32, threads: int = 1) -> None:
        super().__init__()
        if not isinstance(resolution, int) or resolution < 8:
            raise ValueError(f"Mitsuba resolution must be an integer >= 8, got {resolution!r}")
        if not isinstance(spp, int) or spp < 1:
            raise ValueError(f"spp must be an integer >= 1, got {spp!r}")
        self.space = mitsuba_space()
        self.resolution = (resolution, resolution)
        self.spp, self.threads = spp, threads
        self._scenes: dict[str, Any] = {}

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_scenes"] = {}
        return state

    def _scene(self, kind: str):
        if kind not in self._scenes:
            mi.set_variant("scalar_rgb")
            dr.set_thread_count(self.threads)
            T = mi.ScalarTransform4f
            res = self.resolution[0]
            scene = mi.load_dict({
                "type": "scene",
                "integrator": {"type": "path", "max_depth": 4},
                "sensor": {"type": "perspective", "fov": 38,
                           "to_world": T().look_at(origin=[0, 1.3, 2.3], target=[0, 0.4, 0], up=[0, 1, 0]),
                           "film": {"type": "hdrfilm", "width": res, "height": res, "rfilter": {"type": "box"},
                                    "pixel_format": "rgb"},
                           "sampler": {"type": "independent", "sample_count": self.spp}},
                "obj": _shape(kind, T),
                "plane": {"type": "rectangle", "to_world": T().rotate([1, 0, 0], -90).scale(4),
                          "bsdf": {"type": "diffuse", "reflectance": {"type": "rgb", "value": [0.55, 0.55, 0.55]}}},
                "light": {"type": "point", "position": [0, 2.5, 1.0], "intensity": {"type": "rgb", "value": [10] * 3}},
                "env": {"type": "constant", "radiance": {"type": "rgb", "value": [0.08, 0.08, 0.1]}},
            })
            self._scenes[kind] = (scene, mi.traverse(scene))
        return self._scenes[kind]

    def render_one(self, setting: Mapping[str, Any], source: np.ndarray | None, seed: int) -> np.ndarray:
        mi.set_variant("scalar_rgb")
        scene, params = self._scene(setting["shape"])
        params["obj.bsdf.base_color.value"] = mi.ScalarColor3f(setting["r"], setting["g"], setting["b"])
        params["obj.bsdf.roughness.value"] = float(setting["roughness"])
        params["light.position"] = mi.ScalarPoint3f(float(setting["light_x"]), 2.5, 1.0)
        params["light.intensity.value"] = mi.ScalarColor3f([float(setting["intensity"])] * 3)
        params.update()
        image = np.array(mi.render(scene, seed=int(seed) % 2**31), dtype=np.float32)
        return np.clip(image, 0, 1) ** (1 / 2.2)
