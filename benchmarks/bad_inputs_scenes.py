"""Bad scene files and scene arguments for ``benchmarks/bad_inputs.py`` (area ``scene file``):
``drot.load_scene`` on edited copies of ``scenes/kitty.toml`` and of an objects scene."""
from __future__ import annotations

from pathlib import Path

from bad_inputs import Case

import drot

ROOT = Path(__file__).resolve().parents[1]
KITTY = (ROOT / "scenes" / "kitty.toml").read_text()
JOINT = (ROOT / "scenes" / "paper" / "joint.toml").read_text()


def edited(old: str, new: str, base: str = KITTY, resolution=None):
    """A case: load a copy of ``base`` with ``old`` replaced by ``new`` (``old`` must occur)."""
    if old not in base:
        raise AssertionError(f"bad_inputs_scenes: {old!r} is not in the base file")

    def fn(tmp: Path):
        path = tmp / "scene.toml"
        path.write_text(base.replace(old, new, 1))
        return drot.load_scene(path, resolution=resolution)
    return fn


def appended(text: str, base: str = KITTY):
    def fn(tmp: Path):
        path = tmp / "scene.toml"
        path.write_text(base + "\n" + text)
        return drot.load_scene(path)
    return fn


A = "scene file"
CASES = [
    Case("misspelt top-level key", A, edited("resolution = 128", "resolutoin = 128"),
         ("resolutoin", "did you mean 'resolution'")),
    Case("misspelt table", A, edited("[material]", "[materail]"), ("materail", "did you mean 'material'")),
    Case("misspelt [views] key", A, edited("distance = 2.0", "distnace = 2.0"), ("[views]", "distnace", "'distance'")),
    Case("misspelt [mesh] key", A, edited("normalize = true", "normalise = true"), ("[mesh]", "normalise")),
    Case("misspelt [[parameters]] key", A, edited("init_range = [-1.0, 1.0]", "init_rnage = [-1.0, 1.0]"),
         ("[[parameters]]", "init_rnage", "'init_range'")),
    Case("misspelt [benchmark] key", A, edited("success_threshold = 0.01", "success_treshold = 0.01"),
         ("[benchmark]", "success_treshold")),
    Case("misspelt [material] key", A, edited("ambient = 0.0", "ambiant = 0.0"), ("[material]", "ambiant")),
    Case("resolution as a string", A, edited("resolution = 128", 'resolution = "32"'), ("resolution", "'32'")),
    Case("resolution zero in the file", A, edited("resolution = 128", "resolution = 0"), "resolution"),
    Case("resolution argument 0", A, edited("resolution = 128", "resolution = 128", resolution=0), "resolution"),
    Case("resolution argument negative", A, edited("resolution = 128", "resolution = 128", resolution=-5),
         "resolution"),
    Case("boolean where a number goes", A, edited("distance = 2.0", "distance = true"), ("distance", "True")),
    Case("2-vector for a 3-vector target", A, edited("target = [0.0, 0.0, 0.0]", "target = [0.0, 0.0]"),
         "target"),
    Case("unknown parameter kind", A, edited('kind = "translation"', 'kind = "translaton"'),
         ("translaton", "did you mean 'translation'")),
    Case("unknown procedural mesh", A, edited('procedural = "cat"', 'procedural = "dragon"'), "dragon"),
    Case("unknown camera rig", A, edited('rig = "square"', 'rig = "circle"'), ("rig", "circle")),
    Case("negative mesh scale", A, edited("normalize = true", "normalize = true\nscale = -2.0"), "scale"),
    Case("init_range reversed", A, edited("init_range = [-1.0, 1.0]", "init_range = [1.0, -1.0]"), "init_range"),
    Case("material out of range", A, edited("diffuse = 0.8", "diffuse = 80.0"), "diffuse"),
    Case("missing [mesh] and [[objects]]", A, edited('[mesh]\nprocedural = "cat"\nnormalize = true', ""),
         ("[mesh]", "[[objects]]")),
    Case("no parameters", A, lambda tmp: drot.load_scene(_strip_parameters(tmp)), "parameter"),
    Case("mesh file that does not exist", A, edited('procedural = "cat"', 'file = "nowhere.obj"'), "nowhere.obj"),
    Case("texture image that does not exist", A, edited("normalize = true", 'normalize = true\nuv = "planar"\n'
                                                        'texture = "missing.png"'), ("texture", "missing.png")),
    Case("not TOML", A, lambda tmp: drot.load_scene(_write(tmp, "x.toml", "name = [unclosed")), ("x.toml", "TOML")),
    Case("scene that does not exist", A, lambda tmp: drot.load_scene("no_such_scene"), "no_such_scene"),
    Case("[optimize] lr_decay above 1", A, appended("[optimize]\nlr_decay = 1.5"), ("lr_decay", "1.5")),
    Case("random rig with jitter", A, edited('rig = "square"', 'rig = "random"'), ("jitter", "random")),
    Case("objects scene with a [mesh] too", A, appended('[mesh]\nprocedural = "cat"', base=JOINT), "[mesh]"),
    Case("two objects with one name", A, edited('name = "painted"', 'name = "turned"', base=JOINT), "turned"),
    Case("misspelt key in an object", A, edited('position = [0.0, 0.9, 0.0]', 'positon = [0.0, 0.9, 0.0]',
                                                base=JOINT), ("positon", "did you mean 'position'")),
    Case("camera kind inside an object", A, edited('kind = "scale"', 'kind = "camera_eye"', base=JOINT),
         ("camera_eye", "scene")),
    Case("translation at the top level of an objects scene", A, appended(
        '[[parameters]]\nname = "t"\nkind = "translation"\ntarget = [0.0, 0.0, 0.0]\ninit_range = [-1.0, 1.0]',
        base=JOINT), ("'t'", "object")),
]


def _write(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name
    path.write_text(text)
    return path


def _strip_parameters(tmp: Path) -> Path:
    head = KITTY[: KITTY.index("[[parameters]]")]
    return _write(tmp, "scene.toml", head + KITTY[KITTY.index("[benchmark]"):])
