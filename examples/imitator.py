"""Recover the settings of a renderer drot cannot differentiate, through a learned imitator.

    OMP_NUM_THREADS=1 python examples/imitator.py                       # lipstick try-on, ~4 min on a 2-core CPU
    OMP_NUM_THREADS=1 python examples/imitator.py --renderer mitsuba    # Mitsuba 3 path tracer (pip install "drot[mitsuba]")
    OMP_NUM_THREADS=1 python examples/imitator.py --quick               # seconds (what the tests run)

Steps: render training samples with the black box (settings + one-parameter shifts), train the
imitator with the sensitivity loss (checkpointed per renderer, sample count and steps: the same command again resumes), train the
inverse-graphics encoder through it, then for a new target image: the encoder's one-pass estimate,
then the imitator search with 20 real renders (the discrete parameter searched, then steps
proposed by the imitator's Jacobian and kept only when the real render improves). Writes
``target | encoder | searched`` to ``--out``/result.png.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import imageio
import numpy as np
import torch

import drot.imitator as imitator
from drot.metrics import psnr
from drot.threads import choose_threads


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--renderer", choices=("tryon", "mitsuba"), default="tryon", help="the black box (default: tryon)")
    p.add_argument("--quick", action="store_true", help="24 samples and 4 training steps: a smoke test, not a result "
                                                        "(its refinement can end worse than the encoder)")
    p.add_argument("--out", default=str(Path(__file__).parent / "output" / "imitator"),
                   help="folder of the checkpoints and result.png (default: examples/output/imitator)")
    p.add_argument("--threads", default="1", metavar="N|auto",
                   help="torch's CPU threads (default: 1, which a shared machine cannot slow down; auto: the free cores)")
    args = p.parse_args(argv)
    choose_threads(args.threads)
    n, steps = (24, 4) if args.quick else (600, 400)
    # Checkpoints are kept per renderer, sample count and steps: a full run never resumes a --quick one.
    out = Path(args.out)
    checkpoints = out / f"{args.renderer}-{n}samples-{steps}steps"
    checkpoints.mkdir(parents=True, exist_ok=True)
    if args.renderer == "tryon":
        renderer = imitator.TryOnRenderer()
    else:
        from drot.imitator.renderers.mitsuba_scene import MitsubaRenderer
        renderer = MitsubaRenderer(spp=4 if args.quick else 32)

    samples = imitator.generate(renderer, n, seed=0, progress=not args.quick)
    # The architecture and loss options measured best in benchmarks/imitator.py (benchmarks/README.md).
    options = (dict(context=True, positional=4, gated=True, pixel_l2=50.0) if args.renderer == "tryon"
               else dict(positional=8, pixel_l2=10.0))
    imi, _ = imitator.train_imitator(samples, renderer.space, imitator.ImitatorSettings(
        steps=steps, batch=8, progress=not args.quick, **options), checkpoint=checkpoints / "imitator.pt")
    encoder, _ = imitator.train_encoder(samples, imi, imitator.EncoderSettings(
        steps=steps, batch=16, progress=not args.quick), checkpoint=checkpoints / "encoder.pt")

    g = torch.Generator().manual_seed(123)
    truth = renderer.space.sample(1, g)
    source = renderer.sources(1, g)
    target = renderer(truth, source, seed=10**5)  # a path tracer's target has noise no search can reproduce
    estimate = encoder.predict(target)                                             # one forward pass
    calls = 5 if args.quick else 20
    found = imitator.imitator_search(imi, renderer, target, estimate, source,      # the real renderer decides
                                     imitator.SearchSettings(calls=calls))
    final = found.vectors
    images = [target, renderer(imitator.argmax_quantise(renderer.space, estimate), source), renderer(final, source)]
    imageio.imwrite(out / "result.png", (torch.cat([i[0] for i in images], 1).numpy() * 255).astype(np.uint8))
    result = {"truth": renderer.space.decode(truth)[0], "encoder": renderer.space.decode(estimate)[0],
              "final": renderer.space.decode(final)[0], "search_calls": int((~found.losses.isnan()).sum()),
              "psnr_encoder": psnr(images[1], target), "psnr_final": psnr(images[2], target)}
    for k, v in result.items():
        print(f"{k}: {v}")
    return result


if __name__ == "__main__":
    main()
