"""Checks of an SMPL model file's contents, in front of ``smplx.SMPL`` (which would otherwise fail
deep inside numpy or torch, naming neither the file nor the key).

:func:`check_smpl_data` checks every key smplx reads — its presence, its shape against the others
(``V`` vertices from ``v_template``, 24 joints, 207 = 23 x 9 pose-corrective components), its values
(finite numbers, face indices within the vertices, a kinematic tree whose parents precede their
children) — and the extra-joint vertex ids smplx will index with.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

#: The keys smplx.SMPL reads from a model file.
REQUIRED_KEYS = ("v_template", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table", "f")
#: SMPL's kinematic tree: 24 joints, so ``body_pose`` is 23 x 3 = 69 numbers and ``posedirs`` has 23 x 9 = 207.
NUM_JOINTS = 24
#: The vertex ids smplx's extra joints (nose, eyes, ears, toes, heels, finger tips) are read at.
VERTEX_ID_NAMES = ("nose", "reye", "leye", "rear", "lear", "LBigToe", "LSmallToe", "LHeel", "RBigToe", "RSmallToe",
                   "RHeel") + tuple(side + tip for side in "lr" for tip in ("thumb", "index", "middle", "ring", "pinky"))


def _fmt(shape) -> str:
    return "[" + ", ".join(str(s) for s in shape) + "]"


def _array(data: dict, key: str, path: Path):
    """The value of ``key`` as a numeric numpy array (a scipy.sparse matrix stays sparse)."""
    value = data[key]
    if hasattr(value, "toarray") and hasattr(value, "nnz"):  # scipy.sparse (SMPL's J_regressor)
        return value
    try:
        arr = np.asarray(value)
    except Exception as exc:  # noqa: BLE001  (whatever the pickled object's __array__ raises)
        raise ValueError(f"SMPL model file {path}: key {key!r} is not a numeric array ({exc})") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise ValueError(f"SMPL model file {path}: key {key!r} is not a numeric array (got {type(value).__name__} "
                         f"of dtype {arr.dtype})")
    return arr


def _check_shape(arr, key: str, expected: tuple, path: Path, meaning: str) -> None:
    found = tuple(arr.shape)
    if len(found) != len(expected) or any(e is not None and f != e for f, e in zip(found, expected)):
        want = _fmt(["*" if e is None else e for e in expected])
        raise ValueError(f"SMPL model file {path}: key {key!r} has shape {_fmt(found)}, expected {want} ({meaning})")


def _check_finite(arr, key: str, path: Path) -> None:
    values = arr.data if hasattr(arr, "nnz") else arr
    if np.issubdtype(values.dtype, np.floating) and values.size and not np.isfinite(values).all():
        bad = ~np.isfinite(values)
        first = np.argwhere(bad)[0] if not hasattr(arr, "nnz") else None
        where = f", first at index {tuple(int(i) for i in first)}" if first is not None else ""
        raise ValueError(f"SMPL model file {path}: key {key!r} contains NaN or inf ({int(bad.sum())} of "
                         f"{values.size} entries{where}); expected finite numbers")


def check_smpl_data(data: dict, path: Path, vertex_ids: dict | None) -> None:
    """Check an SMPL model file's dict (see the module docstring) and the vertex ids smplx will use.

    ``vertex_ids``: the ids that will be given to smplx (None: smplx's SMPL-H defaults).

    Raises:
        ValueError: naming the file and the key, with the shape (or value) found and what is expected.
    """
    missing = [k for k in REQUIRED_KEYS if k not in data]
    if missing:
        raise ValueError(f"SMPL model file {path} lacks the key(s) {missing} (smplx needs {', '.join(REQUIRED_KEYS)}; "
                         f"found {', '.join(map(str, sorted(data, key=str))) or 'nothing'}): is it an SMPL model?")
    a = {k: _array(data, k, path) for k in REQUIRED_KEYS}
    _check_shape(a["v_template"], "v_template", (None, 3), path, "V rest vertices x (x, y, z)")
    nv, nj = int(a["v_template"].shape[0]), NUM_JOINTS
    if nv < 3:
        raise ValueError(f"SMPL model file {path}: key 'v_template' has {nv} vertices, expected at least 3")
    _check_shape(a["f"], "f", (None, 3), path, "F triangles x 3 vertex indices")
    _check_shape(a["kintree_table"], "kintree_table", (2, nj), path, f"parents and ids of SMPL's {nj} joints")
    _check_shape(a["J_regressor"], "J_regressor", (nj, nv), path, f"{nj} joints x V = {nv} vertices")
    _check_shape(a["weights"], "weights", (nv, nj), path, f"V = {nv} vertices x {nj} joints")
    _check_shape(a["shapedirs"], "shapedirs", (nv, 3, None), path, f"V = {nv} vertices x 3 x shape components")
    _check_shape(a["posedirs"], "posedirs", (nv, 3, 9 * (nj - 1)), path,
                 f"V = {nv} vertices x 3 x {nj - 1} joints' 9 rotation-matrix entries")
    if a["shapedirs"].shape[2] < 1:
        raise ValueError(f"SMPL model file {path}: key 'shapedirs' has no shape components (shape "
                         f"{_fmt(a['shapedirs'].shape)}); expected [{nv}, 3, B] with B >= 1")
    for k in REQUIRED_KEYS:
        _check_finite(a[k], k, path)
    f = a["f"]
    if f.size == 0:
        raise ValueError(f"SMPL model file {path}: key 'f' has no faces (shape {_fmt(f.shape)}); expected [F, 3], F >= 1")
    if not np.issubdtype(f.dtype, np.integer) and not np.array_equal(f, np.round(f)):
        raise ValueError(f"SMPL model file {path}: key 'f' holds non-integer vertex indices (dtype {f.dtype})")
    bad = (f < 0) | (f >= nv)
    if bad.any():
        i = tuple(int(x) for x in np.argwhere(bad)[0])
        raise ValueError(f"SMPL model file {path}: key 'f' indexes vertices outside [0, {nv - 1}]: face {i[0]} has "
                         f"index {f[i]} ({int(bad.sum())} indices out of range)")
    parents = np.asarray(a["kintree_table"][0]).astype(np.int64)
    for j in range(1, nj):
        if not 0 <= parents[j] < j:
            raise ValueError(f"SMPL model file {path}: key 'kintree_table' gives joint {j} the parent {parents[j]}; "
                             f"expected a joint in [0, {j - 1}] (every parent precedes its children, as in SMPL)")
    _check_vertex_ids(vertex_ids, nv, path)


def _check_vertex_ids(vertex_ids: dict | None, nv: int, path: Path) -> None:
    source = "vertex_ids"
    if vertex_ids is None:
        from smplx.vertex_ids import vertex_ids as defaults

        vertex_ids, source = defaults["smplh"], "smplx's default SMPL ids: the file has no drot_vertex_ids"
    if not isinstance(vertex_ids, dict):
        raise TypeError(f"vertex_ids must be a dict (extra-joint name -> vertex id), got {type(vertex_ids).__name__}")
    missing = [n for n in VERTEX_ID_NAMES if n not in vertex_ids]
    if missing:
        raise ValueError(f"vertex_ids for SMPL model file {path} lack the extra joint(s) {missing}; smplx needs "
                         f"{', '.join(VERTEX_ID_NAMES)}")
    for n in VERTEX_ID_NAMES:
        i = vertex_ids[n]
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 0 <= int(i) < nv:
            raise ValueError(f"SMPL model file {path}: the extra-joint vertex id {n!r} = {i!r} ({source}) is not a "
                             f"vertex: expected an integer in [0, {nv - 1}] (the model has {nv} vertices); pass "
                             f"vertex_ids=... to load_smpl")
