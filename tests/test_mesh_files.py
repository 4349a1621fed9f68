"""Mesh files with their appearance (OBJ+MTL+PNG, GLB, PLY), image textures in scene files, and
normals merged across seams. Every asset is generated here, in tmp_path."""
import dataclasses
import warnings

import imageio.v3 as iio
import numpy as np
import pytest
import torch
import trimesh
from PIL import Image

import drot
from drot.render.shading import Material
from drot.render.state import vertex_normals
from drot.scene.kit import box, uv_sphere
from drot.scene.mesh import Mesh, MeshError, weld_groups

RED, BLUE, GREEN = (255, 0, 0), (0, 0, 255), (0, 255, 0)
QUAD_V = [[-1, -1, 0], [1, -1, 0], [1, 1, 0], [-1, 1, 0]]   # in the XY plane, facing +Z
QUAD_F = [[0, 1, 2], [0, 2, 3]]
QUAD_UV = [[0, 0], [1, 0], [1, 1], [0, 1]]


def halves(left=RED, right=BLUE, h=4, w=8) -> np.ndarray:
    img = np.zeros((h, w, 3), np.uint8)
    img[:, : w // 2], img[:, w // 2:] = left, right
    return img


def write_textured_quad_obj(folder, image="tex.png", write_image=True, img=None):
    if write_image:
        iio.imwrite(folder / image, halves() if img is None else img)
    (folder / "quad.mtl").write_text(f"newmtl paint\nKd 0.5 0.2 1.0\nmap_Kd {image}\n")
    lines = ["mtllib quad.mtl"] + [f"v {x} {y} {z}" for x, y, z in QUAD_V] + [f"vt {u} {v}" for u, v in QUAD_UV]
    lines += ["usemtl paint"] + [f"f {a + 1}/{a + 1} {b + 1}/{b + 1} {c + 1}/{c + 1}" for a, b, c in QUAD_F]
    (folder / "quad.obj").write_text("\n".join(lines) + "\n")
    return folder / "quad.obj"


def front_render(mesh: Mesh) -> torch.Tensor:
    """The mesh seen from +Z (x to the right, y up), 64², no specular: image [64, 64, 3], top row first."""
    cam = drot.Camera(torch.tensor([0.0, 0.0, 3.0]), torch.zeros(3), torch.tensor([0.0, 1.0, 0.0]))
    still = drot.Parameter("t", "translation", torch.zeros(3), initial=torch.zeros(3))
    scene = drot.Scene("t", mesh, [cam], 64, [still],
                       material=Material(specular=0.0))
    return drot.render_views(scene.evaluate(scene.target_values()), [0], (64, 64), drot.get_backend("torch")).image[0]


def assert_left_right(image, left, right):
    """Pixels a quarter from each side, mid-height, are dominated by the expected channel."""
    for col, channel in ((16, left), (47, right)):
        px = image[32, col]
        others = [px[k] for k in range(3) if k != channel]
        assert px[channel] > 0.3 and all(px[channel] > 3 * o for o in others), (col, px.tolist())


# ------------------------------------------------------------------------------ mesh files
def test_obj_mtl_png_renders_its_texture(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # a complete file loads without a warning
        mesh = drot.load_mesh(write_textured_quad_obj(tmp_path))
    assert mesh.uvs is not None and mesh.texture is not None and mesh.texture.shape == (4, 8, 3)
    assert torch.equal(mesh.texture[0, 0], torch.tensor([1.0, 0.0, 0.0]))   # u = 0 is the left half: red
    assert_left_right(front_render(mesh), 0, 2)


def test_texture_rows_flipped_to_v_up(tmp_path):
    img = np.zeros((4, 4, 3), np.uint8)
    img[:2], img[2:] = GREEN, RED           # image top green, bottom red
    mesh = drot.load_mesh(write_textured_quad_obj(tmp_path, img=img))
    assert torch.equal(mesh.texture[0, 0], torch.tensor([1.0, 0.0, 0.0]))   # row 0 = v of 0 = the bottom
    image = front_render(mesh)
    assert image[20, 32, 1] > 3 * image[20, 32, 0] and image[44, 32, 0] > 3 * image[44, 32, 1]


def test_glb_embedded_texture_and_base_color_factor(tmp_path):
    mat = trimesh.visual.material.PBRMaterial(baseColorTexture=Image.fromarray(halves()),
                                              baseColorFactor=[255, 255, 255, 255])
    tm = trimesh.Trimesh(QUAD_V, QUAD_F, process=False,
                         visual=trimesh.visual.TextureVisuals(uv=np.array(QUAD_UV, float), material=mat))
    tm.export(tmp_path / "quad.glb")
    mesh = drot.load_mesh(tmp_path / "quad.glb")
    assert mesh.texture is not None
    assert_left_right(front_render(mesh), 0, 2)

    # a factor multiplies the texture: red x (0, 0, 1) is black, blue x (0, 0, 1) stays blue
    mat.baseColorFactor = [0, 0, 255, 255]
    tm.export(tmp_path / "blue.glb")
    tex = drot.load_mesh(tmp_path / "blue.glb").texture
    assert tex[:, :4].max() == 0 and torch.allclose(tex[:, 4:], torch.tensor([0.0, 0.0, 1.0]))


def test_glb_base_color_factor_alone_is_a_flat_colour(tmp_path):
    mat = trimesh.visual.material.PBRMaterial(baseColorFactor=[0, 255, 0, 255])
    trimesh.Trimesh(QUAD_V, QUAD_F, process=False,
                    visual=trimesh.visual.TextureVisuals(material=mat)).export(tmp_path / "green.glb")
    mesh = drot.load_mesh(tmp_path / "green.glb")
    assert mesh.texture is None and torch.allclose(mesh.colors, torch.tensor([0.0, 1.0, 0.0]))
    assert_left_right(front_render(mesh), 1, 1)


def test_ply_vertex_colours(tmp_path):
    # two quads side by side: the left one red, the right one blue
    v = [[-1, -1, 0], [0, -1, 0], [0, 1, 0], [-1, 1, 0], [0, -1, 0], [1, -1, 0], [1, 1, 0], [0, 1, 0]]
    f = [[0, 1, 2], [0, 2, 3], [4, 5, 6], [4, 6, 7]]
    colors = np.array([RED + (255,)] * 4 + [BLUE + (255,)] * 4, np.uint8)
    trimesh.Trimesh(v, f, vertex_colors=colors, process=False).export(tmp_path / "two.ply")
    mesh = drot.load_mesh(tmp_path / "two.ply")
    assert mesh.colors is not None and mesh.texture is None
    assert_left_right(front_render(mesh), 0, 2)


def test_several_textures_are_baked_to_vertex_colours_with_a_warning(tmp_path):
    iio.imwrite(tmp_path / "rb.png", halves())
    iio.imwrite(tmp_path / "green.png", np.full((2, 2, 3), GREEN, np.uint8))
    (tmp_path / "two.mtl").write_text("newmtl a\nmap_Kd rb.png\nnewmtl b\nmap_Kd green.png\n")
    (tmp_path / "two.obj").write_text(
        "mtllib two.mtl\nv -1 -1 0\nv 1 -1 0\nv 1 1 0\nv -1 1 0\nvt 0.1 0.5\nvt 0.9 0.5\nvt 0.9 0.5\nvt 0.1 0.5\n"
        "usemtl a\nf 1/1 2/2 3/3\nusemtl b\nf 1/1 3/3 4/4\n")
    with pytest.warns(UserWarning, match=r"two\.obj.*2 textures.*per-vertex colours"):
        mesh = drot.load_mesh(tmp_path / "two.obj")
    assert mesh.texture is None and mesh.colors is not None
    c = mesh.colors.numpy()
    # each geometry's vertices got its own texture's colour at their UVs (red at u=0.1, blue at 0.9, green)
    found = {tuple(np.round(x, 3)) for x in c}
    assert {(1.0, 0.0, 0.0), (0.0, 0.0, 1.0), (0.0, 1.0, 0.0)} <= found, found


# ------------------------------------------------------------------------------ warnings
def test_missing_texture_image_warns_naming_it(tmp_path):
    path = write_textured_quad_obj(tmp_path, image="nothere.png", write_image=False)
    with pytest.warns(UserWarning, match=r"quad\.obj.*nothere\.png.*dropped"):
        mesh = drot.load_mesh(path)
    assert mesh.texture is None and mesh.uvs is not None
    assert torch.allclose(mesh.colors[0], torch.tensor([0.5, 0.2, 1.0]), atol=3e-3)   # the MTL's Kd


def test_missing_mtl_and_texture_without_uvs_warn(tmp_path):
    path = write_textured_quad_obj(tmp_path)
    path.write_text(path.read_text().replace("quad.mtl", "gone.mtl"))
    with pytest.warns(UserWarning, match=r"gone\.mtl"):
        drot.load_mesh(path)
    mat = trimesh.visual.material.PBRMaterial(baseColorTexture=Image.fromarray(halves()))
    tm = trimesh.Trimesh(QUAD_V, QUAD_F, process=False)
    tm.visual = trimesh.visual.TextureVisuals(material=mat)
    tm.export(tmp_path / "nouv.glb")
    with pytest.warns(UserWarning, match=r"nouv\.glb.*texture is dropped.*no UVs"):
        assert drot.load_mesh(tmp_path / "nouv.glb").texture is None


def test_transparency_dropped_warns(tmp_path):
    rgba = np.concatenate([halves(), np.full((4, 8, 1), 128, np.uint8)], 2)
    with pytest.warns(UserWarning, match="alpha"):
        mesh = drot.load_mesh(write_textured_quad_obj(tmp_path, img=rgba))
    assert mesh.texture.shape == (4, 8, 3)


# ------------------------------------------------------------------------------ scene files
def scene_toml(folder, texture_line: str, extra: str = "") -> "Path":  # noqa: F821
    path = folder / "s.toml"
    path.write_text(f"""
resolution = 64
[mesh]
file = "quad.obj"
normalize = false
{texture_line}
{extra}
[material]
specular = 0.0
[[views.cameras]]
eye = [0, 0, 3]
[[parameters]]
name = "t"
kind = "translation"
target = [0, 0, 0]
initial = [0, 0, 0]
""")
    return path


def test_scene_file_texture_names_an_image_file(tmp_path):
    write_textured_quad_obj(tmp_path)                                   # the file's own texture: red | blue
    iio.imwrite(tmp_path / "wood.png", halves(left=GREEN, right=RED))
    scene = drot.load_scene(scene_toml(tmp_path, 'texture = "wood.png"'))
    image = drot.render_views(scene.evaluate(scene.target_values()), [0], (64, 64), drot.get_backend("torch")).image[0]
    assert_left_right(image, 1, 0)                                     # replaced: green | red


def test_scene_file_missing_texture_is_a_clear_error(tmp_path):
    write_textured_quad_obj(tmp_path)
    path = scene_toml(tmp_path, 'texture = "textures/nope.png"')
    with pytest.raises(ValueError, match=r"s\.toml.*\[mesh\].*`texture`.*nope\.png"):
        drot.load_scene(path)
    (tmp_path / "bad.png").write_text("not an image")
    with pytest.raises(ValueError, match=r"s\.toml.*`texture`.*bad\.png"):
        drot.load_scene(scene_toml(tmp_path, 'texture = "bad.png"'))


def test_scene_file_merge_seams(tmp_path):
    write_textured_quad_obj(tmp_path)
    plain = drot.load_scene(scene_toml(tmp_path, ""))
    merged = drot.load_scene(scene_toml(tmp_path, "", "merge_seams = true"))
    assert plain.mesh.normal_groups is None
    assert merged.mesh.normal_groups is not None and torch.equal(merged.mesh.uvs, plain.mesh.uvs)
    with pytest.raises(ValueError, match="merge_seams"):
        drot.load_scene(scene_toml(tmp_path, "", 'merge_seams = "yes"'))


# ------------------------------------------------------------------------------ seams
def max_seam_angle(normals: torch.Tensor, groups: torch.Tensor) -> float:
    """Largest angle (radians) between the normals of two vertices of one group."""
    worst = 0.0
    n = normals.double()
    for g in torch.unique(groups):
        idx = (groups == g).nonzero().reshape(-1)
        if len(idx) > 1:
            a, b = n[idx][:, None].expand(-1, len(idx), -1), n[idx][None].expand(len(idx), -1, -1)
            angle = torch.atan2(torch.linalg.cross(a, b).norm(dim=-1), (a * b).sum(-1))  # exact near 0
            worst = max(worst, float(angle.max()))
    return worst


def textured_cube_obj(folder) -> "Path":  # noqa: F821
    """kit.box (corners duplicated per side, as OBJ exporters do) with per-side UVs, exported by trimesh."""
    m = box()
    uv = np.tile(np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float), (6, 1))
    mat = trimesh.visual.material.SimpleMaterial(image=Image.fromarray(halves()))
    trimesh.Trimesh(m.vertices.numpy(), m.faces.numpy(), process=False,
                    visual=trimesh.visual.TextureVisuals(uv=uv, material=mat)).export(folder / "cube.obj")
    return folder / "cube.obj"


def test_merge_seams_shares_normals_and_keeps_uvs(tmp_path):
    path = textured_cube_obj(tmp_path)
    split = drot.load_mesh(path)
    merged = drot.load_mesh(path, merge_seams=True)
    assert split.normal_groups is None and merged.num_vertices == split.num_vertices == 24
    groups = merged.normal_groups
    assert len(torch.unique(groups)) == 8                                # the cube's 8 corners
    before = max_seam_angle(vertex_normals(split.vertices, split.faces), groups)
    after = max_seam_angle(vertex_normals(merged.vertices, merged.faces, groups), groups)
    assert before > np.radians(80) and after < 1e-3, (np.degrees(before), np.degrees(after))
    # the UV seams, positions, faces and texture are untouched
    for name in ("vertices", "faces", "uvs", "texture"):
        assert torch.equal(getattr(merged, name), getattr(split, name)), name
    corner = groups == groups[0]
    assert len(torch.unique(merged.uvs[corner], dim=0)) > 1              # one position, several UVs
    # the renderer uses them: the shading differs
    assert not torch.allclose(front_render(split), front_render(merged))


def test_vertex_normals_default_unchanged_and_groups_differentiable():
    m = uv_sphere(rings=6, segments=8)
    v = m.vertices.clone().requires_grad_(True)
    ident = torch.arange(m.num_vertices)
    assert torch.equal(vertex_normals(v, m.faces, ident), vertex_normals(v, m.faces))
    vertex_normals(v, m.faces, weld_groups(m.vertices)).sum().backward()
    assert v.grad is not None and torch.isfinite(v.grad).all()


def test_vertex_normals_of_a_batch_equal_each_member_alone():
    m = uv_sphere(rings=6, segments=8)
    v = (m.vertices + 0.05 * torch.randn(2, 3, *m.vertices.shape, generator=torch.Generator().manual_seed(0)))
    v.requires_grad_(True)
    for groups in (None, weld_groups(m.vertices)):
        batch = vertex_normals(v, m.faces, groups)
        weights = torch.randn_like(batch)
        (grad,) = torch.autograd.grad(batch, v, weights)
        for i in range(2):
            for j in range(3):
                alone = vertex_normals(v[i, j], m.faces, groups)
                assert torch.equal(batch[i, j], alone)
                (grad_alone,) = torch.autograd.grad(alone, v, weights[i, j])
                assert torch.allclose(grad[i, j], grad_alone[i, j], atol=1e-6)


def test_weld_groups_and_mesh_carry_them():
    verts = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 0, 1e-9], [1, 1e-8, 0], [0, 1, 0]])
    g = weld_groups(verts)
    assert g.tolist() == [0, 1, 0, 1, 4]
    assert weld_groups(verts, tolerance=0.0).tolist() == [0, 1, 2, 3, 4]
    a = Mesh(verts, torch.tensor([[0, 1, 4]]), normal_groups=g)
    both = Mesh.concatenate([a, a])
    assert both.normal_groups.tolist() == [0, 1, 0, 1, 4, 5, 6, 5, 6, 9]
    assert Mesh.concatenate([box(), box()]).normal_groups is None         # procedural meshes unchanged
    assert torch.equal(a.normalized().normal_groups, g) and a.to("cpu").normal_groups is not None
    with pytest.raises(MeshError, match="normal_groups"):
        dataclasses.replace(a, normal_groups=torch.tensor([0, 1, 2, 3, 5]))
