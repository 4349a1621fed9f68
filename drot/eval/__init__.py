"""Evaluation: benchmark runs (``drot-bench``), resumable sweeps, the paper's Table 1 harness,
and the ``[benchmark]`` table of a scene file (:mod:`drot.eval.scene_benchmark`)."""
