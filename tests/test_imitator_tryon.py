"""The AR try-on black box: non-differentiable, thresholds that behave; the benchmark and the example in quick mode."""
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from drot import imitator as im

ROOT = Path(__file__).resolve().parents[1]
BASE = dict(r=0.2, g=0.3, b=0.9, opacity=1.0, gloss=0.0, gloss_size=0.1, finish="satin")


def _render(renderer, source, **change):
    return renderer(renderer.space.encode([{**BASE, **change}]), source)[0]


def test_tryon_is_not_differentiable_and_edits_only_the_thresholded_lips(one_thread):
    r = im.TryOnRenderer()
    source = r.sources(1, torch.Generator().manual_seed(0))
    v = r.space.encode([BASE]).requires_grad_(True)
    out = r(v, source)
    assert not out.requires_grad and out.grad_fn is None
    mask = torch.from_numpy(r.lip_mask(np.round(source[0].numpy() * 255).astype(np.int32)))
    assert 50 < int(mask.sum()) < 0.3 * mask.numel()
    changed = (out[0] - torch.round(source[0] * 255) / 255).abs().sum(-1) > 1e-6  # the output is 8-bit
    assert torch.equal(changed & ~mask, torch.zeros_like(mask))     # nothing outside the lip mask
    assert float(out[0][mask][:, 2].mean()) > float(source[0][mask][:, 2].mean()) + 0.2  # blue lips
    # 8-bit output: every value is a multiple of 1/255.
    assert torch.allclose(out * 255, torch.round(out * 255), atol=1e-4)


def test_tryon_thresholds_behave(one_thread):
    r = im.TryOnRenderer()
    source = r.sources(1, torch.Generator().manual_seed(1))
    plain = _render(r, source)
    glossy = _render(r, source, gloss=1.0, gloss_size=0.1)
    wider = _render(r, source, gloss=1.0, gloss_size=0.35)
    lit = lambda img: int(((img - plain).abs().sum(-1) > 0.3).sum())  # noqa: E731
    assert 0 < lit(glossy) < lit(wider)                    # a lower threshold lights more pixels
    # A tiny change of the highlight threshold changes nothing, or whole pixels at once (a step).
    a, b = _render(r, source, gloss=1.0, gloss_size=0.2), _render(r, source, gloss=1.0, gloss_size=0.2005)
    diff = (a - b).abs()
    assert float(diff.max()) == 0.0 or float(diff.max()) > 0.3
    # The LUT quantises: the image is piecewise constant in the colour (tiny steps often change nothing).
    sweep = [_render(r, source, r=0.2 + k * 1e-4) for k in range(10)]
    assert sum(torch.equal(a, b) for a, b in zip(sweep, sweep[1:])) >= 3 and not torch.equal(sweep[0], sweep[-1])
    shimmer = _render(r, source, finish="shimmer")
    assert (shimmer - plain).abs().sum() > 0
    # The differentiable twin agrees away from the thresholds and has gradients.
    v = r.space.encode([BASE]).requires_grad_(True)
    soft = r.soft(v, source)
    assert (soft[0] - plain).abs().mean() < 2 / 255
    soft.sum().backward()
    assert v.grad[0, r.space.slices["b"]].abs().sum() > 0


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_benchmark_quick_writes_every_figure(tmp_path, one_thread):
    bench = _load(ROOT / "benchmarks" / "imitator.py", "bench_imitator")
    res = bench.main(["--renderer", "tryon", "--quick", "--out", str(tmp_path)])
    saved = json.loads((tmp_path / "results.json").read_text())
    for key in ("psnr_sens", "psnr_nosens", "sensitivity_sens", "sensitivity_nosens", "grad_cos_sens", "recovery",
                "curves", "times", "times_recovery"):
        assert key in saved, key
    assert set(res["sensitivity_sens"]) == set(im.TryOnRenderer().space.names)
    ours, base = res["sizes"]["calls"], res["sizes"]["nm_calls"]
    rows = res["recovery"]
    assert {"encoder", "encoder+refine[ot]+search", f"imitator search from encoder, {ours} calls",
            f"cma-es from centre, {base} calls", f"random from encoder, {ours} calls"} <= set(rows)
    # Every curve is a best-so-far curve: its PSNR never drops with more calls.
    for name, curve in res["curves"].items():
        assert len(curve["psnr"]) == (ours if name.startswith("imitator") else base), name
        assert all(b >= a - 1e-9 for a, b in zip(curve["psnr"], curve["psnr"][1:])), name
    # The search keeps only real improvements: never worse than the encoder's own render.
    assert rows[f"imitator search from encoder, {ours} calls"]["real_psnr"] >= rows["encoder"]["real_psnr"] - 1e-6
    for f in ("examples.png", "curves_psnr.png", "curves_param_error.png"):
        assert (tmp_path / f).is_file(), f
    assert "| method |" in (tmp_path / "summary.md").read_text()


def test_example_quick(tmp_path, one_thread):
    example = _load(ROOT / "examples" / "imitator.py", "example_imitator")
    result = example.main(["--quick", "--out", str(tmp_path)])
    assert set(result["final"]) == set(result["truth"]) and (tmp_path / "result.png").is_file()
    assert 3 <= result["search_calls"] <= 5  # the discrete search (3 finishes), then steps within the budget
    assert result["psnr_final"] >= result["psnr_encoder"] - 1e-6


def test_options_run_reports_fidelity_sensitivity_and_error_regions(tmp_path, one_thread):
    run = _load(ROOT / "benchmarks" / "imitator_options.py", "bench_imitator_options")
    res = run.main(["--samples", "12", "--steps", "2", "--held-out", "3", "--regions", "--log", str(tmp_path / "l.jsonl"),
                    "--options", '{"context": true, "gated": true, "positional": 2, "pixel_l2": 5}'])
    assert set(res["sensitivity"]) == set(im.TryOnRenderer().space.names) and res["psnr"] > 0
    assert abs(sum(r["share"] for r in res["regions"].values()) - 1) < 0.05  # regions overlap nowhere but lips/outside
    assert json.loads((tmp_path / "l.jsonl").read_text())["options"]["gated"] is True
    with pytest.raises(SystemExit):
        run.main(["--options", '{"gate": true}'])  # an unknown option: a usage error naming it
