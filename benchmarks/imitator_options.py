"""One imitator training run with given options, measured as ``benchmarks/imitator.py`` measures it
(the table "what the training budget bought" in benchmarks/README.md):

    OMP_NUM_THREADS=1 python benchmarks/imitator_options.py --renderer tryon --samples 4000 --steps 4000 \\
        --options '{"context": true, "positional": 4, "gated": true, "pixel_l2": 50}' --regions
    OMP_NUM_THREADS=1 python benchmarks/imitator_options.py --renderer mitsuba --samples 2000 --steps 6000 \\
        --options '{"positional": 8, "pixel_l2": 10}'

Samples are rendered as the benchmark renders them (``generate(renderer, n, seed=0, batch=32)``) or
read from ``--samples-file`` (e.g. a benchmark's ``--out``/samples.pt); held-out settings, references
(Mitsuba: 256 spp) and sensitivity errors as in the benchmark. ``--regions`` (try-on) splits the
imitator's squared error into outside the lips, plain lips, highlight and sparkle pixels.
Prints one JSON line; ``--log FILE`` appends it there.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from drot.imitator import ImitatorSettings, Samples, fidelity, generate, sensitivity_errors, train_imitator

sys.path.insert(0, str(Path(__file__).resolve().parent))
from imitator import REFERENCE_SPP, make_renderer  # noqa: E402  (the benchmark's renderers and references)


@torch.no_grad()
def tryon_regions(imitator, renderer, held, sources) -> dict:
    """Share of the squared error and RMS error per region of the try-on image."""
    space = renderer.space
    real = renderer(held, sources)
    err = (imitator(held, sources).clamp(0, 1) - real).square().sum(-1)
    no_gloss = held.clone()
    no_gloss[:, space.slices["gloss"].start] = 0
    highlight = (renderer(no_gloss, sources) - real).abs().sum(-1) > 1e-6
    finish = space.slices["finish"]
    satin = held.clone()
    satin[:, finish] = torch.tensor([0.0, 1.0, 0.0])
    shimmer = held[:, finish.start + 2] > 0.5
    sparkle = ((renderer(satin, sources) - real).abs().sum(-1) > 1e-6) & shimmer[:, None, None] & ~highlight
    lips = torch.stack([torch.from_numpy(renderer.lip_mask(np.round(s.numpy() * 255).astype(np.int32)))
                        for s in sources])
    out = {}
    for name, m in (("outside", ~lips), ("plain lips", lips & ~highlight & ~sparkle), ("highlight", highlight),
                    ("sparkle", sparkle)):
        out[name] = {"pixels": int(m.sum()), "share": float(err[m].sum() / err.sum()),
                     "rms": float((err[m].mean() / 3).sqrt()) if m.any() else 0.0}
    return out


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--renderer", choices=("tryon", "mitsuba"), default="tryon")
    p.add_argument("--samples", type=int, default=1200)
    p.add_argument("--samples-file", help="reuse rendered samples (the first --samples of them)")
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--options", default="{}", help="ImitatorSettings options as JSON")
    p.add_argument("--held-out", type=int, default=24)
    p.add_argument("--regions", action="store_true", help="try-on: where the error is")
    p.add_argument("--log", help="append the JSON line to this file")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    renderer = make_renderer(args.renderer, quick=False)
    reference = make_renderer(args.renderer, quick=False, spp=REFERENCE_SPP)
    try:
        options = json.loads(args.options)
        settings = ImitatorSettings(steps=args.steps, batch=args.batch, progress=False, **options)
    except (json.JSONDecodeError, TypeError) as exc:
        p.error(f"--options: {exc}")
    if args.samples_file:
        samples = Samples.load(args.samples_file)
        if len(samples) < args.samples:
            p.error(f"--samples-file {args.samples_file} holds {len(samples)} samples, fewer than --samples {args.samples}")
        samples = samples.subset(torch.arange(args.samples))
    else:
        samples = generate(renderer, args.samples, seed=0, batch=32, progress=False)
    imitator, history = train_imitator(samples, renderer.space, settings)
    g = torch.Generator().manual_seed(99)  # the benchmark's held-out settings (its seed 0 + 99)
    held = renderer.space.sample(args.held_out, g)
    sources = renderer.sources(args.held_out, g)
    res = {"renderer": args.renderer, "samples": args.samples, "steps": args.steps, "options": options,
           "psnr": fidelity(imitator, reference, held, sources),
           "sensitivity": sensitivity_errors(imitator, reference, held, sources),
           "training_s": history[-1]["seconds"]}
    if args.regions and args.renderer == "tryon":
        res["regions"] = tryon_regions(imitator, renderer, held, sources)
    line = json.dumps(res)
    print(line)
    if args.log:
        with Path(args.log).open("a") as f:
            f.write(line + "\n")
    return res


if __name__ == "__main__":
    main()
