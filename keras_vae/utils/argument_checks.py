"""Validation of constructor and function arguments, Keras style: each error
names the argument and ends with what was received."""

import math

import numpy as np


def check_optional_seed(seed):
    """Returns `seed` if it is None or an integer (the seed of a
    `keras.random.SeedGenerator`), else raises."""
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, (int, np.integer))
    ):
        raise ValueError(
            "Invalid value for argument `seed`: expected None or an "
            f"integer. Received: seed={seed!r}"
        )
    return None if seed is None else int(seed)


def check_positive_int(value, name, minimum=1):
    """Returns `value` as an `int` if it is an integer >= `minimum` (1 by
    default), else raises."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, np.integer))
        or value < minimum
    ):
        raise ValueError(
            f"Invalid value for argument `{name}`: expected an integer >= "
            f"{minimum}. Received: {name}={value!r}"
        )
    return int(value)


def check_int_tuple(values, name, allow_empty=False):
    """Returns `values` as a tuple of integers >= 1 (one int is a 1-tuple)."""
    if isinstance(values, (int, np.integer)) and not isinstance(values, bool):
        values = (values,)
    try:
        if isinstance(values, (str, bytes)):
            raise TypeError
        values = tuple(values)
        valid = (values or allow_empty) and all(
            check_positive_int(v, name) for v in values
        )
    except (TypeError, ValueError):
        valid = False
    if not valid:
        raise ValueError(
            f"Invalid value for argument `{name}`: expected a tuple of "
            f"integers >= 1. Received: {name}={values!r}"
        )
    return tuple(int(v) for v in values)


def check_non_negative_float(value, name):
    """Returns `value` as a `float` if it is finite and >= 0, else raises."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not (number >= 0 and math.isfinite(number)):
        raise ValueError(
            f"Invalid value for argument `{name}`: expected a finite float "
            f">= 0. Received: {name}={value!r}"
        )
    return number


# The positional arguments of `keras.Model.fit` after `x` and `y`.
_FIT_ARGUMENTS = (
    "batch_size",
    "epochs",
    "verbose",
    "callbacks",
    "validation_split",
    "validation_data",
    "shuffle",
    "class_weight",
    "sample_weight",
    "initial_epoch",
    "steps_per_epoch",
    "validation_steps",
    "validation_batch_size",
    "validation_freq",
)


def fit_arguments(args, kwargs):
    """Returns the arguments of a `fit(x, y, *args, **kwargs)` call by name."""
    return {**dict(zip(_FIT_ARGUMENTS, args)), **kwargs}


def check_fit_arguments(arguments):
    """Checks the counts and fractions given to `fit` or `evaluate` by name,
    which Keras would take silently (`epochs=-1`, `batch_size=0`,
    `validation_split=1.5`) or reject with an unrelated error."""
    for name in (
        "batch_size",
        "steps_per_epoch",
        "validation_steps",
        "validation_batch_size",
        "steps",
    ):
        if arguments.get(name) is not None:
            check_positive_int(arguments[name], name)
    for name in ("epochs", "initial_epoch"):
        check_positive_int(arguments.get(name, 0), name, minimum=0)
    split = arguments.get("validation_split", 0.0)
    if isinstance(split, bool) or not (
        isinstance(split, (int, float, np.number)) and 0 <= split < 1
    ):
        raise ValueError(
            "Invalid value for argument `validation_split`: expected a "
            f"fraction in [0, 1). Received: validation_split={split!r}"
        )
