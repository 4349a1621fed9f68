"""The paper's Table 1 (§6.1) on drot: every row × every scene × seeds, as a resumable sweep.

    python benchmarks/table1.py --quick                     # every scene, ~12 min on a 2-core CPU
    python benchmarks/table1.py --device cuda               # the paper's protocol (10 seeds × 1000 it. × 128²)
    python benchmarks/table1.py --quick --scenes kitty --variants hybrid,l2
    OMP_NUM_THREADS=1 python benchmarks/table1.py --quick --workers 2   # 2 runs at a time on a local Ray instance
    python benchmarks/table1.py --ray-address auto          # on a Ray cluster (see drot/eval/ray_executor.py)
    python benchmarks/table1.py --help

Interrupted (Ctrl-C, kill) it keeps every finished run in <out>/runs.jsonl: the same command
resumes. Writes <out>/table1.md, runs.csv, summary.json and curves_<scene>.png. The rows, the
protocols and the outputs are documented in drot/eval/table1/ and benchmarks/README.md.
"""
import sys

from drot.eval.table1 import main

if __name__ == "__main__":
    sys.exit(main())
