"""drot.imitator's files and inputs: checkpoints and sample files cannot carry code (a pickled callable
is refused unrun), foreign / truncated / other-kind / other-format files are named; a black box
returning NaN or 8-bit images and nonsensical settings are refused before training."""
import dataclasses
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from drot import imitator as im
from drot.imitator.files import FORMAT

sys.path.insert(0, str(Path(__file__).parent))
from imitator_toy import ToyRenderer  # noqa: E402

_RAN = []


def _record_call(*args):  # what a malicious checkpoint would run; must never be called
    _RAN.append(args)
    return None


class _Payload:
    def __reduce__(self):
        return (_record_call, ("the checkpoint ran code",))


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    yield


@pytest.fixture(scope="module")
def samples():
    return im.generate(ToyRenderer(), 8, seed=1, progress=False)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory, samples):
    path = tmp_path_factory.mktemp("ckpt") / "imi.pt"
    im.train_imitator(samples, ToyRenderer().space, im.ImitatorSettings(steps=2, batch=4, progress=False),
                      checkpoint=path)
    return path


def test_checkpoint_carrying_a_pickled_callable_is_refused_without_running_it(tmp_path, checkpoint):
    state = torch.load(checkpoint, weights_only=True)
    state["history"] = [_Payload()]
    torch.save(state, tmp_path / "evil.pt")
    with pytest.raises(ValueError, match=r"evil.pt: refused: .*could run code"):
        im.load_imitator(tmp_path / "evil.pt")
    with pytest.raises(ValueError, match=r"evil.pt: refused"):
        im.train_imitator(im.generate(ToyRenderer(), 4, progress=False), ToyRenderer().space,
                          im.ImitatorSettings(steps=2, batch=4, progress=False), checkpoint=tmp_path / "evil.pt")
    assert _RAN == []
    assert (tmp_path / "evil.pt").is_file()  # refused, not deleted


def test_samples_file_carrying_code_is_refused(tmp_path):
    torch.save({"vectors": _Payload()}, tmp_path / "s.pt")
    with pytest.raises(ValueError, match=r"s.pt: refused"):
        im.Samples.load(tmp_path / "s.pt")
    assert _RAN == []


def test_truncated_empty_and_foreign_checkpoints_are_named(tmp_path, checkpoint):
    data = checkpoint.read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"cut.pt: the checkpoint is truncated or damaged"):
        im.load_imitator(tmp_path / "cut.pt")
    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty.pt: the checkpoint is empty"):
        im.load_imitator(tmp_path / "empty.pt")
    (tmp_path / "notes.pt").write_text("hello")
    with pytest.raises(ValueError, match=r"notes.pt: not a checkpoint \(not a file written by torch.save\)"):
        im.load_encoder(tmp_path / "notes.pt")
    torch.save([1, 2], tmp_path / "list.pt")
    with pytest.raises(ValueError, match=r"list.pt: not a drot checkpoint \(holds a list"):
        im.load_imitator(tmp_path / "list.pt")


def test_other_kind_format_or_mismatched_weights_are_named(tmp_path, checkpoint):
    with pytest.raises(ValueError, match=r"imi.pt: a 'imitator' checkpoint, expected 'encoder'"):
        im.load_encoder(checkpoint)
    state = torch.load(checkpoint, weights_only=True)
    torch.save({**state, "format": FORMAT + 1}, tmp_path / "new.pt")
    with pytest.raises(ValueError, match=rf"new.pt: written in file format {FORMAT + 1}"):
        im.load_imitator(tmp_path / "new.pt")
    torch.save({**state, "config": {**state["config"], "width": 8}}, tmp_path / "wide.pt")
    with pytest.raises(ValueError, match=r"wide.pt: the weights do not fit the network described by its config"):
        im.load_imitator(tmp_path / "wide.pt")
    del state["optimizer"]
    torch.save(state, tmp_path / "partial.pt")
    im.load_imitator(tmp_path / "partial.pt")  # enough to use it...
    with pytest.raises(ValueError, match=r"partial.pt: not a complete checkpoint \(missing key 'optimizer'\)"):
        im.train_imitator(im.generate(ToyRenderer(), 4, progress=False), ToyRenderer().space,
                          im.ImitatorSettings(steps=3, batch=4, progress=False), checkpoint=tmp_path / "partial.pt")


def test_checkpoint_of_before_the_format_key_still_loads(tmp_path, checkpoint):
    state = torch.load(checkpoint, weights_only=True)
    del state["format"], state["kind"]
    torch.save(state, tmp_path / "old.pt")
    assert im.load_imitator(tmp_path / "old.pt").space == ToyRenderer().space


def test_samples_round_trip_and_truncated_or_inconsistent_samples_are_named(tmp_path, samples):
    samples.save(tmp_path / "s.pt")
    back = im.Samples.load(tmp_path / "s.pt")
    assert torch.equal(back.images, samples.images) and len(back) == len(samples)
    data = (tmp_path / "s.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[:100])
    with pytest.raises(ValueError, match=r"cut.pt: the samples file is truncated or damaged"):
        im.Samples.load(tmp_path / "cut.pt")
    d = dataclasses.asdict(samples)
    d["shift_index"] = d["shift_index"][:3]
    torch.save(d, tmp_path / "short.pt")
    with pytest.raises(ValueError, match=r"short.pt: samples file key 'shift_index' has shape \(3,\)"):
        im.Samples.load(tmp_path / "short.pt")


class _Broken(ToyRenderer):
    def __init__(self, mode):
        super().__init__()
        self.mode = mode

    def render_one(self, setting, source, seed):
        img = super().render_one(setting, source, seed)
        if self.mode == "nan":
            img[0, 0, 0] = np.nan
        elif self.mode == "uint8":
            img = (img * 255).astype(np.uint8)
        elif self.mode == "0-255 float":
            img = img * 255
        return img


@pytest.mark.parametrize("mode, message", [("nan", r"_Broken.render_one returned an image with 1 NaN"),
                                           ("uint8", r"_Broken.render_one returned a uint8 image"),
                                           ("0-255 float", r"returned values in \[.*\].*divide by 255")])
def test_black_box_returning_nan_or_8_bit_images_is_refused(mode, message):
    with pytest.raises((ValueError, TypeError), match=message):
        im.generate(_Broken(mode), 2, progress=False)


@pytest.mark.parametrize("field, value, message", [("steps", -5, r"ImitatorSettings.steps must be > 0, got -5"),
                                                   ("batch", 0, r"ImitatorSettings.batch must be > 0"),
                                                   ("lr", float("nan"), r"ImitatorSettings.lr must be finite"),
                                                   ("sensitivity", -1.0, r"sensitivity must be >= 0"),
                                                   ("steps", 2.5, r"ImitatorSettings.steps must be an integer")])
def test_imitator_settings_that_make_no_sense_are_refused(field, value, message):
    with pytest.raises((ValueError, TypeError), match=message):
        im.ImitatorSettings(**{field: value})


def test_encoder_settings_that_make_no_sense_are_refused():
    with pytest.raises(ValueError, match=r"EncoderSettings.steps must be > 0, got -1"):
        im.EncoderSettings(steps=-1)


def test_the_benchmark_does_not_reuse_cached_samples_of_another_count(tmp_path, samples, capsys):
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_imitator_cache",
                                                  Path(__file__).resolve().parents[1] / "benchmarks" / "imitator.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    samples.save(tmp_path / "samples.pt")
    dim = samples.vectors.shape[1]
    cached, fresh = bench.cached_samples(tmp_path / "samples.pt", len(samples), dim, False)
    assert cached is not None and len(cached) == len(samples) and not fresh
    cached, fresh = bench.cached_samples(tmp_path / "samples.pt", 2 * len(samples), dim, False)
    assert cached is None and fresh  # regenerated, and the imitators retrained on the new ones
    assert f"holds {len(samples)} samples of {dim} slots, this run asks for {2 * len(samples)}" in capsys.readouterr().out
    assert bench.cached_samples(tmp_path / "samples.pt", len(samples), dim, True) == (None, True)
