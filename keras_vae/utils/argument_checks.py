"""Validation of constructor and function arguments, Keras style: each error
names the argument and ends with what was received."""

import math

import numpy as np


def check_positive_int(value, name):
    """Returns `value` as an `int` if it is an integer >= 1, else raises."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, np.integer))
        or value < 1
    ):
        raise ValueError(
            f"Invalid value for argument `{name}`: expected an integer >= 1. "
            f"Received: {name}={value!r}"
        )
    return int(value)


def check_int_tuple(values, name, allow_empty=False):
    """Returns `values` as a tuple of integers >= 1 (one int is a 1-tuple)."""
    if isinstance(values, (int, np.integer)) and not isinstance(values, bool):
        values = (values,)
    try:
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
