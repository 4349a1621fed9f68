"""Bad inputs for ``benchmarks/bad_inputs.py`` on the surfaces added since the first catalogue
(areas ``objects``, ``texture file``, ``multi-start``, ``own loop``, ``sweeps``, ``imitator``; and one
``run`` case, a check that came after the work).

A case whose right answer is a warning (a texture dropped by name, a run record skipped by line)
turns the warning into a ValueError of the same text (:func:`warned`), so the catalogue checks its
message like an error's."""
from __future__ import annotations

import dataclasses
import functools
import io
import socket
import warnings
from contextlib import redirect_stderr
from pathlib import Path

import numpy as np
import torch

from bad_inputs import Case

import drot


def warned(fn):
    """``fn(tmp)``, with its first UserWarning raised as a ValueError (no warning: returns, so ``wrong``)."""
    def case(tmp: Path):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fn(tmp)
        user = [w for w in caught if issubclass(w.category, UserWarning)]
        if user:
            raise ValueError(str(user[0].message))
    return case


def exit_code_2(main, argv):
    """A command line's error exit (code 2) as a ValueError carrying what it printed on stderr."""
    def case(tmp: Path):
        err = io.StringIO()
        with redirect_stderr(err):
            code = main([a.replace("$TMP", str(tmp)) for a in argv])
        if code == 2:
            raise ValueError(err.getvalue())
        return code
    return case


# ------------------------------------------------------------------------------------ objects
CAMERA = drot.Camera(torch.tensor([0.0, 0.0, 5.0]), torch.zeros(3), torch.tensor([0.0, 1.0, 0.0]), 45.0, 0.1, 50.0)


def _two(sphere_at=(0.0, 0.0, 1.0), names=("sphere", "box"), sphere_params=None):
    from drot.scene import kit
    from drot.scene.objects import SceneObject

    params = sphere_params if sphere_params is not None else (
        drot.Parameter("t", "translation", torch.zeros(3), init_range=(-0.3, 0.3)),)
    sphere = SceneObject(names[0], kit.paint(kit.uv_sphere(0.4, rings=6, segments=12), (0.9, 0.1, 0.1)),
                         torch.tensor(sphere_at), parameters=params)
    box = SceneObject(names[1], kit.paint(kit.box((2.0, 2.0, 0.5)), (0.1, 0.2, 0.9)), torch.tensor([0.0, 0.0, -1.0]))
    return drot.Scene.with_objects("two", [sphere, box], [CAMERA], 24)


_OBJECT_FILE = """name = "two"
resolution = 16
[views]
fov = 60.0
[[views.cameras]]
eye = [0.0, 0.0, 6.0]
target = [0.0, 0.0, 0.0]
{top}
[[objects]]
name = "a"
[objects.mesh]
procedural = "coloured_cube"
[objects.material]
ambient = 0.2
{params}
"""
_PARAM = '[[objects.parameters]]\nname = "t"\nkind = "translation"\ntarget = [0.0, 0.0, 0.0]\ninit_range = [-0.2, 0.2]\n'


def _object_file(tmp: Path, top: str = "", params: str = _PARAM) -> drot.Scene:
    path = tmp / "objects.toml"
    path.write_text(_OBJECT_FILE.format(top=top, params=params))
    return drot.load_scene(path)


O = "objects"
OBJECTS = [
    Case("object hidden behind another", O, lambda t: drot.optimize(_two((0.0, 0.0, -3.0)), iterations=3),
         ("sphere/t", "hidden behind other objects", "fixed=")),
    Case("object outside every view", O, lambda t: drot.optimize(_two((20.0, 0.0, 0.0)), iterations=3),
         ("sphere/t", "outside every view")),
    Case("top-level [material] applying to no object", O,
         lambda t: _object_file(t, top="[material]\nambient = 0.9\n"), ("objects.toml", "applies to no object")),
    Case("two objects of one name", O, lambda t: _two(names=("x", "x")), "unique"),
    Case("object name with a slash", O, lambda t: _two(names=("a/b", "box")), ("a/b", "object name")),
    Case("camera parameter declared on an object", O, lambda t: _two(sphere_params=(
        drot.Parameter("e", "camera_eye", torch.zeros(3), init_range=(0, 1)),)), "whole scene"),
    Case("objects file without parameters", O, lambda t: _object_file(t, params=""), ("objects.toml", "parameters")),
]


# ------------------------------------------------------------------------------- texture files
_QUAD_OBJ = ("mtllib quad.mtl\nv -1 -1 0\nv 1 -1 0\nv 1 1 0\nv -1 1 0\nvt 0 0\nvt 1 0\nvt 1 1\nvt 0 1\n"
             "usemtl paint\nf 1/1 2/2 3/3\nf 1/1 3/3 4/4\n")


def _quad_with_image(data: bytes | str):
    def case(tmp: Path):
        import imageio.v3 as iio

        (tmp / "quad.mtl").write_text("newmtl paint\nKd 0.5 0.2 1.0\nmap_Kd tex.png\n")
        (tmp / "quad.obj").write_text(_QUAD_OBJ)
        if data == "truncated":
            iio.imwrite(tmp / "tex.png", np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8))
            good = (tmp / "tex.png").read_bytes()
            (tmp / "tex.png").write_bytes(good[: len(good) // 2])
        else:
            (tmp / "tex.png").write_bytes(data)
        return drot.load_mesh(tmp / "quad.obj")
    return case


_PLY = ("ply\nformat ascii 1.0\nelement vertex {n}\nproperty float x\nproperty float y\nproperty float z\n{extra}"
        "element face 1\nproperty list uchar int vertex_indices\nend_header\n{body}")


def _ply(n: int, body: str, extra: str = ""):
    def case(tmp: Path):
        (tmp / "m.ply").write_text(_PLY.format(n=n, extra=extra, body=body))
        return drot.load_mesh(tmp / "m.ply")
    return case


_RGB = "property uchar red\nproperty uchar green\nproperty uchar blue\n"


def _texture_file(data: bytes):
    def case(tmp: Path):
        from drot.scene.mesh_files import load_texture

        (tmp / "t.png").write_bytes(data)
        return load_texture(tmp / "t.png")
    return case


T = "texture file"
TEXTURES = [
    Case("map_Kd is a text file", T, warned(_quad_with_image(b"notes\n")), ("tex.png", "map_Kd", "is not an image")),
    Case("map_Kd is empty", T, warned(_quad_with_image(b"")), ("tex.png", "is empty")),
    Case("map_Kd is a truncated PNG", T, warned(_quad_with_image("truncated")), ("tex.png", "is truncated")),
    Case("PLY header promises more vertices", T, _ply(4, "0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n"),
         ("m.ply", "header declares 4 vertex")),
    Case("PLY colours missing on a row", T, _ply(3, "0 0 0 255 0 0\n1 0 0\n0 1 0 0 0 255\n3 0 1 2\n", _RGB),
         ("m.ply", "line 14", "x y z red green blue")),
    Case("PLY face row missing", T, _ply(3, "0 0 0\n1 0 0\n0 1 0\n"), ("m.ply", "1 face")),
    Case("texture image is a text file", T, _texture_file(b"hello"), ("t.png", "cannot read texture image")),
    Case("texture image is empty", T, _texture_file(b""), ("t.png", "cannot read texture image")),
]


# -------------------------------------------------------------------------------- multi-start
@functools.lru_cache(maxsize=1)
def _kitty() -> drot.Scene:
    return drot.load_scene("kitty", resolution=16)


def _multi(**kw):
    return lambda t: drot.optimize(_kitty(), iterations=2, **kw)


M = "multi-start"
MULTISTART = [
    Case("zero starts", M, _multi(starts=0), "starts"),
    Case("negative starts", M, _multi(starts=-4), "starts"),
    Case("unknown start set", M, _multi(starts=2, start_set="grid"), ("start_set", "grid")),
    Case("keep_fraction of 1", M, _multi(starts=2, keep_fraction=1.0), "keep_fraction"),
    Case("halving_interval of 1", M, _multi(starts=2, halving_interval=1.0), "halving_interval"),
    Case("initial with a wrong shape", M, lambda t: drot.optimize(_kitty(), iterations=2, starts=2,
                                                                  initial={"translation": torch.zeros(2)}),
         "translation"),
]


# ----------------------------------------------------------------------------------- own loop
@functools.lru_cache(maxsize=1)
def _frames():
    from drot.render.torch_backend import TorchBackend

    scene = _kitty()
    goal = drot.render(scene.evaluate(scene.target_values()), [0, 1], (16, 16), TorchBackend())
    state = scene.evaluate({"translation": torch.tensor([0.1, 0.05, 0.0])})
    frame = drot.render(state, [0, 1], (16, 16), TorchBackend(), antialias=False)
    return goal, state, frame


def _own(change):
    def case(tmp: Path):
        goal, state, frame = _frames()
        args = {"rast": frame.rast, "clip": frame.clip, "tri": state.faces, "attrs": state.colors}
        args.update(change(args))
        return drot.RgbxyLoss(goal.image, goal.mask)(args["rast"], args["clip"], args["tri"], args["attrs"])
    return case


def _bad_tri(args):
    tri = args["tri"].clone()
    tri[0, 0] = args["clip"].shape[1] + 3
    return {"tri": tri}


L = "own loop"
OWN_LOOP = [
    Case("RgbxyLoss 0-255 float target", L, lambda t: drot.RgbxyLoss(_frames()[0].image * 255),
         ("RgbxyLoss target", "divide 0-255 values by 255")),
    Case("RgbxyLoss all-black target", L, lambda t: drot.RgbxyLoss(torch.zeros(2, 16, 16, 3)),
         ("RgbxyLoss target shows nothing", "black")),
    Case("RgbxyLoss NaN target", L, lambda t: drot.RgbxyLoss(torch.full((1, 16, 16, 3), float("nan"))),
         ("RgbxyLoss target", "NaN")),
    Case("RgbxyLoss empty mask", L, lambda t: drot.RgbxyLoss(_frames()[0].image, torch.zeros(2, 16, 16, dtype=torch.bool)),
         "mask (or alpha) is empty"),
    Case("RgbxyLoss attrs of another mesh", L, _own(lambda a: {"attrs": a["attrs"][:-3]}), ("attrs", "V =")),
    Case("RgbxyLoss triangle index past the vertices", L, _own(_bad_tri), ("tri indices", "clip has")),
    Case("RgbxyLoss float triangle indices", L, _own(lambda a: {"tri": a["tri"].float()}), ("tri", "integer")),
    Case("RgbxyLoss rasterization of another mesh", L, _own(lambda a: {"tri": a["tri"][:2]}),
         ("rast names triangle", "another mesh")),
    Case("RgbxyLoss clip of one view for two", L, _own(lambda a: {"clip": a["clip"][:1]}), ("clip", "B = 2")),
]


# ------------------------------------------------------------------------------------- sweeps
def _table1(*argv):
    from drot.eval.table1 import main

    return exit_code_2(main, ["--quick", "--scenes", "kitty", "--variants", "l2", *argv])


def _bench(*argv):
    from drot.eval.cli import main

    return exit_code_2(main, ["--scene", "kitty", "--iterations", "2", "--resolution", "16", *argv])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _needs_ray(fn):
    def case(tmp: Path):
        from bad_inputs import Skip

        try:
            import ray  # noqa: F401
        except ImportError:
            raise Skip("needs ray") from None
        return fn(tmp)
    return case


def _file_at(name: str, then):
    def case(tmp: Path):
        (tmp / name).write_text("my notes")
        return then(tmp)
    return case


def _store_line(line: str):
    def case(tmp: Path):
        from drot.eval.sweep import RUNS_FILE, RunStore

        (tmp / RUNS_FILE).write_text(line + "\n")
        return RunStore(tmp).records()
    return case


def _sweep_into_file(tmp: Path):
    from drot.eval.sweep import RunSpec, run_sweep

    (tmp / "f").write_text("x")
    return run_sweep([RunSpec("s", "v", 0)], lambda spec: {}, tmp / "f", progress=False)


def _record_without_key(tmp: Path):
    from drot.eval.sweep import RunStore

    return RunStore(tmp).append({"status": "ok"})


S = "sweeps"
SWEEPS = [
    Case("table1 --out is an existing file", S, _file_at("notes.txt", _table1("--out", "$TMP/notes.txt")),
         ("--out", "notes.txt", "is an existing file")),
    Case("table1 --out under a file", S, _file_at("f", _table1("--out", "$TMP/f/sub")), ("--out", "cannot be created")),
    Case("drot-bench --out is an existing file", S, _file_at("notes.txt", _bench("--out", "$TMP/notes.txt")),
         ("--out", "notes.txt", "not a folder")),
    Case("--ray-address where nothing listens", S,
         _needs_ray(lambda t: _table1("--ray-address", f"127.0.0.1:{_free_port()}", "--out", "$TMP/o")(t)),
         ("--ray-address", "no Ray cluster answers")),
    Case("--ray-address without a port", S, _needs_ray(_table1("--ray-address", "head-node", "--out", "$TMP/o")),
         ("--ray-address", "HOST:PORT")),
    Case("runs.jsonl line torn by a kill", S, warned(_store_line('{"key": "a|b|seed=0|x", "sta')),
         ("runs.jsonl:1", "unreadable run record")),
    Case("runs.jsonl line without a key", S, warned(_store_line('{"status": "ok", "result": {}}')),
         ("runs.jsonl:1", "no string 'key'")),
    Case("runs.jsonl ok record without result", S, warned(_store_line('{"key": "k", "status": "ok"}')),
         ("runs.jsonl:1", "without a 'result'")),
    Case("run_sweep into an existing file", S, _sweep_into_file, "is an existing file"),
    Case("run record without a key", S, _record_without_key, "'key'"),
]


# ----------------------------------------------------------------------------------- imitator
class _Run:
    def __reduce__(self):
        return (print, ("a checkpoint ran code",))


def _toy():
    from drot.imitator import BlackBoxRenderer, Continuous, ParameterSpace

    class Toy(BlackBoxRenderer):
        def __init__(self, mode="ok"):
            super().__init__()
            self.space, self.resolution, self.mode = ParameterSpace([Continuous("a", 0.0, 1.0)]), (32, 32), mode

        def render_one(self, setting, source, seed):
            img = np.full((32, 32, 3), setting["a"])
            return {"ok": img, "nan": img * np.nan, "uint8": (img * 255).astype(np.uint8), "255": img * 255 + 2}[self.mode]
    return Toy


def _checkpoint(tmp: Path) -> Path:
    from drot import imitator as im

    toy = _toy()()
    im.train_imitator(im.generate(toy, 4, progress=False), toy.space,
                      im.ImitatorSettings(steps=1, batch=2, progress=False), checkpoint=tmp / "imi.pt")
    return tmp / "imi.pt"


def _evil(tmp: Path):
    from drot import imitator as im

    state = torch.load(_checkpoint(tmp), weights_only=True)
    torch.save({**state, "history": [_Run()]}, tmp / "evil.pt")
    return im.load_imitator(tmp / "evil.pt")


def _cut(tmp: Path):
    from drot import imitator as im

    data = _checkpoint(tmp).read_bytes()
    (tmp / "cut.pt").write_bytes(data[: len(data) // 2])
    return im.load_imitator(tmp / "cut.pt")


def _other_kind(tmp: Path):
    from drot import imitator as im

    return im.load_encoder(_checkpoint(tmp))


def _text_checkpoint(tmp: Path):
    from drot import imitator as im

    (tmp / "notes.pt").write_text("hello")
    return im.load_imitator(tmp / "notes.pt")


def _cut_samples(tmp: Path):
    from drot import imitator as im

    im.generate(_toy()(), 4, progress=False).save(tmp / "s.pt")
    (tmp / "s.pt").write_bytes((tmp / "s.pt").read_bytes()[:80])
    return im.Samples.load(tmp / "s.pt")


def _black_box(mode):
    def case(tmp: Path):
        from drot import imitator as im

        return im.generate(_toy()(mode), 2, progress=False)
    return case


def _settings(**kw):
    def case(tmp: Path):
        from drot import imitator as im

        return im.ImitatorSettings(**kw)
    return case


I = "imitator"
IMITATOR = [
    Case("checkpoint carrying a pickled callable", I, _evil, ("evil.pt", "refused", "could run code")),
    Case("truncated checkpoint", I, _cut, ("cut.pt", "truncated")),
    Case("imitator checkpoint loaded as an encoder", I, _other_kind, ("imi.pt", "'imitator'", "expected 'encoder'")),
    Case("checkpoint that is a text file", I, _text_checkpoint, ("notes.pt", "not a file written by torch.save")),
    Case("truncated samples file", I, _cut_samples, ("s.pt", "samples file is truncated")),
    Case("black box returning NaN", I, _black_box("nan"), ("render_one", "NaN")),
    Case("black box returning uint8", I, _black_box("uint8"), ("render_one", "uint8", "255")),
    Case("black box returning 0-255 floats", I, _black_box("255"), ("render_one", "divide by 255")),
    Case("ImitatorSettings(steps=-5)", I, _settings(steps=-5), ("ImitatorSettings.steps", "> 0")),
    Case("ImitatorSettings(batch=0)", I, _settings(batch=0), ("ImitatorSettings.batch", "> 0")),
]

# A check of the run that used to come after the work (in SSIM, after the last iteration).
RUN = [Case("resolution below the SSIM window", "run",
            lambda t: drot.optimize(drot.load_scene("kitty", resolution=8), iterations=100_000),
            ("'kitty'", "8x8", "at least 11x11"))]

CASES = RUN + OBJECTS + TEXTURES + MULTISTART + OWN_LOOP + SWEEPS + IMITATOR
