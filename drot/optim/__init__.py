"""Optimisation: the loop every application shares, and its pieces for loops of your own.

* :mod:`~drot.optim.settings` — :class:`OptimizeSettings` and its groups (schedule, matching, L2, recording);
* :mod:`~drot.optim.targets` — what to match (images, values, a scene) and where to start;
* :mod:`~drot.optim.rgbxy` — :class:`RgbxyLoss`, the matched-RGBXY loss usable in any loop;
* :mod:`~drot.optim.steps` — the RGBXY and standard iterations, each handed one evaluated state;
* :mod:`~drot.optim.schedule` — the strategy registry and the hybrid-gradient scheduler;
* :mod:`~drot.optim.losses`, :mod:`~drot.optim.multiscale` — losses; L2 resolution schedules;
* :mod:`~drot.optim.recording`, :mod:`~drot.optim.result` — history, frames, progress; the result;
* :mod:`~drot.optim.checks`, :mod:`~drot.optim.guards`, :mod:`~drot.optim.resources` — checks before and
  after a run, the loop's finiteness and divergence guards, the memory guard;
* :mod:`~drot.optim.loop` — :func:`optimize`.
"""
from .guards import DivergenceWarning, OptimizationDiverged
from .loop import optimize
from .result import OptimizationResult
from .rgbxy import RgbxyLoss
from .schedule import STRATEGIES, GradientSchedule, Strategy, register_strategy
from .settings import L2Settings, MatchingSettings, OptimizeSettings, RecordSettings, ScheduleSettings, StartSettings

__all__ = ["optimize", "OptimizeSettings", "OptimizationResult", "ScheduleSettings", "MatchingSettings",
           "L2Settings", "RecordSettings", "StartSettings", "RgbxyLoss", "GradientSchedule", "Strategy", "STRATEGIES",
           "register_strategy", "OptimizationDiverged", "DivergenceWarning"]
