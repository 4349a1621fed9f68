"""Optimising through renderers drot cannot differentiate (Kips et al. 2022; AgileAvatar, Sang et al. 2022).

A learned **imitator** reproduces a black-box renderer and is differentiable; trained with the
**sensitivity loss** so that every parameter changes its image as the renderer does. It trains an
**inverse-graphics encoder** (image → parameters in one pass) and lets parameters be **refined by
gradient descent**, checked with the real renderer; discrete parameters are relaxed (softmax one-hots,
sharpened during optimisation) and then **searched** per attribute with the real renderer.

One concept per module:

* :mod:`~drot.imitator.space` — :class:`ParameterSpace` (continuous / discrete, one-hots, sampling);
* :mod:`~drot.imitator.blackbox` — :class:`BlackBoxRenderer`, batch rendering in worker processes;
* :mod:`~drot.imitator.data` — :func:`generate` training samples (settings, renders, one-parameter shifts);
* :mod:`~drot.imitator.losses` — L1 + MS-SSIM perceptual distance, imitation, sensitivity, WGAN-GP;
* :mod:`~drot.imitator.networks` — source / parameter imitators, encoder, critic;
* :mod:`~drot.imitator.training` — :func:`train_imitator` with checkpoints and resume;
* :mod:`~drot.imitator.encoder` — :func:`train_encoder` (graphics + rendering loss);
* :mod:`~drot.imitator.refine` — :func:`refine` (perceptual, L2 or drot's OT loss through the imitator);
* :mod:`~drot.imitator.discrete` — :func:`relax_and_search`, :func:`argmax_quantise`;
* :mod:`~drot.imitator.search` — :func:`imitator_search`: Levenberg–Marquardt on the *real* residual
  with the imitator's (secant-corrected) Jacobian, each step kept only if the real render improves;
* :mod:`~drot.imitator.evaluate` — fidelity, sensitivity errors, gradient agreement;
* :mod:`~drot.imitator.baselines` — Nelder–Mead, CMA-ES and random search on the real renderer;
* :mod:`~drot.imitator.renderers` — :class:`TryOnRenderer` (lipstick on drot's portraits) and
  ``MitsubaRenderer`` (Mitsuba 3 ``scalar_rgb``, ``pip install "drot[mitsuba]"``, imported on use:
  ``from drot.imitator.renderers.mitsuba_scene import MitsubaRenderer``).
"""
from .baselines import baseline_search, cma_es, nelder_mead, random_search
from .blackbox import BlackBoxRenderer, render_batch
from .data import Samples, generate
from .discrete import argmax_quantise, relax_and_search
from .encoder import EncoderSettings, InverseEncoder, load_encoder, train_encoder
from .evaluate import fidelity, finite_difference_gradient, gradient_cosine, imitator_gradient, sensitivity_errors
from .losses import imitation_loss, ms_ssim, perceptual_loss, sensitivity_loss
from .refine import Refinement, RefineSettings, refine
from .renderers import TryOnRenderer
from .search import SearchResult, SearchSettings, best_so_far, imitator_search
from .space import Continuous, Discrete, ParameterSpace
from .training import Imitator, ImitatorSettings, load_imitator, train_imitator

__all__ = ["ParameterSpace", "Continuous", "Discrete", "BlackBoxRenderer", "render_batch", "Samples", "generate",
           "perceptual_loss", "ms_ssim", "imitation_loss", "sensitivity_loss", "Imitator", "ImitatorSettings",
           "train_imitator", "load_imitator", "InverseEncoder", "EncoderSettings", "train_encoder", "load_encoder",
           "RefineSettings", "Refinement", "refine", "argmax_quantise", "relax_and_search", "fidelity",
           "sensitivity_errors", "imitator_gradient", "finite_difference_gradient", "gradient_cosine",
           "nelder_mead", "cma_es", "random_search", "baseline_search", "SearchSettings", "SearchResult",
           "imitator_search", "best_so_far", "TryOnRenderer"]
