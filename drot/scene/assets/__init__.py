"""Built-in models: the evaluation scenes' meshes, made by drot's own code from the mesh kit
(:mod:`drot.scene.kit`; no model files).

Each generator returns a :class:`~drot.scene.mesh.Mesh` normalized to a unit bounding box and
centred at the origin, +Y up, facing +Z, with per-vertex colours (and UVs where a texture is
meant to be applied). Same arguments, same tensors: the only randomness is seeded.

* :func:`make_cat`        — KITTY: a ginger tabby cat (:mod:`~drot.scene.assets.cat`);
* :func:`make_teapot`     — the Utah teapot from Newell's Bézier patches (:mod:`~drot.scene.assets.teapot`);
* :func:`make_buddha`     — BUDDHA: a seated figure on a lotus pedestal (no rotational symmetry);
* :func:`make_gingerbread`— GINGER: a flat gingerbread-man cookie with icing (an open surface facing +Z)
  (both :mod:`~drot.scene.assets.figures`);
* :func:`coloured_cube`   — CUBE: a cube with six distinctly coloured sides;
* :func:`make_room`       — BOX: an open-fronted room with coloured walls and two objects inside;
* :func:`make_stone`      — OUTDOOR: a lumpy stone (a noise-displaced sphere);
* :func:`textured_box`    — JOINT: a brick whose sides are laid out in a 3 x 2 texture atlas
  (these four: :mod:`~drot.scene.assets.objects`).
"""
from .cat import make_cat
from .figures import make_buddha, make_gingerbread
from .objects import CUBE_COLORS, coloured_cube, make_room, make_stone, textured_box
from .teapot import PATCH_COUNT, PATCH_GROUPS, make_teapot

__all__ = ["make_cat", "make_teapot", "make_buddha", "make_gingerbread", "coloured_cube", "make_room", "make_stone",
           "textured_box", "CUBE_COLORS", "PATCH_COUNT", "PATCH_GROUPS"]
