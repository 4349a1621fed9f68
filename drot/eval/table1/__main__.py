"""``python -m drot.eval.table1``: the same as ``python benchmarks/table1.py``."""
import sys

from .cli import main

sys.exit(main())
