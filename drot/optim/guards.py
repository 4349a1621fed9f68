"""Guards of the loop: a non-finite loss or parameter stops the run, a diverging one is warned about.

:class:`StepGuard` is called twice per iteration:

* :meth:`~StepGuard.check_loss` before the backward pass: a NaN/inf loss (or regulariser term)
  raises :class:`OptimizationDiverged` at once, naming the iteration;
* :meth:`~StepGuard.check_parameters` after the optimiser's step: a NaN/inf parameter raises
  :class:`OptimizationDiverged` naming the iteration, the parameter and its worst value; a parameter
  further than :data:`DIVERGENCE_FACTOR` × its *span* from its reference value gives one
  :class:`DivergenceWarning` per parameter.

The reference value is the target value when known (else the start value); the span is the width
of the parameter's ``init_range`` (or ``max |reference| + 1`` when it has none), at least the
distance of the start from the reference. The exception carries the history so far and the last
finite parameter values.
"""
from __future__ import annotations

import math
import warnings
from typing import Any

import torch

from ..scene.scene import Scene

#: How many spans away from its reference value a parameter may go before the divergence warning.
DIVERGENCE_FACTOR = 10.0


class OptimizationDiverged(RuntimeError):
    """The loss or a parameter became NaN or inf.

    Attributes:
        iteration: the iteration at which it happened.
        parameter: the parameter's name, or None when the loss itself was not finite.
        value: the offending value (the loss, or the parameter's worst element).
        history: the records of the iterations completed before (as ``OptimizationResult.history``).
        last_finite: name → the parameter values before the failing step (all finite).
    """

    def __init__(self, message: str, *, iteration: int, parameter: str | None, value: float,
                 history: list[dict[str, Any]], last_finite: dict[str, torch.Tensor]) -> None:
        super().__init__(message)
        self.iteration, self.parameter, self.value = iteration, parameter, value
        self.history, self.last_finite = history, last_finite


class DivergenceWarning(UserWarning):
    """A parameter went far outside its plausible range (the run is probably diverging)."""


def _worst(value: torch.Tensor) -> float:
    """The first non-finite element of ``value`` (NaN before inf)."""
    bad = value[~torch.isfinite(value)]
    return float(bad[torch.isnan(bad)][0]) if bool(torch.isnan(bad).any()) else float(bad[0])


class StepGuard:
    """Finiteness and divergence checks of one run (see the module docstring).

    Args:
        scene: the scene (its parameters' ``init_range``); start: the start values;
        target: the target values when known; lr: the learning rate (named in the warning);
        device: where the parameters live.
    """

    def __init__(self, scene: Scene, start: dict[str, torch.Tensor], target: dict[str, torch.Tensor] | None,
                 lr: float, device: torch.device | str = "cpu") -> None:
        self.lr = lr
        self.reference_name = "target" if target is not None else "start"
        self.reference: dict[str, torch.Tensor] = {}
        self.limit: dict[str, float] = {}
        self.why: dict[str, str] = {}
        for p in scene.parameters:
            start_value = start[p.name].detach().float().cpu()
            ref = (target[p.name] if target is not None else start[p.name]).detach().float()
            off = float((start_value - ref.cpu()).abs().max()) if ref.numel() else 0.0
            if p.init_range is not None and p.init_range[1] > p.init_range[0]:
                span = float(p.init_range[1] - p.init_range[0])
                self.why[p.name] = f"the span {span:g} of its init_range {tuple(p.init_range)}"
            else:
                span = (float(ref.abs().max()) if ref.numel() else 0.0) + 1.0
                self.why[p.name] = f"max |reference| + 1 = {span:g}"
            self.reference[p.name] = ref.to(device)
            self.limit[p.name] = DIVERGENCE_FACTOR * max(span, off)
        self.warned: set[str] = set()
        self.last_finite: dict[str, torch.Tensor] = {}

    def check_loss(self, it: int, loss: torch.Tensor, regularizer: torch.Tensor | None,
                   params: dict[str, torch.Tensor], history: list[dict[str, Any]]) -> None:
        """Raise when the loss is not finite; else keep ``params`` as the last finite values."""
        value = float(loss.detach())
        self.last_finite = {k: v.detach().clone() for k, v in params.items()}
        if math.isfinite(value):
            return
        part = ""
        if regularizer is not None and not math.isfinite(float(regularizer.detach())):
            part = f" (the regularizer's term is {float(regularizer.detach())})"
        raise OptimizationDiverged(
            f"drot.optimize: the loss became {value} at iteration {it}{part}; the parameters before it are "
            f"finite (exception.last_finite), the history of the {len(history)} iteration(s) before it is "
            f"exception.history", iteration=it, parameter=None, value=value, history=list(history),
            last_finite=self.last_finite)

    def check_parameters(self, it: int, params: dict[str, torch.Tensor], history: list[dict[str, Any]],
                         grads: dict[str, torch.Tensor | None] | None = None) -> None:
        """After the step of iteration ``it``: raise on a non-finite parameter, warn once on a diverging one
        (``grads``: each parameter's gradient, when ``params`` are not the leaf tensors themselves)."""
        with torch.no_grad():
            for name, value in params.items():
                ref = self.reference[name]
                distance = float((value - ref).abs().max()) if value.numel() else 0.0
                if not math.isfinite(distance):
                    bad = _worst(value.detach())
                    g = value.grad if grads is None else grads.get(name)
                    grad = "" if g is None or bool(torch.isfinite(g).all()) else \
                        " (its gradient was not finite)"
                    raise OptimizationDiverged(
                        f"drot.optimize: parameter {name!r} became {bad} at the step of iteration {it}{grad} "
                        f"(learning rate {self.lr:g}); exception.last_finite holds the values before that step, "
                        f"exception.history the {len(history)} iteration(s) before it", iteration=it,
                        parameter=name, value=bad, history=list(history), last_finite=self.last_finite)
                if distance > self.limit[name] and name not in self.warned:
                    self.warned.add(name)
                    warnings.warn(
                        f"drot.optimize: parameter {name!r} is {distance:.4g} away from its {self.reference_name} "
                        f"value at iteration {it}, more than {DIVERGENCE_FACTOR:g} x {self.why[name]}: the run is "
                        f"probably diverging (learning rate {self.lr:g} too high?)", DivergenceWarning, stacklevel=3)
