"""The parameter space of a black-box renderer: continuous and discrete parameters, their vector
encoding and the sampling distribution of training settings (Kips et al. §7.1).

A *setting* is a dict ``name -> value`` (a float for a continuous parameter, one of its choices for
a discrete one). A *vector* is its encoding, float32 ``[D]`` (a batch: ``[B, D]``):

* a continuous parameter takes one slot, its value normalised to ``[0, 1]`` over ``[low, high]``;
* a discrete parameter takes ``len(choices)`` slots, a one-hot (a *relaxed* vector may hold any
  probabilities there: the imitator accepts them, :meth:`ParameterSpace.project` makes them hard).

Sampling (:meth:`ParameterSpace.sample`): each continuous coordinate comes, with probability
``uniform_mix``, from U(0, 1), else from a multivariate Gaussian fitted to example settings
(:meth:`ParameterSpace.fit`; without examples: from U(0, 1) too), clipped to [0, 1]. Discrete
choices are drawn with the examples' frequencies mixed with uniform in the same proportion.
"""
from __future__ import annotations

import dataclasses
import difflib
from typing import Any, Mapping, Sequence

import torch

__all__ = ["Continuous", "Discrete", "ParameterSpace"]


@dataclasses.dataclass(frozen=True)
class Continuous:
    """A real parameter in ``[low, high]`` (encoded as one slot, normalised to [0, 1])."""

    name: str
    low: float
    high: float

    def __post_init__(self):
        if not (float(self.high) > float(self.low)):
            raise ValueError(f"parameter {self.name!r}: high ({self.high}) must exceed low ({self.low})")

    @property
    def size(self) -> int:
        return 1


@dataclasses.dataclass(frozen=True)
class Discrete:
    """A choice among ``choices`` (strings), encoded one-hot."""

    name: str
    choices: tuple[str, ...]

    def __post_init__(self):
        object.__setattr__(self, "choices", tuple(self.choices))
        if len(self.choices) < 2 or len(set(self.choices)) != len(self.choices):
            raise ValueError(f"parameter {self.name!r}: needs at least two distinct choices, got {self.choices}")

    @property
    def size(self) -> int:
        return len(self.choices)


class ParameterSpace:
    """Continuous and discrete parameters, their encoding and their sampling distribution.

    Args:
        parameters: the parameters, in vector order (unique names).
        uniform_mix: probability of drawing a coordinate uniformly rather than from the fit (in [0, 1]).
        mean, cov: the Gaussian over the continuous coordinates (normalised units; ``[C]``, ``[C, C]``).
        frequencies: per discrete parameter, the example frequencies of its choices.
    """

    def __init__(self, parameters: Sequence[Continuous | Discrete], uniform_mix: float = 0.5,
                 mean: Sequence[float] | None = None, cov: Sequence[Sequence[float]] | None = None,
                 frequencies: Mapping[str, Sequence[float]] | None = None) -> None:
        self.parameters = tuple(parameters)
        names = [p.name for p in self.parameters]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"parameter names must be non-empty and unique, got {names}")
        if not 0.0 <= uniform_mix <= 1.0:
            raise ValueError(f"uniform_mix must be in [0, 1], got {uniform_mix}")
        self.uniform_mix = float(uniform_mix)
        self.slices: dict[str, slice] = {}
        start = 0
        for p in self.parameters:
            self.slices[p.name] = slice(start, start + p.size)
            start += p.size
        self.dim = start
        self.continuous = [p for p in self.parameters if isinstance(p, Continuous)]
        self.discrete = [p for p in self.parameters if isinstance(p, Discrete)]
        self.continuous_index = torch.tensor([self.slices[p.name].start for p in self.continuous], dtype=torch.long)
        c = len(self.continuous)
        self.mean = None if mean is None else torch.as_tensor(mean, dtype=torch.float64).reshape(c)
        self.cov = None if cov is None else torch.as_tensor(cov, dtype=torch.float64).reshape(c, c)
        self.frequencies = {k: [float(x) for x in v] for k, v in (frequencies or {}).items()}

    # ----------------------------------------------------------------------------- lookup
    @property
    def names(self) -> list[str]:
        return [p.name for p in self.parameters]

    def __getitem__(self, name: str) -> Continuous | Discrete:
        for p in self.parameters:
            if p.name == name:
                return p
        raise KeyError(self._unknown(name))

    def _unknown(self, name: str) -> str:
        close = difflib.get_close_matches(str(name), self.names, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"unknown parameter {name!r}{hint}; parameters: {', '.join(self.names)}"

    # --------------------------------------------------------------------------- encoding
    def encode(self, settings: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> torch.Tensor:
        """Settings → vectors: float32 ``[D]`` for one dict, ``[B, D]`` for a list of dicts.

        Raises ValueError naming the parameter on a missing, unknown, out-of-range or unknown-choice value."""
        single = isinstance(settings, Mapping)
        rows = [settings] if single else list(settings)
        out = torch.zeros(len(rows), self.dim)
        for b, s in enumerate(rows):
            extra = [k for k in s if k not in self.slices]
            if extra:
                raise ValueError(self._unknown(extra[0]))
            for p in self.parameters:
                if p.name not in s:
                    raise ValueError(f"setting {b} has no value for parameter {p.name!r}")
                v, sl = s[p.name], self.slices[p.name]
                if isinstance(p, Continuous):
                    try:
                        v = float(v)
                    except (TypeError, ValueError):
                        raise ValueError(f"parameter {p.name!r}: expected a number, got {v!r}") from None
                    if not p.low <= v <= p.high:
                        raise ValueError(f"parameter {p.name!r}: {v} is outside its range [{p.low}, {p.high}]")
                    out[b, sl.start] = (v - p.low) / (p.high - p.low)
                else:
                    if v not in p.choices:
                        raise ValueError(f"parameter {p.name!r}: unknown choice {v!r}; choices: {', '.join(p.choices)}")
                    out[b, sl.start + p.choices.index(v)] = 1.0
        return out[0] if single else out

    def check_vectors(self, vectors: torch.Tensor, name: str = "vectors") -> torch.Tensor:
        """``vectors`` as float ``[B, D]`` (a ``[D]`` becomes ``[1, D]``); ValueError on a wrong width or NaN."""
        v = torch.as_tensor(vectors)
        if v.ndim == 1:
            v = v[None]
        if v.ndim != 2 or v.shape[1] != self.dim or not v.is_floating_point():
            raise ValueError(f"{name} must be float [B, {self.dim}] ({', '.join(self.names)}), got "
                             f"{v.dtype} {tuple(v.shape)}")
        if not bool(torch.isfinite(v).all()):
            raise ValueError(f"{name} contains NaN or inf")
        return v

    def decode(self, vectors: torch.Tensor) -> list[dict[str, Any]]:
        """Vectors ``[B, D]`` → settings (continuous clamped to the range, discrete by argmax)."""
        v = self.check_vectors(vectors).detach().double().cpu()
        out = []
        for row in v:
            s: dict[str, Any] = {}
            for p in self.parameters:
                sl = self.slices[p.name]
                if isinstance(p, Continuous):
                    s[p.name] = p.low + float(row[sl.start].clamp(0, 1)) * (p.high - p.low)
                else:
                    s[p.name] = p.choices[int(row[sl].argmax())]
            out.append(s)
        return out

    def project(self, vectors: torch.Tensor) -> torch.Tensor:
        """Clamp continuous slots to [0, 1] and make every discrete block a hard one-hot (argmax); ``[B, D]``."""
        v = self.check_vectors(vectors).detach().clone()
        v[:, self.continuous_index] = v[:, self.continuous_index].clamp(0, 1)
        for p in self.discrete:
            sl = self.slices[p.name]
            v[:, sl] = torch.nn.functional.one_hot(v[:, sl].argmax(1), p.size).to(v.dtype)
        return v

    def choice_index(self, vectors: torch.Tensor, name: str) -> torch.Tensor:
        """Index of the chosen (argmax) choice of discrete parameter ``name``: long ``[B]``."""
        p = self[name]
        if not isinstance(p, Discrete):
            raise ValueError(f"parameter {name!r} is continuous, not discrete")
        return self.check_vectors(vectors)[:, self.slices[name]].argmax(1)

    # --------------------------------------------------------------------------- sampling
    def fit(self, examples: Sequence[Mapping[str, Any]], uniform_mix: float | None = None) -> "ParameterSpace":
        """A copy whose Gaussian (continuous) and frequencies (discrete) are fitted to ``examples``."""
        x = self.encode(list(examples)).double()
        if x.shape[0] < 2:
            raise ValueError("fit needs at least two example settings")
        cont = x[:, self.continuous_index]
        mean = cont.mean(0)
        cov = torch.cov(cont.T).reshape(len(self.continuous), len(self.continuous)) + 1e-4 * torch.eye(len(self.continuous))
        freq = {p.name: x[:, self.slices[p.name]].mean(0).tolist() for p in self.discrete}
        return ParameterSpace(self.parameters, self.uniform_mix if uniform_mix is None else uniform_mix,
                              mean.tolist(), cov.tolist(), freq)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` random vectors, float32 ``[n, D]`` (hard one-hots), from the mixed distribution."""
        if n < 0:
            raise ValueError(f"sample: n must be >= 0, got {n}")
        g = generator
        out = torch.zeros(n, self.dim)
        c = len(self.continuous)
        if c:
            values = torch.rand(n, c, generator=g, dtype=torch.float64)
            if self.mean is not None:
                z = torch.randn(n, c, generator=g, dtype=torch.float64)
                gauss = self.mean + z @ torch.linalg.cholesky(self.cov).T
                use_gauss = torch.rand(n, 1, generator=g, dtype=torch.float64) >= self.uniform_mix
                values = torch.where(use_gauss, gauss.clamp(0, 1), values)
            out[:, self.continuous_index] = values.float()
        for p in self.discrete:
            probs = torch.full((p.size,), 1.0 / p.size, dtype=torch.float64)
            if p.name in self.frequencies:
                probs = self.uniform_mix * probs + (1 - self.uniform_mix) * torch.tensor(self.frequencies[p.name], dtype=torch.float64)
            idx = torch.multinomial(probs, n, replacement=True, generator=g) if n else torch.zeros(0, dtype=torch.long)
            out[:, self.slices[p.name]] = torch.nn.functional.one_hot(idx, p.size).float()
        return out

    def shift(self, vectors: torch.Tensor, index: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Resample one parameter per row (the sensitivity loss's ``g'``): row ``b`` gets parameter
        ``index[b]`` (position in :attr:`parameters`) redrawn — uniformly for a continuous one, another
        choice for a discrete one — and keeps every other coordinate. Returns ``[B, D]``."""
        v = self.check_vectors(vectors).clone()
        index = torch.as_tensor(index, dtype=torch.long).reshape(-1)
        if index.shape[0] != v.shape[0] or (index < 0).any() or (index >= len(self.parameters)).any():
            raise ValueError(f"shift: index must be [B] = [{v.shape[0]}] parameter positions in [0, {len(self.parameters)})")
        u = torch.rand(v.shape[0], generator=generator)
        for b, j in enumerate(index.tolist()):
            p = self.parameters[j]
            sl = self.slices[p.name]
            if isinstance(p, Continuous):
                v[b, sl.start] = u[b]
            else:
                cur = int(v[b, sl].argmax())
                new = (cur + 1 + int(u[b] * (p.size - 1))) % p.size
                v[b, sl] = torch.nn.functional.one_hot(torch.tensor(new), p.size).float()
        return v

    # -------------------------------------------------------------------------- files
    def to_dict(self) -> dict[str, Any]:
        """A plain-data description (what checkpoints store)."""
        params = [{"name": p.name, "low": p.low, "high": p.high} if isinstance(p, Continuous)
                  else {"name": p.name, "choices": list(p.choices)} for p in self.parameters]
        return {"parameters": params, "uniform_mix": self.uniform_mix,
                "mean": None if self.mean is None else self.mean.tolist(),
                "cov": None if self.cov is None else self.cov.tolist(), "frequencies": self.frequencies}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ParameterSpace":
        try:
            params = [Discrete(p["name"], tuple(p["choices"])) if "choices" in p
                      else Continuous(p["name"], float(p["low"]), float(p["high"])) for p in data["parameters"]]
            return cls(params, data.get("uniform_mix", 0.5), data.get("mean"), data.get("cov"), data.get("frequencies"))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a parameter-space description: missing or bad key {exc}") from None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ParameterSpace) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"ParameterSpace({', '.join(self.names)}; dim={self.dim})"
