"""Texture and mesh files under hostile input: a one-pixel-high texture, a map_Kd that is a text file,
empty or a truncated PNG (warned by name, dropped to the flat colour), a PLY whose header promises
more rows than it holds, PLY colours missing on some rows (refused, naming the line)."""
import sys
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import torch

import drot
from drot.scene.mesh import MeshError
from drot.scene.mesh_files import image_to_texture, load_texture

sys.path.insert(0, str(Path(__file__).parent))
from test_mesh_files import halves, write_textured_quad_obj  # noqa: E402


@pytest.mark.parametrize("shape", [(1, 4, 3), (1, 1, 3), (1, 5)])
def test_a_one_pixel_high_texture_loads_and_samples(tmp_path, shape):
    img = (np.arange(np.prod(shape)).reshape(shape) * 10 % 256).astype(np.uint8)
    tex = image_to_texture(img)
    assert tex.shape == (1, shape[1], 3) and tex.is_contiguous()
    assert torch.allclose(tex[0, :, 0], torch.as_tensor(img.reshape(1, shape[1], -1)[0, :, 0] / 255.0).float())
    iio.imwrite(tmp_path / "row.png", img)
    assert torch.equal(load_texture(tmp_path / "row.png"), tex)
    colour = drot.get_backend("torch").texture(tex, torch.tensor([[0.0, 0.5], [1.0, 0.5]]))
    assert colour.shape == (2, 3) and torch.isfinite(colour).all()


def test_a_one_pixel_high_map_kd_texture_renders(tmp_path):
    mesh = drot.load_mesh(write_textured_quad_obj(tmp_path, img=halves(h=1)))
    assert mesh.texture.shape == (1, 8, 3)


def _write_png_bytes(folder, data: bytes):
    write_textured_quad_obj(folder)
    (folder / "tex.png").write_bytes(data)
    return folder / "quad.obj"


@pytest.mark.parametrize("content, why", [(b"just some notes\n", "is not an image"),
                                          (b"", r"is empty \(0 bytes\)"),
                                          ("half", "is truncated or damaged")])
def test_an_unusable_map_kd_image_is_warned_by_name_and_dropped(tmp_path, content, why):
    write_textured_quad_obj(tmp_path, img=np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8))
    if content == "half":
        good = (tmp_path / "tex.png").read_bytes()
        content = good[: len(good) // 2]
    (tmp_path / "tex.png").write_bytes(content)
    with pytest.warns(UserWarning, match=rf"quad.obj: texture image 'tex.png' \(map_Kd in quad.mtl\) {why}"):
        mesh = drot.load_mesh(tmp_path / "quad.obj")
    assert mesh.texture is None
    assert torch.allclose(mesh.colors, torch.tensor([0.5, 0.2, 1.0]).expand_as(mesh.colors), atol=3e-3)  # the flat Kd (8-bit)
    assert (tmp_path / "tex.png").read_bytes() == content  # the user's file is left as it is


_PLY_HEAD = ("ply\nformat ascii 1.0\nelement vertex {n}\nproperty float x\nproperty float y\nproperty float z\n"
             "{extra}element face 1\nproperty list uchar int vertex_indices\nend_header\n")


def test_a_ply_promising_more_vertices_than_it_holds_is_refused(tmp_path):
    (tmp_path / "short.ply").write_text(_PLY_HEAD.format(n=4, extra="") + "0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n")
    with pytest.raises(MeshError, match=r"short.ply: the header declares 4 vertex and 1 face rows \(5 lines\) but "
                                        r"the body holds 4"):
        drot.load_mesh(tmp_path / "short.ply")


def test_ply_colours_missing_on_some_rows_are_refused_naming_the_line(tmp_path):
    extra = "property uchar red\nproperty uchar green\nproperty uchar blue\n"
    (tmp_path / "c.ply").write_text(_PLY_HEAD.format(n=3, extra=extra)
                                    + "0 0 0 255 0 0\n1 0 0\n0 1 0 0 0 255\n3 0 1 2\n")
    with pytest.raises(MeshError, match=r"c.ply: 1 vertex row\(s\) do not hold the 6 values the header declares "
                                        r"\(x y z red green blue\): line 14 \(3 values\)"):
        drot.load_mesh(tmp_path / "c.ply")
    (tmp_path / "ok.ply").write_text(_PLY_HEAD.format(n=3, extra=extra)
                                     + "0 0 0 255 0 0\n1 0 0 0 255 0\n0 1 0 0 0 255\n3 0 1 2\n")
    assert torch.allclose(drot.load_mesh(tmp_path / "ok.ply").colors[1], torch.tensor([0.0, 1.0, 0.0]))
