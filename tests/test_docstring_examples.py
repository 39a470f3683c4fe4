"""The `>>>` examples in the package's docstrings, which the API reference
shows, run and print what they say (doctest)."""

import doctest
import importlib
import pkgutil

import keras
import numpy as np
import pytest

import keras_vae


def modules():
    """The package's modules, but the command line and the trainers of
    the backends this process does not run (their frameworks may be
    absent)."""
    others = {"jax", "tensorflow", "torch"} - {keras.backend.backend()}
    skipped = ("keras_vae.cli",) + tuple(
        f"keras_vae.backend.{name}" for name in others
    )
    return sorted(
        info.name
        for info in pkgutil.walk_packages(keras_vae.__path__, "keras_vae.")
        if not info.name.startswith(skipped)
    )


def examples():
    finder = doctest.DocTestFinder(exclude_empty=True)
    found = []
    for name in modules():
        module = importlib.import_module(name)
        for test in finder.find(module, name):
            if test.examples and test.name.startswith(name):
                found.append(pytest.param(test, id=test.name))
    return found


def test_the_examples_are_found():
    names = {param.id for param in examples()}
    assert "keras_vae.layers.sampling.Sampling" in names
    assert len(names) >= 10


@pytest.mark.parametrize("test", examples())
def test_the_docstring_example_runs(test):
    test.globs.update(keras=keras, keras_vae=keras_vae, np=np)
    runner = doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    )
    runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} failed"
