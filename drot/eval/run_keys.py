"""What of a run's settings its key hashes, so that the run stores written earlier stay valid.

A sweep's run key (:class:`drot.eval.sweep.RunSpec`) hashes its ``config``; ``drot-bench`` and
Table 1 put the run's settings in it, by flat name, through :func:`key_settings`. Settings that
were added after stores existed (:data:`ADDED_LATER`: multi-start's) are named only in the keys of
the runs that use them, i.e. of several starts; a single-start run keeps the key it had before
they existed, so resuming an old store reuses its runs instead of redoing them.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Iterable

from ..optim.settings import DEFAULTS, OptimizeSettings, StartSettings

__all__ = ["ADDED_LATER", "NAMED_WHEN_CHANGED", "key_settings"]

#: Settings added later still, each named in a key only when it differs from its default (so every
#: run, single- or multi-start, keeps the key it had before they existed).
NAMED_WHEN_CHANGED = ("jump_interval", "appearance_gradients", "optimizer", "translation_frame", "sinkhorn_reach",
                      "offset_smoothness", "l2_supersample")
#: Settings added after run stores existed: named in a key only for multi-start runs.
ADDED_LATER = tuple(f.name for f in dataclasses.fields(StartSettings) if f.name not in NAMED_WHEN_CHANGED)


def key_settings(settings: OptimizeSettings, leave_out: Iterable[str] = ()) -> dict[str, Any]:
    """Every setting by its flat name, for a run key: without ``leave_out`` (those that do not change
    a run's result) and, with one start, without :data:`ADDED_LATER`. A multi-start run's key names
    every one of them, so a later change of their defaults gives its runs new keys."""
    skip = set(leave_out) | (set() if settings.multistart.starts > 1 else set(ADDED_LATER))
    skip |= {k for k in NAMED_WHEN_CHANGED if getattr(settings, k) == DEFAULTS[k]}
    return {k: v for k, v in settings.flat().items() if k not in skip}
