"""Seconds per matching: our fast Sinkhorn solver vs the GeomLoss reference.

Usage::

    python benchmarks/matching_speed.py                 # default table, < ~2 minutes on 2 cores
    python benchmarks/matching_speed.py --explore       # + schedule / subsampling variants
    python benchmarks/matching_speed.py --geomloss-128  # + GeomLoss at 128² full images (~1 min, 5 GB)
    python benchmarks/matching_speed.py --multiscale --sizes 64 128 256   # dense vs multiscale only
    python benchmarks/matching_speed.py --crossover     # where the multiscale solver overtakes the dense one
    python benchmarks/matching_speed.py --truncation --sizes 64 128      # its truncation settings

Cases (paper settings λ = 0.5, blur = 0.01, scaling = 0.5 unless stated):

* ``random 1024``: 1024 vs 1024 uniform random 5-D points;
* ``64² include``: two 64 x 64 blob images, every pixel a point (``background="include"``,
  ``pool=1``, the paper's default), 4096 vs 4096 points;
* ``128² include``: the same at 128 x 128 (16384 vs 16384), GeomLoss skipped unless
  ``--geomloss-128``;
* ``128² include pool=4``: background pooled in 4 x 4 blocks;
* ``KITTY-like fg-only``: 128² renders of one object, foreground pixels only (~2500 points).

Columns: median and minimum seconds of ``--repeats`` runs after one warm-up (the minimum is the
better estimate when other processes share the cores), the column-marginal L1 error of the
returned plan (rows are exact; 0 = perfectly balanced, 2 = nothing right) for both solvers, and
the largest difference between the fast and the GeomLoss targets.

Measured on this project's 2-core CPU (torch 2.13 CPU, geomloss 0.3.1). Other jobs share the
machine: when they run, times roughly double (the "min" column is the better estimate; e.g.
the 128² fast median below was disturbed, its quiet value is the 3.4 s minimum).
``python benchmarks/matching_speed.py --geomloss-128``::

    case                          N     M  fast med    min   GL med    min speed-up marg.err fast      GL  max|ΔT|
    --------------------------------------------------------------------------------------------------------------
    random 1024                1024  1024     0.019  0.017    0.089  0.087     4.6x        0.4397  0.4397  3.9e-05
    64² include                4096  4096     0.207  0.206    2.684  2.548    13.0x        0.3291  0.3290  1.5e-05
    128² include              16384 16384     7.197  3.436   50.567 50.567     7.0x        0.3286  0.3286  9.3e-06
    128² include pool=4        2859  3689     0.126  0.124    1.687  1.636    13.3x        0.3270  0.3270  8.7e-06
    KITTY-like fg-only 128²    2690  3920     0.111  0.111    1.605  1.517    14.5x        0.4878  0.4878  1.2e-06

``--multiscale --sizes 64 128 256 512`` (all pixels, background included, pool 1; one run each,
each case in its own process; measured with ``OMP_NUM_THREADS=1`` on the shared 2-core machine
at load ~2.5 from other jobs — to be re-measured idle)::

      size  points  dense s peak GiB marg.err  multi s peak GiB marg.err pairs/pt speed-up cost ratio
       64²    4096    0.490     0.24   0.3291    0.334     0.35   0.1665      142     1.5x      1.166
      128²   16384    6.586     0.25   0.3286    1.603     0.77   0.1618      165     4.1x      1.135
      256²   65536  skipped                      4.590     1.24   0.1621      143
      512²  262144  skipped                     15.760     3.80   0.1622      161

  (cost ratio: multiscale / dense at the paper's schedule, where neither converges — the
  multiscale one adds a softmin at each level jump and ends better balanced; run long without
  truncation the two reach the same plan, tests/test_matching_multiscale.py.)

``--explore`` (fast solver; marg.err = column-marginal L1 error; last column: largest change of
a matched target against the default at 128²)::

    variant                                        64² s  marg.err   128² s  marg.err   max|ΔT| vs default 128²
    default (scaling 0.5, GeomLoss schedule)       0.204    0.3291    3.487    0.3286                   0.0e+00
    final_iters=10                                 0.362    0.2841    6.186    0.2847                   1.0e-01
    final_iters=30                                 0.626    0.2611   14.565    0.2634                   2.9e-01
    scaling=0.3 + final_iters=5                    0.298    0.3358    9.481    0.3376                   3.2e-01
    scaling=0.7                                    0.591    0.2208   11.129    0.2213                   3.4e-01
    max_points=4096                                0.383    0.3291    0.480    0.3959                   3.7e-01
    max_points=2048                                0.100    0.4091    0.148    0.4470                   3.5e-01
    block 4 MiB                                    0.418    0.3291    7.091    0.3286                   9.5e-06
    block 256 KiB                                  0.371    0.3291    5.568    0.3286                   1.1e-05

    (this run was partly disturbed by other jobs. Measured separately on a quiet machine:
    at 64², default 0.21 s, final_iters=10 0.37 s, scaling=0.7 0.31 s, scaling=0.3 +
    final_iters=5 0.30 s, blocks of 0.5-16 MB within ~20 % of each other, a 64 MB block
    (the whole matrix) 0.27 s; at 128², default 3.1 s with 8 MB blocks, 3.35 s with 4 MB,
    scaling=0.7 4.6 s.)
"""
from __future__ import annotations

import argparse
import math
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from drot.matching import PointSet, SinkhornMatcher, image_points  # noqa: E402


def blob_image(res: int, cx: float, cy: float, rx: float, ry: float, color, tilt: float = 0.0):
    """A shaded ellipse on black: image [res, res, 3] float32 and its mask [res, res]."""
    t = (torch.arange(res, dtype=torch.float32) + 0.5) / res
    y, x = torch.meshgrid(t, t, indexing="ij")
    u, v = x - cx, y - cy
    c, s = math.cos(tilt), math.sin(tilt)
    d2 = ((c * u + s * v) / rx) ** 2 + ((-s * u + c * v) / ry) ** 2
    mask = d2 < 1
    shade = 0.35 + 0.65 * (1 - d2).clamp(0, 1).sqrt() * (0.75 + 0.25 * torch.sin(9 * x + 5 * y))
    img = torch.tensor(color)[None, None, :] * shade[..., None] * mask[..., None]
    return img, mask


def image_pair(res: int, background: str, pool: int = 1, radius: float = 0.28):
    """A rendered object (left, small) and its target (right, larger, rotated, other colour)."""
    src = blob_image(res, 0.32, 0.40, radius * 0.8, radius * 0.6, (0.9, 0.5, 0.3), 0.3)
    tgt = blob_image(res, 0.62, 0.55, radius, radius * 0.7, (0.8, 0.6, 0.3), -0.4)
    ps, _ = image_points(*src, background=background, pool=pool)
    pt, _ = image_points(*tgt, background=background, pool=pool)
    return ps, pt


def random_pair(n: int):
    g = torch.Generator().manual_seed(0)
    return PointSet.uniform(torch.rand(n, 5, generator=g)), PointSet.uniform(torch.rand(n, 5, generator=g))


def timed(matcher, source, target, repeats: int):
    """(median seconds, min seconds, result) over ``repeats`` runs after one warm-up."""
    result = matcher.match(source, target)  # warm-up (and the result we report)
    times = [matcher.match(source, target).seconds for _ in range(repeats)] or [result.seconds]
    return statistics.median(times), min(times), result


def one_case(res: int, solver: str) -> None:
    """One all-pixel matching at ``res``² in this (fresh) process; prints seconds, marginal error,
    pairs per point, cost and the process's peak resident memory (so run one case per process)."""
    src, tgt = image_pair(res, "include")
    t0 = time.perf_counter()
    if solver == "multiscale-torch":  # the multiscale solver with its loops in PyTorch (no drot._C)
        from drot.matching import sinkhorn_multiscale
        from drot.matching.sinkhorn_kernel import TransportProblem
        (_, cost, info), = sinkhorn_multiscale.solve([TransportProblem(src, tgt, 0.5)], 0.01, 0.5, kernel="torch")
    else:
        r = SinkhornMatcher(solver=solver).match(src, tgt)
        cost, info = r.cost, r.info
    sec = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20  # KiB -> GiB
    pairs = info.get("pairs", len(src) * len(tgt)) / len(src)
    print(f"{sec:.3f} {info['marginal_error']:.4f} {pairs:.0f} {cost:.6f} {peak:.2f}")


def multiscale_table(sizes: list[int], dense_max: int) -> None:
    """All-pixel images (background included, pool 1): dense vs multiscale (compiled loops, and its
    PyTorch loops), one run each, each in its own process (peak memory per case)."""
    print(f"\nall pixels, one run each ({torch.get_num_threads()} threads; peak = process max RSS; "
          "multi = multiscale with drot._C's loops, torch = the same in PyTorch):")
    head = f"{'size':>6}{'points':>8} {'dense s':>8}{'peak GiB':>9}{'marg.err':>9} {'multi s':>8}{'peak GiB':>9}" \
           f"{'marg.err':>9}{'pairs/pt':>9}{'torch s':>8}{'peak GiB':>9}{'vs dense':>9}{'vs torch':>9}{'cost ratio':>11}"
    print(head)
    print("-" * len(head))
    for res in sizes:
        row, out = f"{res:>5}²{res * res:>8}", {}
        for solver in ("fast", "multiscale", "multiscale-torch"):
            if solver == "fast" and res > dense_max:
                continue
            cmd = [sys.executable, __file__, "--case", str(res), solver]
            out[solver] = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.split()
        d, m, t = out.get("fast"), out["multiscale"], out["multiscale-torch"]
        row += f" {d[0]:>8}{d[4]:>9}{d[1]:>9}" if d else f" {'skipped':>8}{'':>9}{'':>9}"
        row += f" {m[0]:>8}{m[4]:>9}{m[1]:>9}{m[2]:>9}{t[0]:>8}{t[4]:>9}"
        row += f"{float(d[0]) / float(m[0]):>8.1f}x" if d else f"{'':>9}"
        row += f"{float(t[0]) / float(m[0]):>8.1f}x"
        row += f"{float(m[3]) / float(d[3]):>11.3f}" if d else ""
        print(row, flush=True)


def crossover_table(repeats: int) -> None:
    """Where the multiscale solver overtakes the dense one (balanced and reach 0.1): all-pixel images,
    foreground-only images and uniform random clouds, best of ``repeats`` runs after a warm-up, with
    the multiscale solver's largest target difference and cost ratio against the dense one."""
    cases = [(f"all-pixel {r}²", *image_pair(r, "include")) for r in (24, 32, 48, 64, 96)]
    cases += [(f"fg-only {r}²", *image_pair(r, "exclude")) for r in (64, 128, 256)]
    cases += [(f"random {n}", *random_pair(n)) for n in (1024, 4096)]
    print(f"\ncrossover ({torch.get_num_threads()} threads; ratio = multiscale s / dense s; max|ΔT|, cost: "
          "multiscale vs dense):")
    head = f"{'case':<17}{'N':>7}{'M':>7}  " + "  ".join(
        f"{'reach ' + str(r):>9}: {'dense s':>8}{'multi s':>8}{'ratio':>6}{'max|ΔT|':>9}{'cost':>6}" for r in (None, 0.1))
    print(head)
    print("-" * len(head))
    for name, src, tgt in cases:
        row = f"{name:<17}{len(src):>7}{len(tgt):>7}  "
        for reach in (None, 0.1):
            _, td, rd = timed(SinkhornMatcher(solver="fast", reach=reach), src, tgt, repeats)
            _, tm, rm = timed(SinkhornMatcher(solver="multiscale", reach=reach), src, tgt, repeats)
            row += f"{'':>9}  {td:>8.4f}{tm:>8.4f}{tm / td:>6.2f}{float((rd.targets - rm.targets).abs().max()):>9.1e}" \
                   f"{rm.cost / rd.cost:>6.2f}  "
        print(row, flush=True)


def truncation_table(sizes: list[int], repeats: int) -> None:
    """The multiscale solver's truncation and coarse-cut loosening (``EXPAND_POWER``) against a nearly
    untruncated reference (1e-9, no loosening): seconds (best of ``repeats``), pairs per point,
    largest target move in pixels (XY) and in colour, relative cost change."""
    from drot.matching import sinkhorn_multiscale as ms
    from drot.matching.sinkhorn_kernel import TransportProblem

    print(f"\ntruncation ({torch.get_num_threads()} threads; all-pixel images; vs truncation 1e-9, EXPAND_POWER 1):")
    head = f"{'size':>6}{'truncation':>11}{'expand':>7}{'s':>8}{'pairs/pt':>9}{'max px':>8}{'p99 px':>8}{'mean px':>9}" \
           f"{'max rgb':>9}{'cost':>10}"
    print(head)
    print("-" * len(head))
    default = ms.EXPAND_POWER
    for res in sizes:
        prob = TransportProblem(*image_pair(res, "include"), 0.5)

        def run(trunc: float, expand: float):
            ms.EXPAND_POWER = expand
            try:
                times = []
                for _ in range(max(1, repeats)):
                    t0 = time.perf_counter()
                    out = ms.solve([prob], 0.01, 0.5, truncation=trunc)[0]
                    times.append(time.perf_counter() - t0)
            finally:
                ms.EXPAND_POWER = default
            return min(times), out

        _, (t_ref, c_ref, _) = run(1e-9, 1.0)
        for trunc, expand in ((1e-3, 0.75), (1e-4, 0.5), (1e-4, 0.75), (1e-3, 1.0), (1e-4, 1.0), (1e-5, 0.75),
                              (1e-5, 1.0), (1e-7, 0.75)):
            sec, (t, c, info) = run(trunc, expand)
            d = (t - t_ref).abs()
            px = d[:, 3:5].amax(1) * res
            print(f"{res:>5}²{trunc:>11.0e}{expand:>7.2f}{sec:>8.3f}{info['pairs'] / prob.n:>9.0f}"
                  f"{float(px.max()):>8.3f}{float(px.quantile(0.99)):>8.3f}{float(px.mean()):>9.4f}"
                  f"{float(d[:, :3].max()):>9.1e}{c / c_ref - 1:>+10.1e}", flush=True)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per entry after one warm-up")
    ap.add_argument("--geomloss-128", action="store_true", help="also run GeomLoss on 128² full images (slow)")
    ap.add_argument("--explore", action="store_true", help="also time schedule / subsampling variants")
    ap.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    ap.add_argument("--multiscale", action="store_true",
                    help="only the all-pixel table: dense vs multiscale at --sizes (one run each)")
    ap.add_argument("--crossover", action="store_true",
                    help="only the table of where the multiscale solver overtakes the dense one")
    ap.add_argument("--truncation", action="store_true",
                    help="only the multiscale solver's truncation / coarse-cut table at --sizes")
    ap.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256, 512])
    ap.add_argument("--dense-max", type=int, default=128, help="largest size the dense solver runs at")
    ap.add_argument("--case", nargs=2, metavar=("RES", "SOLVER"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.case:
        return one_case(int(args.case[0]), args.case[1])
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    if args.multiscale:
        return multiscale_table(args.sizes, args.dense_max)
    if args.crossover:
        return crossover_table(args.repeats)
    if args.truncation:
        return truncation_table(args.sizes, args.repeats)

    cases = [
        ("random 1024", *random_pair(1024), True),
        ("64² include", *image_pair(64, "include"), True),
        ("128² include", *image_pair(128, "include"), args.geomloss_128),
        ("128² include pool=4", *image_pair(128, "include", pool=4), True),
        ("KITTY-like fg-only 128²", *image_pair(128, "exclude", radius=0.33), True),
    ]
    header = f"{'case':<25}{'N':>6}{'M':>6} {'fast med':>9}{'min':>7} {'GL med':>8}{'min':>7}{'speed-up':>9}" \
             f"{'marg.err fast':>14}{'GL':>8}{'max|ΔT|':>9}"
    print(header)
    print("-" * len(header))
    for name, src, tgt, with_gl in cases:
        t_fast, m_fast, r_fast = timed(SinkhornMatcher(solver="fast"), src, tgt, args.repeats)
        if with_gl:
            reps = max(1, args.repeats - 2) if len(src) > 10000 else args.repeats
            t_gl, m_gl, r_gl = timed(SinkhornMatcher(solver="geomloss"), src, tgt, reps)
            diff = float((r_fast.targets - r_gl.targets).abs().max())
            gl = f" {t_gl:>8.3f}{m_gl:>7.3f}{t_gl / t_fast:>8.1f}x"
            gl_err, d = f"{r_gl.info['marginal_error']:>8.4f}", f"{diff:>9.1e}"
        else:
            gl, gl_err, d = f" {'skipped':>8}{'':>7}{'':>9}", f"{'':>8}", f"{'':>9}"
        print(f"{name:<25}{len(src):>6}{len(tgt):>6} {t_fast:>9.3f}{m_fast:>7.3f}{gl}"
              f"{r_fast.info['marginal_error']:>14.4f}{gl_err}{d}", flush=True)

    if args.explore:
        print("\nexploration, 64² include (4096 vs 4096) and 128² include (16384 vs 16384), fast solver:")
        print(f"{'variant':<44}{'64² s':>8}{'marg.err':>10}{'128² s':>9}{'marg.err':>10}"
              f"{'max|ΔT| vs default 128²':>26}")
        pairs = [image_pair(64, "include"), image_pair(128, "include")]
        base128 = SinkhornMatcher().match(*pairs[1]).targets
        variants = [
            ("default (scaling 0.5, GeomLoss schedule)", dict()),
            ("final_iters=10", dict(final_iters=10)),
            ("final_iters=30", dict(final_iters=30)),
            ("scaling=0.3 + final_iters=5", dict(scaling=0.3, final_iters=5)),
            ("scaling=0.7", dict(scaling=0.7)),
            ("max_points=4096", dict(max_points=4096)),
            ("max_points=2048", dict(max_points=2048)),
            ("block 4 MiB", dict(block_bytes=4 << 20)),
            ("block 256 KiB", dict(block_bytes=256 << 10)),
        ]
        for label, kw in variants:
            row = f"{label:<44}"
            for k, (s, t) in enumerate(pairs):
                sec, _, res = timed(SinkhornMatcher(**kw), s, t, max(1, args.repeats - 1))
                row += f"{sec:>8.3f}{res.info['marginal_error']:>10.4f}" if k == 0 else \
                    f"{sec:>9.3f}{res.info['marginal_error']:>10.4f}"
            diff = float((res.targets - base128).abs().max())
            print(row + f"{diff:>26.1e}", flush=True)


if __name__ == "__main__":
    main()
