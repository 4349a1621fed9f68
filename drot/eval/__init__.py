"""Evaluation: benchmark runs (``drot-bench``), resumable sweeps, the paper's Table 1 harness."""
