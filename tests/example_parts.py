"""The user-written prior and likelihood of examples/custom_parts, imported
once per process by their paths (as a user imports their own files), so
that every test sees the same registered classes."""

import importlib.util
from pathlib import Path

FOLDER = Path(__file__).resolve().parents[1] / "examples" / "custom_parts"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, FOLDER / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


LearnedGaussianPrior = _load("learned_gaussian_prior").LearnedGaussianPrior
LaplaceLikelihood = _load("laplace_likelihood").LaplaceLikelihood
