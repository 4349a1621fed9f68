"""The optimisation loop shared by every application: settings, target resolution, steps, schedule, losses."""
from .loop import OptimizationResult, OptimizeSettings, optimize

__all__ = ["optimize", "OptimizeSettings", "OptimizationResult"]
