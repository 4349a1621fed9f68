"""Imitator benchmark (Kips et al. 2022; AgileAvatar §3.3): learn a differentiable imitator of a
black-box renderer and use it to recover parameters, on held-out settings.

    OMP_NUM_THREADS=1 python benchmarks/imitator.py --renderer tryon --out /tmp/imitator-tryon
    OMP_NUM_THREADS=1 python benchmarks/imitator.py --renderer mitsuba --out /tmp/imitator-mitsuba   # pip install "drot[mitsuba]"
    OMP_NUM_THREADS=1 python benchmarks/imitator.py --renderer tryon --quick --out /tmp/q           # seconds (CI)

Protocol (every figure from this run, nothing hard-coded):

1. render ``--samples`` training settings and their one-parameter shifts (``drot.imitator.generate``);
2. train two imitators for ``--steps`` steps, with and without the sensitivity loss;
3. on ``--held-out`` unseen settings (references for Mitsuba at 128 spp, the training renders have 32):
   imitator PSNR against the renderer; per-parameter relative
   error of the image change under a one-parameter shift (``sensitivity_errors``); the cosine of the
   parameter gradient of ``‖image − target‖²`` through the imitator vs a reference (try-on: autograd
   through the renderer's differentiable twin ``TryOnRenderer.soft``; Mitsuba: central finite
   differences of the real renderer with common random numbers — Mitsuba's ``llvm_ad_rgb`` could not
   run here: its JIT needs a newer LLVM than the system's 15), from a start perturbed from the truth;
4. train the encoder (graphics + rendering loss through the sensitivity-trained imitator);
5. recovery from the target renders: the encoder alone (argmax), encoder + refinement through the
   imitator + relax-and-search (real-renderer calls: one per discrete choice; refinement with the
   perceptual loss, and with ``--ot`` also with drot's OT loss), and Nelder–Mead on the
   real renderer from the encoder's estimate at the same number of calls and at ``--nm-calls``;
   parameter error = mean absolute error of the continuous slots (normalised to [0, 1]); PSNR of the
   real render of the result against the target; discrete accuracy of argmax vs search.

Checkpoints go to ``--out``; a second run with the same ``--out`` resumes or reuses them (``--fresh``
retrains); the training times reported are the trainings' own. Writes ``results.json``, ``summary.md`` and ``examples.png`` (rows: target, encoder, refined) to ``--out``.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from drot.imitator import (EncoderSettings, Samples, ImitatorSettings, RefineSettings, TryOnRenderer, argmax_quantise,
                           finite_difference_gradient, fidelity, generate, gradient_cosine, nelder_mead,
                           load_encoder, perceptual_loss, refine, relax_and_search, sensitivity_errors, train_encoder,
                           train_imitator)
from drot.imitator.training import read_checkpoint
from drot.metrics import psnr

SIZES = {  # samples, imitator steps, encoder steps, held-out, Nelder-Mead calls, refine steps, batch
    "tryon": dict(samples=1200, steps=1500, encoder_steps=600, held_out=24, nm_calls=60, refine_steps=100, batch=8),
    "mitsuba": dict(samples=800, steps=1500, encoder_steps=600, held_out=24, nm_calls=60, refine_steps=100, batch=8),
    "quick": dict(samples=32, steps=6, encoder_steps=6, held_out=3, nm_calls=6, refine_steps=4, batch=4),
}


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
    for k in ("samples", "steps", "encoder_steps", "held_out", "nm_calls"):
        if getattr(args, k) is not None:
            size[k] = getattr(args, k)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    renderer = make_renderer(args.renderer, args.quick)
    # Fidelity and sensitivity are measured against low-noise references (Mitsuba: 128 spp instead of 32).
    reference = make_renderer(args.renderer, args.quick, spp=128)
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
            steps=size["steps"], batch=size["batch"], sensitivity=lam, seed=args.seed, progress=progress),
            checkpoint=out / f"imitator_{name}.pt", resume=not fresh)
        res["times"][f"imitator_{name}_s"] = hist[-1]["seconds"]

    g = torch.Generator().manual_seed(args.seed + 99)
    held = space.sample(size["held_out"], g)
    held_src = renderer.sources(size["held_out"], g)
    # The noise floor of a stochastic renderer: PSNR of one render against another seed's.
    res["psnr_renderer_vs_itself"] = psnr(renderer(held, held_src, seed=1), renderer(held, held_src, seed=2))
    res["psnr_renderer_vs_reference"] = psnr(renderer(held, held_src, seed=1), reference(held, held_src, seed=2))
    for name, imi in imitators.items():
        res[f"psnr_{name}"] = fidelity(imi, reference, held, held_src)
        res[f"sensitivity_{name}"] = sensitivity_errors(imi, reference, held, held_src)

    # Gradient agreement: start perturbed from the truth, target = the truth's render.
    targets = renderer(held, held_src, seed=7)
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
    enc_q = argmax_quantise(space, est)
    ref_v = refine(imitators["sens"], targets, est, held_src, RefineSettings(steps=size["refine_steps"])).vectors
    searched, calls = relax_and_search(renderer, targets, ref_v, held_src, seed=7)
    calls_per = calls // targets.shape[0] + 1  # + the check render
    argmaxed = argmax_quantise(space, ref_v)
    ot_searched = None
    if args.ot or args.quick:  # a Sinkhorn matching of 4096 RGBXY points per target every 10 steps: slow on a CPU
        t = time.perf_counter()
        ot_v = refine(imitators["sens"], targets, est, held_src, RefineSettings(steps=size["refine_steps"], loss="ot")).vectors
        res["times"]["refine_ot_s"] = time.perf_counter() - t
        ot_searched, _ = relax_and_search(renderer, targets, ot_v, held_src, seed=7)

    def real_psnr(v):
        return psnr(renderer(v, held_src, seed=7), targets)

    rows = {"encoder": enc_q, "encoder+refine (argmax)": argmaxed, "encoder+refine+search": searched}
    if ot_searched is not None:
        rows["encoder+refine[ot]+search"] = ot_searched
    for budget_name, budget in (("nelder-mead (equal calls)", calls_per), ("nelder-mead (more calls)", size["nm_calls"])):
        vs = []
        for b in range(targets.shape[0]):
            v, _ = nelder_mead(renderer, targets[b], est[b:b + 1], None if held_src is None else held_src[b],
                               calls=budget, seed=7)
            vs.append(v)
        rows[f"{budget_name}"] = torch.stack(vs)
        res[f"calls_{budget_name}"] = budget
    res["calls_ours"] = calls_per
    res["recovery"] = {name: {"param_error": param_error(space, v, held), "real_psnr": real_psnr(v),
                              "discrete_acc": discrete_acc(space, v, held)} for name, v in rows.items()}
    res["discrete_argmax_acc"] = discrete_acc(space, argmaxed, held)
    res["discrete_search_acc"] = discrete_acc(space, searched, held)
    res["discrete_encoder_acc"] = discrete_acc(space, enc_q, held)

    n = min(6, targets.shape[0])
    grid = torch.cat([torch.cat(list(x[:n]), 1) for x in
                      (targets, renderer(enc_q[:n], None if held_src is None else held_src[:n], seed=7),
                       renderer(searched[:n], None if held_src is None else held_src[:n], seed=7))], 0)
    import imageio
    imageio.imwrite(out / "examples.png", (grid.numpy() * 255).astype(np.uint8))
    (out / "results.json").write_text(json.dumps(res, indent=2))
    (out / "summary.md").write_text(summary(res))
    return res


def summary(res: dict) -> str:
    lines = [f"## {res['renderer']}{' (quick)' if res['quick'] else ''}", "",
             f"Imitator PSNR vs real renderer: {res['psnr_sens']:.2f} dB with the sensitivity loss, "
             f"{res['psnr_nosens']:.2f} dB without (references at 128 spp for Mitsuba; the renderer against "
             f"itself, another seed: {res['psnr_renderer_vs_itself']:.2f} dB, against the reference: "
             f"{res['psnr_renderer_vs_reference']:.2f} dB).", "",
             "| parameter | sensitivity error with L_sens | without |", "|---|---|---|"]
    for p, v in res["sensitivity_sens"].items():
        lines.append(f"| {p} | {v:.3f} | {res['sensitivity_nosens'][p]:.3f} |")
    lines += ["", f"Gradient cosine vs {res['gradient_reference']}: {res['grad_cos_sens']:.3f} with L_sens, "
              f"{res['grad_cos_nosens']:.3f} without.", "",
              "| method | real-renderer calls | param. error | real-render PSNR | discrete acc. |", "|---|---|---|---|---|"]
    calls = {"encoder": 1, "encoder+refine (argmax)": 1, "encoder+refine+search": res["calls_ours"],
             "encoder+refine[ot]+search": res["calls_ours"]}
    for name, r in res["recovery"].items():
        c = calls.get(name, res.get(f"calls_{name}"))
        lines.append(f"| {name} | {c} | {r['param_error']:.4f} | {r['real_psnr']:.2f} | {r['discrete_acc']:.2f} |")
    t = res["times"]
    lines += ["", f"Discrete accuracy: argmax {res['discrete_argmax_acc']:.2f}, relax-and-search "
              f"{res['discrete_search_acc']:.2f} (encoder argmax {res['discrete_encoder_acc']:.2f}).", "",
              f"Times (loaded 2-core CPU): data {t['data_s']:.1f} s ({t['data_per_render_ms']:.1f} ms/render), "
              f"imitator {t['imitator_sens_s']:.0f} s (+ {t['imitator_nosens_s']:.0f} s without L_sens), "
              f"encoder {t['encoder_s']:.0f} s, one encoder inference {t['encoder_inference_ms']:.1f} ms"
              + (f", OT refinement of all held-out targets {t['refine_ot_s']:.0f} s." if "refine_ot_s" in t else ".")]
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
    p.add_argument("--nm-calls", dest="nm_calls", type=int)
    p.add_argument("--workers", type=int, default=1, help="rendering processes")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--fresh", action="store_true", help="retrain even if checkpoints are in --out")
    p.add_argument("--ot", action="store_true", help="also refine with drot's OT loss (slow on a CPU; always in --quick)")
    res = run(p.parse_args(argv))
    print(summary(res))
    return res


if __name__ == "__main__":
    main()
