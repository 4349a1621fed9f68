"""Applications (paper §6.2): parameter models plugged into the shared optimizer and hybrid schedule.

Each module builds a :class:`drot.Scene` whose geometry model (``Scene.geometry``, fed by
parameters of kind ``"model"``) maps the application's parameters to vertices; ``drot.optimize``
then runs the same loop and the same hybrid-gradient scheduler for all of them.

* :mod:`drot.apps.furniture`   — room layout: X–Z translation and Y rotation per furniture item;
* :mod:`drot.apps.smpl`        — SMPL body pose through ``smplx`` (:mod:`drot.apps.smpl_model`
  writes a stand-in model file in SMPL's format for tests and examples);
* :mod:`drot.apps.blendshapes` — expression weights of a blendshape set;
* :mod:`drot.apps.accessory`   — a 2-D accessory warped onto a portrait (four-point homography,
  optional thin-plate spline: :mod:`drot.apps.warps`; generated images: :mod:`drot.apps.accessory_assets`).

Comparisons (:mod:`drot.apps.problem`): furniture, SMPL and blendshapes each provide a
:class:`Problem` — :class:`FurnitureProblem`, :class:`SmplProblem`, :class:`BlendshapeProblem` —
that :func:`compare` runs the :data:`METHODS` on (each through :func:`run_method`, one call of
``drot.optimize``). The accessory's fits are two-stage (:func:`drot.apps.accessory.fit_accessory`).
"""
from .blendshapes import BlendshapeProblem
from .furniture import FurnitureProblem
from .problem import METHODS, Instance, Problem, Run, Score, compare, run_method, schedule_settings, summarize
from .smpl import SmplProblem

__all__ = ["METHODS", "Problem", "Instance", "Score", "Run", "compare", "summarize", "run_method",
           "schedule_settings", "FurnitureProblem", "SmplProblem", "BlendshapeProblem"]
