"""Checks that data lies within the bounds a model takes, with errors that
say what the model needs and how to fix the data."""

import numpy as np


def check_range(x, name, minimum, maximum, needs, fix):
    """Returns `(min, max)` of `x` as floats, if within the bounds.

    Args:
        x: An array of data (not empty).
        name: The argument name used in the error.
        minimum: The lowest value allowed.
        maximum: The highest value allowed.
        needs: What the model needs, the start of the error, such as
            `"The Bernoulli likelihood needs data in [0, 1]"`.
        fix: The sentence of the error that says how to fix the data.

    Raises:
        ValueError: If a value of `x` is below `minimum` or above `maximum`:
            ``f"{needs}, but `{name}` ranges over [{min}, {max}]. {fix}
            Received: min={min}, max={max}"``.

    Example:

    ```python
    >>> check_range(np.array([0.0, 0.5]), "x", 0, 1, "Needs [0, 1]", "Fix.")
    (0.0, 0.5)

    ```
    """
    low, high = float(np.min(x)), float(np.max(x))
    if low < minimum or high > maximum:
        raise ValueError(
            f"{needs}, but `{name}` ranges over [{low:g}, {high:g}]. {fix} "
            f"Received: min={low:g}, max={high:g}"
        )
    return low, high


def check_8bit_range(x, name, subject, not_as):
    """Returns `(min, max)` of `x` as floats, if they are pixel values in
    `[0, 255]`.

    Args:
        x: An array of data (not empty).
        name: The argument name used in the error.
        subject: What takes 8-bit pixel values, the start of the error,
            such as `"This VAE takes"`.
        not_as: How the data must not be given, such as `"rescaled"`.

    Raises:
        ValueError: If a value of `x` is below 0 or above 255, saying that
            `subject` 8-bit pixel values and to pass the images as they were
            read, not `not_as`.
    """
    needs = f"{subject} 8-bit pixel values, 0 to 255"
    fix = f"Pass the images as they were read (uint8), not {not_as}."
    return check_range(x, name, 0, 255, needs, fix)
