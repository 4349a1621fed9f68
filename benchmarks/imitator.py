"""Imitator benchmark (Kips et al. 2022; AgileAvatar §3.3): learn a differentiable imitator of a
black-box renderer and use it to recover parameters, on held-out settings.

    OMP_NUM_THREADS=1 python benchmarks/imitator.py --renderer tryon --out /tmp/imitator-tryon
    OMP_NUM_THREADS=1 python benchmarks/imitator.py --renderer mitsuba --out /tmp/imitator-mitsuba   # pip install "drot[mitsuba]"
    OMP_NUM_THREADS=1 python benchmarks/imitator.py --renderer tryon --quick --out /tmp/q           # seconds (CI)

Protocol (every figure from this run, nothing hard-coded):

1. render ``--samples`` training settings and their one-parameter shifts (``drot.imitator.generate``);
2. train two imitators for ``--steps`` steps (options in :data:`NETWORK`), with and without the sensitivity loss;
3. on ``--held-out`` unseen settings (references for Mitsuba at :data:`REFERENCE_SPP` spp, the
   training renders have 32; the noise floors are reported): imitator PSNR against the renderer;
   per-parameter relative error of the image change under a one-parameter shift
   (``sensitivity_errors``); the cosine of the parameter gradient of ``‖image − target‖²`` through
   the imitator vs a reference (try-on: autograd through the renderer's differentiable twin
   ``TryOnRenderer.soft``; Mitsuba: central finite differences of the real renderer with common
   random numbers — Mitsuba's ``llvm_ad_rgb`` could not run here: its JIT needs a newer LLVM than
   the system's 15), from a start perturbed from the truth;
4. train the encoder (graphics + rendering loss through the sensitivity-trained imitator);
5. recovery from target renders (rendered with a seed no search uses): the encoder alone;
   encoder + refinement through the imitator alone (perceptual, L2 and drot's OT loss) + the
   discrete search; the imitator search (``drot.imitator.imitator_search``, ``--calls`` real renders)
   and Nelder–Mead, CMA-ES and random search (``--nm-calls`` real renders, after the same discrete
   search), each from the encoder's estimate and from the centre of the space; every method
   minimises the same mean squared error. Parameter error = mean absolute error of the continuous
   slots (normalised to [0, 1]); PSNR (capped at 60 dB per image) of the best real render so far;
   calls-vs-error curves of every method (``curves_param_error.png``, ``curves_psnr.png``).

Checkpoints go to ``--out``; a second run with the same ``--out`` resumes or reuses them (``--fresh``
retrains); the training times reported are the trainings' own. Writes ``results.json``, ``summary.md``, the two curve plots and ``examples.png`` (rows: target, encoder,
imitator search from the encoder) to ``--out``.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from drot.imitator import (EncoderSettings, Samples, ImitatorSettings, RefineSettings, TryOnRenderer, argmax_quantise,
                           finite_difference_gradient, fidelity, generate, gradient_cosine,
                           load_encoder, refine, relax_and_search, sensitivity_errors, train_encoder,
                           train_imitator)
from drot.imitator.baselines import BASELINES, baseline_search
from drot.imitator.search import SearchSettings, best_so_far, imitator_search
from drot.imitator.training import read_checkpoint
from drot.metrics import psnr
from drot.report import plot_curves

SIZES = {  # samples, imitator steps, encoder steps, held-out, baseline calls, our calls, refine steps, batch
    "tryon": dict(samples=4000, steps=3400, encoder_steps=600, held_out=24, nm_calls=60, calls=20, refine_steps=100,
                  batch=8),
    "mitsuba": dict(samples=2000, steps=6000, encoder_steps=600, held_out=24, nm_calls=60, calls=20, refine_steps=100,
                    batch=8),
    "quick": dict(samples=32, steps=6, encoder_steps=6, held_out=3, nm_calls=8, calls=5, refine_steps=4, batch=4),
}
#: The imitators' architecture and loss options per renderer (benchmarks/README.md: what was tried).
NETWORK = {
    "tryon": dict(context=True, positional=4, gated=True, pixel_l2=50.0),
    "mitsuba": dict(positional=8, pixel_l2=10.0),
}
#: Targets are rendered with other seeds than every search's renders: no method can win by
#: reproducing the target's own Monte Carlo noise (the try-on renderer is deterministic anyway).
TARGET_SEED, SEARCH_SEED = 10**5, 7
#: Per-image PSNR is capped (an exact 8-bit match is infinite): 60 dB is below the 8-bit floor.
PSNR_CAP = 60.0


#: Samples per pixel of the Mitsuba references that fidelity and sensitivity are measured against
#: (the training renders have 32): their own noise floor is reported beside the figures.
REFERENCE_SPP = 256


class Memo:
    """A renderer that renders each (batch, sources, seed) once: both imitators are measured against
    the same expensive references."""

    def __init__(self, renderer) -> None:
        self.renderer, self.cache = renderer, {}

    def __call__(self, vectors, sources=None, seed: int = 0):
        key = (vectors.numpy().tobytes(), None if sources is None else id(sources), seed)
        if key not in self.cache:
            self.cache[key] = self.renderer(vectors, sources, seed=seed)
        return self.cache[key]


def make_renderer(name: str, quick: bool, spp: int = 32):
    if name == "tryon":
        return TryOnRenderer()
    from drot.imitator.renderers.mitsuba_scene import MitsubaRenderer
    return MitsubaRenderer(spp=4 if quick else spp)


def reference_gradient(renderer):
    if isinstance(renderer, TryOnRenderer):
        def ref(v, target, source):
            g = v.detach().clone()[None].requires_grad_(True)
            loss = (renderer.soft(g, source[None]) - target[None]).square().mean()
            return torch.autograd.grad(loss, g)[0][0]
        return ref, "autograd through TryOnRenderer.soft"
    return (lambda v, t, s: finite_difference_gradient(renderer, v, t, s)), "finite differences (common random numbers)"


def capped_psnr(mse: torch.Tensor) -> torch.Tensor:
    """Per-image PSNR (dB) of mean squared errors, capped at :data:`PSNR_CAP`."""
    return (-10 * torch.log10(mse.clamp_min(10 ** (-PSNR_CAP / 10)))).clamp(max=PSNR_CAP)


def real_mse(renderer, vectors, targets, sources) -> torch.Tensor:
    return (renderer(vectors, sources, seed=SEARCH_SEED) - targets).square().flatten(1).mean(1)


def curves_of(result, space, truth) -> tuple[dict, torch.Tensor]:
    """Mean parameter error and capped PSNR of the best-so-far point after each call, and those
    points ``[B, calls, D]``."""
    best, vectors = best_so_far(result.losses, result.visited)
    ci = space.continuous_index
    err = (vectors[..., ci] - truth[:, None, ci]).abs().mean(2).mean(0)
    return {"param_error": err.tolist(), "psnr": capped_psnr(best).mean(0).tolist()}, vectors


def recovery(args, size, space, renderer, imitator, held, held_src, targets, est, out: Path) -> tuple[dict, torch.Tensor]:
    """Every recovery method on the held-out targets: rows at their budgets and calls-vs-error curves,
    and the imitator search's result from the encoder."""
    rows, curves, ours = {}, {}, None
    enc_q = argmax_quantise(space, est)
    mse = real_mse(renderer, enc_q, targets, held_src)
    rows["encoder"] = dict(start="-", calls=1, param_error=param_error(space, enc_q, held),
                           real_psnr=float(capped_psnr(mse).mean()), discrete_acc=discrete_acc(space, enc_q, held))
    times = {}
    for loss in ("perceptual", "l2", "ot"):  # refinement through the imitator alone, then the discrete search
        t = time.perf_counter()
        refined = refine(imitator, targets, est, held_src, RefineSettings(steps=size["refine_steps"], loss=loss)).vectors
        times[f"refine_{loss}_s"] = time.perf_counter() - t
        v, calls = relax_and_search(renderer, targets, refined, held_src, seed=SEARCH_SEED)
        mse = real_mse(renderer, v, targets, held_src)
        rows[f"encoder+refine[{loss}]+search"] = dict(
            start="encoder", calls=calls // targets.shape[0], param_error=param_error(space, v, held),
            real_psnr=float(capped_psnr(mse).mean()), discrete_acc=discrete_acc(space, v, held))
    centre = space.project(torch.full((targets.shape[0], space.dim), 0.5))
    for start_name, start in (("encoder", est), ("centre", centre)):
        t = time.perf_counter()
        r = imitator_search(imitator, renderer, targets, start, held_src, SearchSettings(calls=size["calls"]),
                            seed=SEARCH_SEED)
        times[f"search_{start_name}_s"] = time.perf_counter() - t
        ours = r.vectors if start_name == "encoder" else ours
        results = {"imitator search": r}
        for method in BASELINES:
            results[method] = baseline_search(method, renderer, targets, start, held_src, calls=size["nm_calls"],
                                              seed=SEARCH_SEED)
        for method, r in results.items():
            c, vectors = curves_of(r, space, held)
            curves[f"{method} from {start_name}"] = c
            budgets = (size["calls"],) if method == "imitator search" else (size["calls"], size["nm_calls"])
            for n in budgets:
                v = vectors[:, n - 1]
                rows[f"{method} from {start_name}, {n} calls"] = dict(
                    start=start_name, calls=n, param_error=c["param_error"][n - 1], real_psnr=c["psnr"][n - 1],
                    discrete_acc=discrete_acc(space, v, held))
    x = list(range(1, size["nm_calls"] + 1))
    for key, ylabel, logy in (("param_error", "parameter error (mean abs., normalised)", True),
                              ("psnr", f"PSNR of the best real render (dB, capped at {PSNR_CAP:.0f})", False)):
        plot_curves(out / f"curves_{key}.png", {name: (x[:len(c[key])], c[key]) for name, c in curves.items()},
                    xlabel="real-renderer calls", ylabel=ylabel, logy=logy,
                    title=f"{args.renderer}: recovery on {targets.shape[0]} held-out targets")
    return {"recovery": rows, "curves": curves, "times_recovery": times}, ours


def param_error(space, est, truth):
    ci = space.continuous_index
    return float((est[:, ci] - truth[:, ci]).abs().mean())


def discrete_acc(space, est, truth):
    accs = [float((space.choice_index(est, p.name) == space.choice_index(truth, p.name)).float().mean())
            for p in space.discrete]
    return float(np.mean(accs)) if accs else float("nan")


def cached_samples(data_file: Path, count: int, dim: int, fresh: bool) -> tuple[Samples | None, bool]:
    """``(the cached samples or None, whether everything trained on them must be redone)``: a cache of
    another count or parameter space is not reused (it would be reported as the new count)."""
    if fresh or not data_file.is_file():
        return None, fresh
    samples = Samples.load(data_file)
    if len(samples) != count or samples.vectors.shape[1] != dim:
        print(f"{data_file} holds {len(samples)} samples of {samples.vectors.shape[1]} slots, this run asks for "
              f"{count} of {dim}: regenerating them and retraining the imitators and the encoder")
        return None, True
    return samples, False


def run(args) -> dict:
    torch.set_num_threads(1)
    size = dict(SIZES["quick" if args.quick else args.renderer])
    for k in ("samples", "steps", "encoder_steps", "held_out", "nm_calls", "calls"):
        if getattr(args, k) is not None:
            size[k] = getattr(args, k)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    renderer = make_renderer(args.renderer, args.quick)
    # Fidelity and sensitivity are measured against low-noise references (Mitsuba: 256 spp instead of 32).
    reference = Memo(make_renderer(args.renderer, args.quick, spp=REFERENCE_SPP))
    space = renderer.space
    res: dict = {"renderer": args.renderer, "quick": args.quick, "sizes": size, "times": {}}
    progress = not args.quick

    data_file = out / "samples.pt"
    samples, fresh = cached_samples(data_file, size["samples"], space.dim, args.fresh)
    if samples is None:
        samples = generate(renderer, size["samples"], seed=args.seed, batch=32, workers=args.workers, progress=progress)
        samples.save(data_file)
    res["times"]["data_s"] = samples.seconds
    res["times"]["data_per_render_ms"] = 1000 * samples.seconds / (2 * len(samples))

    imitators = {}
    for name, lam in (("sens", 1.0), ("nosens", 0.0)):
        # Resumes (or reuses) the checkpoint in --out unless --fresh; the time is the training's own.
        imitators[name], hist = train_imitator(samples, space, ImitatorSettings(
            steps=size["steps"], batch=size["batch"], sensitivity=lam, seed=args.seed, progress=progress,
            **NETWORK[args.renderer]),
            checkpoint=out / f"imitator_{name}.pt", resume=not fresh)
        res["times"][f"imitator_{name}_s"] = hist[-1]["seconds"]

    g = torch.Generator().manual_seed(args.seed + 99)
    held = space.sample(size["held_out"], g)
    held_src = renderer.sources(size["held_out"], g)
    # The noise floor of a stochastic renderer: PSNR of one render against another seed's.
    res["psnr_renderer_vs_itself"] = psnr(renderer(held, held_src, seed=1), renderer(held, held_src, seed=2))
    res["psnr_renderer_vs_reference"] = psnr(renderer(held, held_src, seed=1), reference(held, held_src, seed=2))
    res["psnr_reference_vs_itself"] = psnr(reference(held, held_src, seed=3), reference(held, held_src, seed=10**6))
    for name, imi in imitators.items():
        res[f"psnr_{name}"] = fidelity(imi, reference, held, held_src)
        res[f"sensitivity_{name}"] = sensitivity_errors(imi, reference, held, held_src)

    # Gradient agreement: start perturbed from the truth, target = the truth's render.
    targets = renderer(held, held_src, seed=TARGET_SEED)
    k = min(8, size["held_out"])
    start = held[:k].clone()
    start[:, space.continuous_index] = (start[:, space.continuous_index]
                                        + 0.15 * torch.randn(k, len(space.continuous), generator=g)).clamp(0, 1)
    ref, ref_name = reference_gradient(renderer)
    res["gradient_reference"] = ref_name
    for name, imi in imitators.items():
        res[f"grad_cos_{name}"] = float(np.mean(gradient_cosine(imi, ref, start, targets[:k],
                                                                None if held_src is None else held_src[:k])))

    enc_settings = EncoderSettings(steps=size["encoder_steps"], batch=16, seed=args.seed, progress=progress)
    if (out / "encoder.pt").is_file() and not fresh and load_encoder(out / "encoder.pt").space == space:
        encoder = load_encoder(out / "encoder.pt")
        res["times"]["encoder_s"] = read_checkpoint(out / "encoder.pt", "encoder")["history"][-1]["seconds"]
    else:
        encoder, hist = train_encoder(samples, imitators["sens"], enc_settings, checkpoint=out / "encoder.pt")
        res["times"]["encoder_s"] = hist[-1]["seconds"]
    t = time.perf_counter()
    for b in range(targets.shape[0]):
        encoder.predict(targets[b])
    res["times"]["encoder_inference_ms"] = 1000 * (time.perf_counter() - t) / targets.shape[0]

    est = encoder.predict(targets)
    rows, searched = recovery(args, size, space, renderer, imitators["sens"], held, held_src, targets, est, out)
    res.update(rows)
    enc_q = argmax_quantise(space, est)

    n = min(6, targets.shape[0])
    grid = torch.cat([torch.cat(list(x[:n]), 1) for x in
                      (targets, renderer(enc_q[:n], None if held_src is None else held_src[:n], seed=SEARCH_SEED),
                       renderer(searched[:n], None if held_src is None else held_src[:n], seed=SEARCH_SEED))], 0)
    import imageio
    imageio.imwrite(out / "examples.png", (grid.numpy() * 255).astype(np.uint8))
    (out / "results.json").write_text(json.dumps(res, indent=2))
    (out / "summary.md").write_text(summary(res))
    return res


def summary(res: dict) -> str:
    lines = [f"## {res['renderer']}{' (quick)' if res['quick'] else ''}", "",
             f"Imitator PSNR vs real renderer: {res['psnr_sens']:.2f} dB with the sensitivity loss, "
             f"{res['psnr_nosens']:.2f} dB without (references at {REFERENCE_SPP} spp for Mitsuba; noise floor: "
             f"the renderer against itself, another seed, {res['psnr_renderer_vs_itself']:.2f} dB, against the "
             f"reference {res['psnr_renderer_vs_reference']:.2f} dB, the reference against itself "
             f"{res['psnr_reference_vs_itself']:.2f} dB).", "",
             "| parameter | sensitivity error with L_sens | without |", "|---|---|---|"]
    for p, v in res["sensitivity_sens"].items():
        lines.append(f"| {p} | {v:.3f} | {res['sensitivity_nosens'][p]:.3f} |")
    lines += ["", f"Gradient cosine vs {res['gradient_reference']}: {res['grad_cos_sens']:.3f} with L_sens, "
              f"{res['grad_cos_nosens']:.3f} without.", "",
              f"Recovery on {res['sizes']['held_out']} held-out targets (PSNR per image capped at {PSNR_CAP:.0f} dB; "
              "parameter error: mean absolute error of the continuous slots, normalised):", "",
              "| method | real-renderer calls | param. error | real-render PSNR | discrete acc. |", "|---|---|---|---|---|"]
    for name, r in res["recovery"].items():
        lines.append(f"| {name} | {r['calls']} | {r['param_error']:.4f} | {r['real_psnr']:.2f} | {r['discrete_acc']:.2f} |")
    t, tr = res["times"], res["times_recovery"]
    lines += ["", f"Times (one thread): data {t['data_s']:.1f} s ({t['data_per_render_ms']:.1f} ms/render), "
              f"imitator {t['imitator_sens_s']:.0f} s (+ {t['imitator_nosens_s']:.0f} s without L_sens), "
              f"encoder {t['encoder_s']:.0f} s, one encoder inference {t['encoder_inference_ms']:.1f} ms; "
              "refinement of all targets through the imitator: "
              + ", ".join(f"{k[7:-2]} {v:.0f} s" for k, v in tr.items() if k.startswith("refine_"))
              + "; imitator search of all targets: "
              + ", ".join(f"from {k[7:-2]} {v:.0f} s" for k, v in tr.items() if k.startswith("search_")) + "."]
    return "\n".join(lines) + "\n"


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--renderer", choices=("tryon", "mitsuba"), default="tryon")
    p.add_argument("--quick", action="store_true", help="tiny sizes (seconds), for tests")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--samples", type=int)
    p.add_argument("--steps", type=int, help="imitator training steps")
    p.add_argument("--encoder-steps", dest="encoder_steps", type=int)
    p.add_argument("--held-out", dest="held_out", type=int)
    p.add_argument("--nm-calls", dest="nm_calls", type=int, help="real-renderer calls of the baselines")
    p.add_argument("--calls", type=int, help="real-renderer calls of the imitator search")
    p.add_argument("--workers", type=int, default=1, help="rendering processes")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--fresh", action="store_true", help="retrain even if checkpoints are in --out")
    res = run(p.parse_args(argv))
    print(summary(res))
    return res


if __name__ == "__main__":
    main()
