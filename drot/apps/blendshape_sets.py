"""Blendshape sets: a neutral mesh and ``n`` expression displacements (:class:`BlendshapeSet`), and a
user's set read from mesh files (:func:`load_blendshapes`). Re-exported by :mod:`drot.apps.blendshapes`.

Every input is checked where it enters, the message naming the file or the blendshape's index and
name: an empty set, deltas of the wrong shape or with NaN / inf, expression files whose vertices or
faces differ from the neutral's, weights of the wrong length or non-finite.
"""
from __future__ import annotations

import dataclasses
import os
import warnings
from pathlib import Path
from typing import Sequence

import torch

from ..scene.mesh import Mesh
from ..scene.mesh_files import load_mesh
from .inputs import as_tensor, check_color, check_path_list

#: Default colour of a user's neutral mesh without vertex colours (the procedural head's skin).
SKIN = (0.93, 0.72, 0.58)


@dataclasses.dataclass(frozen=True)
class BlendshapeSet:
    """A neutral mesh and ``n`` expression displacements.

    Attributes:
        neutral: ``b₀`` (with colours).
        deltas: float32 ``[n, V, 3]``, ``bᵢ − b₀`` (n >= 1; array-likes are converted).
        names: the ``n`` expression names.

    Raises:
        TypeError: ``neutral`` is not a Mesh, a name is not a string.
        ValueError: no blendshape, deltas not ``[n, V, 3]``, NaN / inf deltas (naming the blendshape's
            index and name), names of the wrong count.
    """

    neutral: Mesh
    deltas: torch.Tensor
    names: tuple[str, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.neutral, Mesh):
            raise TypeError(f"BlendshapeSet neutral must be a drot Mesh, got {type(self.neutral).__name__}")
        names = (self.names,) if isinstance(self.names, str) else tuple(self.names)
        object.__setattr__(self, "names", names)
        if not isinstance(self.deltas, torch.Tensor):
            object.__setattr__(self, "deltas", as_tensor(self.deltas, "blendshape deltas", None, torch.float32))
        nv = self.neutral.num_vertices
        if self.deltas.ndim != 3 or tuple(self.deltas.shape[1:]) != (nv, 3):
            raise ValueError(f"blendshape deltas must be [n, {nv}, 3] (n blendshapes x the neutral's {nv} vertices), "
                             f"got {list(self.deltas.shape)}")
        if self.deltas.shape[0] == 0:
            raise ValueError("the blendshape set is empty (deltas [0, V, 3]): expected at least one blendshape")
        if len(self.names) != self.deltas.shape[0]:
            raise ValueError(f"{len(self.names)} names for {self.deltas.shape[0]} blendshapes")
        bad = [n for n in self.names if not isinstance(n, str)]
        if bad:
            raise TypeError(f"blendshape names must be strings, got {bad[0]!r} ({type(bad[0]).__name__})")
        finite = torch.isfinite(self.deltas).reshape(len(self.names), -1).all(1)
        if not bool(finite.all()):
            i = int((~finite).nonzero()[0])
            count = int((~torch.isfinite(self.deltas[i])).any(1).sum())
            raise ValueError(f"blendshape {i} ({self.names[i]!r}) has NaN or inf deltas at {count} of {nv} vertices; "
                             f"expected finite displacements ({int((~finite).sum())} blendshape(s) affected)")

    @property
    def count(self) -> int:
        return int(self.deltas.shape[0])

    def mesh(self, weights: torch.Tensor) -> Mesh:
        """The blended mesh ``b₀ + Σ wᵢ (bᵢ − b₀)`` for weights ``[n]`` (finite; TypeError / ValueError naming ``weights``)."""
        w = as_tensor(weights, "weights", (self.count,))
        return dataclasses.replace(self.neutral, vertices=self.neutral.vertices + torch.einsum("n,nvk->vk", w, self.deltas))


def load_blendshapes(neutral: str | os.PathLike, shapes: Sequence[str | os.PathLike],
                     names: Sequence[str] | None = None, color: Sequence[float] = SKIN) -> BlendshapeSet:
    """A user's blendshape set: a neutral mesh file and one mesh file per expression.

    Every file must have the neutral's vertex count and faces (same topology, same vertex order);
    files are read with :func:`drot.load_mesh` (vertex order kept). The neutral's vertex colours
    are used when it has them, else the uniform ``color``. An expression file identical to the
    neutral gives a warning (its weight has no effect, so it cannot be recovered).

    Raises:
        FileNotFoundError, drot.MeshError: a missing or unreadable file, NaN / inf vertices (from
            :func:`drot.load_mesh`, naming the file).
        TypeError: ``shapes`` a single path rather than a list, a name that is not a string.
        ValueError: no expression given, names of the wrong count, a bad ``color``, or a file whose
            vertices or faces do not match the neutral's (the message names the file, its index and
            both shapes).
    """
    shapes = check_path_list(shapes, "shapes")
    if not shapes:
        raise ValueError("load_blendshapes needs at least one expression mesh file (shapes is empty)")
    names = [Path(p).stem for p in shapes] if names is None else check_path_list(names, "names", "strings")
    if len(names) != len(shapes):
        raise ValueError(f"{len(names)} names given for {len(shapes)} expression files")
    rgb = check_color(color, "color")
    base = load_mesh(neutral)
    deltas = []
    for i, path in enumerate(shapes):
        m = load_mesh(path)
        if m.vertices.shape != base.vertices.shape:
            raise ValueError(f"blendshape {i} ({path}): vertices have shape {tuple(m.vertices.shape)} but the neutral "
                             f"mesh {neutral} has {tuple(base.vertices.shape)}: every expression needs the neutral's "
                             f"topology")
        if m.faces.shape != base.faces.shape or not torch.equal(m.faces, base.faces):
            raise ValueError(f"blendshape {i} ({path}): faces (shape {tuple(m.faces.shape)}) differ from the neutral "
                             f"mesh {neutral}'s (shape {tuple(base.faces.shape)}): every expression needs the neutral's "
                             f"topology and vertex order")
        deltas.append(m.vertices - base.vertices)
        if not bool(deltas[-1].any()):
            warnings.warn(f"blendshape {i} ({path}) is identical to the neutral mesh {neutral}: its weight moves "
                          f"nothing and cannot be recovered", UserWarning, stacklevel=2)
    if base.colors is None:
        base = dataclasses.replace(base, colors=torch.tensor(rgb, dtype=torch.float32).expand_as(base.vertices).clone())
    return BlendshapeSet(base, torch.stack(deltas), tuple(names))
