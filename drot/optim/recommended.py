"""What drot's benchmarks run beyond the paper's method: the recommended starts and levers.

``drot.optimize`` itself defaults to the paper's single hybrid run; ``drot-bench`` and Table 1's
``drot`` row add these, each measured (benchmarks/README.md).
"""
from __future__ import annotations

__all__ = ["RECOMMENDED_LEVERS", "RECOMMENDED_STARTS"]

#: The number of batched starts drot's benchmarks use by default (``drot-bench --starts``, Table 1's
#: "drot" row), chosen from ``benchmarks/any_angle.py`` (benchmarks/README.md, "Any start"). ``drot.optimize``
#: itself defaults to one start, the paper's single run, so a loop you own is not silently multiplied.
RECOMMENDED_STARTS = 8
#: The settings drot's default row of Table 1 adds to the paper's hybrid strategy (besides
#: RECOMMENDED_STARTS batched starts), each measured on the paper's protocol (benchmarks/README.md,
#: "Table 1 on the paper's protocol"): look-alike jumps every quarter of the run, standard derivatives
#: for appearance parameters, VectorAdam, the smoothness prior on per-vertex offsets (its weight
#: chosen on three random warps of the flat gingerbread, not on GINGER's), unbalanced transport
#: (reach 0.1, from a sweep on JOINT, then checked on every column), translations in view 0's frame
#: (image position and log depth, sharing VectorAdam's moment) and supersampled standard derivatives
#: (``l2_supersample`` 3: 3 × 3 samples per pixel, chosen over 2 and 4 on JOINT, five seeds each, then
#: checked on every column). ``drot.optimize`` defaults to the paper's method.
RECOMMENDED_LEVERS = {"jump_interval": 0.25, "appearance_gradients": "standard", "optimizer": "vector_adam",
                      "offset_smoothness": 1000.0, "sinkhorn_reach": 0.1, "translation_frame": "view",
                      "l2_supersample": 3}
