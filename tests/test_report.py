"""Tests for drot.report (all output goes to pytest's tmp_path)."""

import csv
import dataclasses
import json
import math
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import torch

from drot import report
from drot.report import (
    LABEL_HEIGHT,
    format_table,
    image_strip,
    plot_curves,
    save_animation,
    save_image,
    save_strip,
    to_uint8,
    write_csv,
    write_json,
)


def _gradient(h=24, w=32, phase=0.0):
    """A float [H, W, 3] test image in [0, 1] whose content depends on ``phase``."""
    yy, xx = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    return torch.stack([xx, yy, torch.full_like(xx, phase)], dim=-1)


# ----------------------------------------------------------------------------- images


def test_to_uint8_clamps_and_rounds():
    img = torch.tensor([[[-0.5, 0.0, 0.5], [1.0, 2.0, 0.002]]], requires_grad=True)  # [1, 2, 3]
    out = to_uint8(img)
    assert out.dtype == np.uint8 and out.shape == (1, 2, 3)
    np.testing.assert_array_equal(out, [[[0, 0, 128], [255, 255, 1]]])
    # uint8 passes through; grey becomes RGB.
    u = np.arange(12, dtype=np.uint8).reshape(2, 2, 3)
    np.testing.assert_array_equal(to_uint8(u), u)
    assert to_uint8(torch.rand(5, 6)).shape == (5, 6, 3)
    with pytest.raises(ValueError, match="image"):
        to_uint8(torch.rand(5, 6, 2))


def test_save_image_roundtrip(tmp_path):
    img = _gradient()
    path = save_image(tmp_path / "sub" / "img.png", img)  # creates the sub folder
    back = iio.imread(path)
    assert back.shape == (24, 32, 3) and back.dtype == np.uint8
    np.testing.assert_array_equal(back, to_uint8(img))
    # Row 0 at the top: the green channel (= y) is 0 on the first row, 255 on the last.
    assert back[0, :, 1].max() == 0 and back[-1, :, 1].min() == 255


@pytest.mark.parametrize("n_rows,n_cols,pad", [(1, 1, 0), (2, 3, 2), (3, 2, 5)])
def test_image_strip_size_without_labels(n_rows, n_cols, pad):
    h, w = 10, 14
    rows = [[_gradient(h, w, (r + c) / 5) for c in range(n_cols)] for r in range(n_rows)]
    strip = image_strip(rows, pad=pad)
    assert strip.dtype == np.uint8
    assert strip.shape == (pad + n_rows * (h + pad), pad + n_cols * (w + pad), 3)
    # Cell (r, c) sits at its computed offset, unchanged.
    r, c = n_rows - 1, n_cols - 1
    y0, x0 = pad + r * (h + pad), pad + c * (w + pad)
    np.testing.assert_array_equal(strip[y0:y0 + h, x0:x0 + w], to_uint8(rows[r][c]))


def test_image_strip_with_labels_has_label_band(tmp_path):
    h, w, pad = 40, 48, 2
    rows = [[_gradient(h, w, 0.0), _gradient(h, w, 0.5), _gradient(h, w, 1.0)] for _ in range(2)]
    labels = ["start", "target", "result"]
    strip = image_strip(rows, labels, pad=pad)
    assert strip.shape == (LABEL_HEIGHT + pad + 2 * (h + pad), pad + 3 * (w + pad), 3)
    band = strip[:LABEL_HEIGHT]
    # Text was drawn: dark pixels in the band above every column.
    for c in range(3):
        x0 = pad + c * (w + pad)
        assert band[:, x0:x0 + w].min() < 100, f"no label drawn above column {c}"
    # The images start right below the band.
    np.testing.assert_array_equal(strip[LABEL_HEIGHT + pad:LABEL_HEIGHT + pad + h, pad:pad + w],
                                  to_uint8(rows[0][0]))
    # A custom band height is honoured; a too-long label does not raise.
    strip = report.image_strip([[_gradient(h, w)]], ["a very long label indeed"], pad=0,
                               label_height=20)
    assert strip.shape == (20 + h, w, 3)

    path = save_strip(tmp_path / "strip.png", rows, labels)
    assert iio.imread(path).shape == (LABEL_HEIGHT + pad + 2 * (h + pad), pad + 3 * (w + pad), 3)


def test_image_strip_mixed_sizes_and_errors():
    strip = image_strip([[_gradient(10, 10), _gradient(6, 20)], [_gradient(8, 4), _gradient(4, 4)]],
                        pad=1)
    # Columns as wide as their widest image (10, 20), rows as tall as their tallest (10, 8).
    assert strip.shape == (1 + 10 + 1 + 8 + 1, 1 + 10 + 1 + 20 + 1, 3)
    with pytest.raises(ValueError, match="row 1"):
        image_strip([[_gradient(), _gradient()], [_gradient()]])
    with pytest.raises(ValueError, match="labels"):
        image_strip([[_gradient(), _gradient()]], ["only one"])
    with pytest.raises(ValueError, match="empty"):
        image_strip([])


# ----------------------------------------------------------------------------- animation


def test_save_animation_gif(tmp_path):
    # Mixed float tensors and uint8 arrays, all distinct (pillow merges identical frames).
    frames = [_gradient(16, 20, i / 4) for i in range(4)]
    frames.append(to_uint8(_gradient(16, 20, 1.0) * 0.5))
    path = save_animation(tmp_path / "anim.gif", frames, fps=5)
    back = iio.imread(path, index=None)
    assert back.shape[0] == 5 and back.shape[1:3] == (16, 20)
    meta = iio.immeta(path, index=0)
    assert meta.get("loop") == 0  # loops forever
    assert meta.get("duration") == pytest.approx(200, abs=1)  # ms per frame at 5 fps
    # Overwriting writes a fresh file rather than appending frames.
    save_animation(path, frames[:2], fps=5)
    assert iio.imread(path, index=None).shape[0] == 2


def test_save_animation_errors(tmp_path, monkeypatch):
    frames = [_gradient(8, 8), _gradient(8, 8, 1.0)]
    with pytest.raises(ValueError, match="same size"):
        save_animation(tmp_path / "a.gif", [_gradient(8, 8), _gradient(9, 8)])
    with pytest.raises(ValueError, match=".gif"):
        save_animation(tmp_path / "a.avi", frames)
    with pytest.raises(ValueError, match="no frames"):
        save_animation(tmp_path / "a.gif", [])
    monkeypatch.setattr(report.images, "_ffmpeg_available", lambda: False)
    with pytest.raises(RuntimeError, match="imageio-ffmpeg.*gif"):
        save_animation(tmp_path / "a.mp4", frames)


# ----------------------------------------------------------------------------- plots


def test_plot_curves_writes_readable_png(tmp_path):
    its = np.arange(0, 50, 5)
    curves = {
        "ot/seed0": (its, np.exp(-its / 10.0)),
        "ot/seed1": [(int(i), float(v)) for i, v in zip(its, np.exp(-its / 12.0))],
        "l2/seed0": (torch.tensor(its), torch.tensor(np.exp(-its / 100.0))),
        # Zeros, a negative and a NaN on a log axis must not break the plot.
        "l2/seed1": (its, np.r_[1.0, 0.5, 0.0, -1.0, np.nan, 0.1, 0.1, 0.0, 0.0, 0.0]),
        "plain": [1.0, 0.5, 0.25],
    }
    path = plot_curves(tmp_path / "plots" / "mae.png", curves, "iteration", "vertex MAE",
                       "MAE vs iteration", logy=True, threshold=0.01)
    assert path.stat().st_size > 1000
    img = iio.imread(path)
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
    assert img[..., :3].std() > 5  # not a blank canvas

    # All-zero data on a log axis, linear axis, no threshold, and an empty curve.
    plot_curves(tmp_path / "zeros.png", {"a": ([0, 1], [0.0, 0.0]), "b": []}, "x", "y", "t")
    plot_curves(tmp_path / "lin.png", {"a": ([0, 1], [-1.0, 2.0])}, "x", "y", "t", logy=False,
                threshold=0.0)
    assert iio.imread(tmp_path / "zeros.png").ndim == 3
    assert iio.imread(tmp_path / "lin.png").ndim == 3


def test_plot_curves_groups_by_method(tmp_path, monkeypatch):
    from matplotlib.axes import Axes

    calls = []
    orig = Axes.plot

    def spy(self, *args, **kwargs):
        calls.append((kwargs.get("color"), kwargs.get("label")))
        return orig(self, *args, **kwargs)

    monkeypatch.setattr(Axes, "plot", spy)
    curves = {f"{m}/seed{s}": ([0, 1, 2], [1.0, 0.5, 0.1]) for m in ("ot", "l2") for s in range(3)}
    plot_curves(tmp_path / "p.png", curves, "x", "y", "t")
    assert len(calls) == 6
    ot, l2 = calls[:3], calls[3:]
    assert len({c for c, _ in ot}) == 1 and len({c for c, _ in l2}) == 1
    assert ot[0][0] != l2[0][0]  # one colour per method
    labels = [lab for _, lab in calls if not lab.startswith("_")]
    assert labels == ["ot (3 runs)", "l2 (3 runs)"]  # one legend entry per method


def test_plot_curves_rejects_bad_curve(tmp_path):
    with pytest.raises(ValueError, match="'bad'"):
        plot_curves(tmp_path / "p.png", {"bad": ([0, 1, 2], [1.0, 2.0])}, "x", "y", "t")


# ----------------------------------------------------------------------------- JSON / CSV


@dataclasses.dataclass
class _Config:
    name: str
    lr: float
    out: Path
    weights: torch.Tensor


def test_write_json_roundtrip(tmp_path):
    obj = {
        "tensor": torch.tensor([[1.0, 2.5], [3.0, 4.0]]),
        "scalar_tensor": torch.tensor(0.25),
        "inf": float("inf"),
        "neg_inf": -math.inf,
        "nan": float("nan"),
        "np_float": np.float32(1.5),
        "np_int": np.int64(7),
        "np_array": np.array([1, 2, 3]),
        "path": Path("/tmp/x.png"),
        "config": _Config("ot", 1e-3, Path("runs/a"), torch.tensor([1.0, float("inf")])),
        "tuple": (1, 2),
        3: "int key",
    }
    path = write_json(tmp_path / "out" / "result.json", obj)
    text = path.read_text()
    assert "\n  " in text  # pretty-printed
    back = json.loads(text)  # strict JSON (json.loads would accept NaN; check the text too)
    assert "NaN" not in text and "Infinity" not in text
    assert torch.equal(torch.tensor(back["tensor"]), obj["tensor"])
    assert back["scalar_tensor"] == 0.25
    assert float(back["inf"]) == math.inf and float(back["neg_inf"]) == -math.inf
    assert math.isnan(float(back["nan"]))
    assert back["np_float"] == 1.5 and back["np_int"] == 7 and back["np_array"] == [1, 2, 3]
    assert back["path"] == "/tmp/x.png"
    assert back["config"] == {"name": "ot", "lr": 1e-3, "out": "runs/a", "weights": [1.0, "inf"]}
    assert back["tuple"] == [1, 2] and back["3"] == "int key"
    assert not list(path.parent.glob(".*.tmp"))  # no leftover temporary file


def test_write_csv_union_header(tmp_path):
    rows = [
        {"method": "ot", "seed": 0, "mae": 0.01},
        {"method": "l2", "seed": 1, "success": True},
        {"mae": torch.tensor(0.5), "seed": np.int64(2), "note": None},
    ]
    path = write_csv(tmp_path / "runs.csv", rows)
    with open(path, newline="") as f:
        table = list(csv.reader(f))
    assert table[0] == ["method", "seed", "mae", "success", "note"]  # first-seen order
    assert table[1] == ["ot", "0", "0.01", "", ""]
    assert table[2] == ["l2", "1", "", "True", ""]
    assert table[3] == ["", "2", "0.5", "", ""]
    assert write_csv(tmp_path / "empty.csv", []).read_text() == ""


# ----------------------------------------------------------------------------- tables


def test_format_table_aligns_columns():
    rows = [
        {"method": "ot", "mae": 0.001234, "success": 1.0, "runs": 5},
        {"method": "rgbxy-long-name", "mae": float("inf"), "runs": 12},
        {"method": "l2", "mae": torch.tensor(0.5), "success": np.float64(0.25), "runs": 100},
    ]
    cols = ["method", "mae", "success", "runs"]
    text = format_table(rows, cols, floatfmt={"mae": ".2e", "success": "{:.0%}"})
    lines = text.splitlines()
    assert len(lines) == 2 + len(rows)
    assert len({len(line) for line in lines}) == 1  # every line equally wide
    assert lines[1].replace(" ", "").replace("-", "") == ""  # separator row
    header = lines[0]
    # Text columns left-aligned: every 'method' cell starts where the header does.
    assert all(line.index(r["method"]) == header.index("method") for line, r in
               zip(lines[2:], rows))
    # Numeric columns right-aligned: cells end where the header ends.
    end = header.index("runs") + len("runs")
    assert [line[:end].split()[-1] for line in lines[2:]] == ["5", "12", "100"]
    end = header.index("mae") + len("mae")
    assert [line[:end].split()[-1] for line in lines[2:]] == ["1.23e-03", "inf", "5.00e-01"]
    assert "100%" in lines[2] and "25%" in lines[4]


def test_format_table_markdown():
    rows = [{"method": "a|b", "mae": 0.5}, {"method": "c", "mae": 0.25}]
    text = format_table(rows, ["method", "mae"], markdown=True)
    lines = text.splitlines()
    assert all(line.startswith("| ") and line.endswith(" |") for line in lines)
    assert len({len(line) for line in lines}) == 1
    assert lines[1] == "| ------ | ---: |"  # numeric column marked right-aligned
    assert "a\\|b" in lines[2]  # pipe escaped so it does not split the cell
    assert lines[2].count(" | ") == 1
    with pytest.raises(ValueError, match="columns"):
        format_table(rows, [])


def test_curve_panels_keep_each_methods_colour_in_every_panel(tmp_path, monkeypatch):
    from matplotlib.colors import to_hex
    from drot.report import plots

    drawn = []
    original = plots._draw_curves

    def record(ax, curves, *args):
        original(ax, curves, *args)
        drawn.append({line.get_label(): to_hex(line.get_color()) for line in ax.get_lines()
                      if not line.get_label().startswith("_") and "threshold" not in line.get_label()})
    monkeypatch.setattr(plots, "_draw_curves", record)
    plots.plot_curve_panels(tmp_path / "p.png", {"DROT": {"DROT/seed0": [1.0, 0.1], "DROT/seed1": [1.0, 0.2]},
                                                  "L2": {"L2/seed0": [1.0, 0.9]}}, columns=2)
    assert len(drawn) == 2
    assert drawn[0]["DROT (2 runs)"] != drawn[1]["L2"]  # L2 is not drawn in DROT's colour in its own panel
