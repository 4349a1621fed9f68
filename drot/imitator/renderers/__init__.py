"""Black-box renderers: the AR lipstick try-on (:mod:`.tryon`) and Mitsuba 3's scalar path tracer
(:mod:`.mitsuba_scene`, needs ``pip install "drot[mitsuba]"``; imported only when used)."""
from .tryon import EXAMPLE_LIPSTICKS, TryOnRenderer, tryon_space

__all__ = ["TryOnRenderer", "tryon_space", "EXAMPLE_LIPSTICKS"]
