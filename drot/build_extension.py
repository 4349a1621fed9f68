"""Build ``drot._C`` with CMake against the installed torch: ``python3 -m drot.build_extension``.

Runs ``cmake -S <source checkout> -B build/extension`` with torch's CMake prefix and this Python,
then ``cmake --build``; the module lands in ``drot/`` next to this file. CUDA kernels are compiled
when torch is a CUDA build (``--cuda on|off|auto``; needs nvcc). Needs a source checkout of drot
(``pip install -e .``), CMake ≥ 3.18 and a C++17 compiler.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path


def build(cuda: str = "auto", build_dir: Path | None = None, jobs: int | None = None, verbose: bool = False) -> Path:
    """Configure and build; return the path of the built module. Raises ``RuntimeError`` with the reason."""
    import torch.utils

    package_dir = Path(__file__).resolve().parent
    source_dir = package_dir.parent
    if not (source_dir / "CMakeLists.txt").is_file() or not (package_dir / "csrc").is_dir():
        raise RuntimeError(f"no CMakeLists.txt next to {package_dir}: build from a source checkout "
                           "of drot installed with `pip install -e .`")
    cmake = shutil.which("cmake")
    if cmake is None:
        raise RuntimeError("cmake not found: install it (`pip install cmake` or your system's package)")
    build_dir = Path(build_dir) if build_dir else source_dir / "build" / "extension"
    configure = [cmake, "-S", str(source_dir), "-B", str(build_dir),
                 f"-DCMAKE_PREFIX_PATH={torch.utils.cmake_prefix_path}",
                 f"-DPython3_EXECUTABLE={sys.executable}",
                 f"-DDROT_WITH_CUDA={cuda.upper()}",
                 f"-DDROT_OUTPUT_DIR={package_dir}"]
    if shutil.which("ninja") and not (build_dir / "CMakeCache.txt").exists():
        configure += ["-G", "Ninja"]
    compile_ = [cmake, "--build", str(build_dir), "--parallel", str(jobs or os.cpu_count() or 1)]
    for command in (configure, compile_):
        run = subprocess.run(command, capture_output=not verbose, text=True)
        if run.returncode != 0:
            log = "" if verbose else (run.stdout[-4000:] + run.stderr[-4000:])
            raise RuntimeError(f"`{' '.join(command)}` failed (exit {run.returncode})\n{log}")
    built = sorted(package_dir.glob("_C*.so")) + sorted(package_dir.glob("_C*.pyd"))
    if not built:
        raise RuntimeError(f"the build finished but no drot/_C module appeared in {package_dir}")
    return built[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m drot.build_extension", description=__doc__.splitlines()[0])
    parser.add_argument("--cuda", choices=["auto", "on", "off"], default="auto",
                        help="compile the CUDA kernels (auto: when torch is a CUDA build)")
    parser.add_argument("--build-dir", type=Path, default=None, help="CMake build folder (default: build/extension)")
    parser.add_argument("--jobs", type=int, default=None, help="parallel compile jobs (default: all cores)")
    parser.add_argument("--verbose", action="store_true", help="show CMake's and the compiler's output")
    args = parser.parse_args(argv)
    try:
        path = build(args.cuda, args.build_dir, args.jobs, args.verbose)
    except RuntimeError as exc:
        print(f"drot.build_extension: {exc}", file=sys.stderr)
        return 1
    # Check in a fresh interpreter that it loads and registers the op (this one may hold a stale copy).
    check = subprocess.run([sys.executable, "-c",
                            "import torch, drot._C as c; torch.ops.drot.freeze_surface_points; print(c.with_cuda)"],
                           capture_output=True, text=True)
    if check.returncode != 0:
        print(f"drot.build_extension: built {path} but it does not load:\n{check.stderr[-2000:]}", file=sys.stderr)
        return 1
    print(f"drot.build_extension: built {path} (CUDA kernels: {'yes' if check.stdout.strip() == '1' else 'no'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
