"""Checks that training data fits a VAE, with errors that say how to fix it."""

import sys

import numpy as np

from keras_vae.utils.arrays import as_array
from keras_vae.utils.arrays import check_numbers
from keras_vae.utils.arrays import count_non_finite
from keras_vae.utils.label_checks import check_labels_absent


class DataChecks:
    """Checks data given to a VAE: its structure and shape, then what the
    subclass can model.

    `check_inputs` validates arrays fully and `tf.data.Dataset`s by their
    element spec: one input (no dict), labels only where allowed, numbers,
    at least one example, the encoder's shape and finite values. It then
    calls the two checks a subclass overrides, which accept everything by
    default: `check_dtype(dtype, name)`, for arrays and datasets alike, and
    `check_data(array, name)` with the values of an array, whose dtype
    passed `check_dtype`. Both raise a `ValueError` that says how to fix
    the data. The likelihoods are `DataChecks`: they check data in the
    model's units.

    Example:

    ```python
    >>> class NonNegative(DataChecks):
    ...     def check_data(self, array, name="x"):
    ...         if array.min() < 0:
    ...             raise ValueError(
    ...                 f"`{name}` must be >= 0. Received: "
    ...                 f"min={array.min():g}")
    >>> x = np.ones((4, 3), "float32")
    >>> NonNegative().check_inputs(x, expected_shape=(3,)) is x
    True

    ```
    """

    def check_dtype(self, dtype, name="x"):
        """Raises a `ValueError` if data of `dtype` (a NumPy dtype, or
        anything `np.dtype` takes) cannot be modelled."""

    def check_data(self, array, name="x"):
        """Raises a `ValueError` if the values of `array`, a NumPy array of
        examples whose dtype passed `check_dtype`, cannot be modelled."""

    def check_inputs(self, x, expected_shape, name="x", labels_allowed=False):
        """Validates `x`, as the class docstring says, and returns it
        unchanged.

        Args:
            x: The data given to `fit`, `evaluate`, `encode`...
            expected_shape: The encoder's input shape without the batch
                axis.
            name: The argument name used in error messages.
            labels_allowed: Whether dataset elements may carry labels
                `(x, y)`.
        """
        tf = _tensorflow()
        if tf is not None and isinstance(x, tf.data.Dataset):
            _check_dataset(self, x, expected_shape, name, labels_allowed)
            return x
        if isinstance(x, dict):
            raise ValueError(
                f"`{name}` must be an array (or a dataset of arrays) of "
                "examples; a VAE has one input, so it takes no dict of named "
                f"inputs. Pass the array itself, e.g. "
                f"`{name}[{_first_key(x)!r}]`. Received: {name}=a dict with "
                f"keys {sorted(map(str, x))}"
            )
        if not isinstance(x, _array_types(tf)):
            return x  # Generators and PyDatasets are checked as they run.
        array = as_array(x, name)
        check_numbers(array, name)
        if array.ndim == 0:
            raise ValueError(
                f"`{name}` must be an array of examples, batch axis first, "
                f"not a scalar. Received: {name}={array!r}"
            )
        if array.shape[0] == 0:
            raise ValueError(
                f"`{name}` is empty: there is nothing to train or evaluate "
                f"on. Received: {name}.shape={array.shape}"
            )
        _check_shape(array.shape, expected_shape, name)
        if np.issubdtype(array.dtype, np.floating):
            bad = count_non_finite(array)
            if bad:
                raise ValueError(
                    f"`{name}` holds {bad} NaN or infinite values; a VAE "
                    f"trained on them learns nothing. Clean or impute them "
                    f"first. Received: {name} with {bad} non-finite values"
                )
        self.check_dtype(array.dtype, name)
        self.check_data(array, name)
        return x


def _tensorflow():
    """TensorFlow if this process imported it (as Keras's TensorFlow
    backend does), else None: only then can there be `tf.data.Dataset`s or
    `tf.Tensor`s to check, and on the JAX and PyTorch backends the checks
    do not import TensorFlow for nothing."""
    return sys.modules.get("tensorflow")


def _array_types(tf):
    """The types `check_inputs` checks as arrays."""
    types = (np.ndarray, np.generic, list, float, int)
    return types if tf is None else types + (tf.Tensor,)


def _check_shape(shape, expected_shape, name):
    shape = tuple(shape)
    expected = tuple(expected_shape)
    if len(shape) == len(expected) + 1 and _matches(shape[1:], expected):
        return
    hint = ""
    if shape[1:] + (1,) == expected:
        hint = f" Add a channel axis, e.g. `{name}[..., None]`."
    raise ValueError(
        f"`{name}` does not match the encoder: each example must have shape "
        f"{expected}.{hint} Received: {name}.shape={shape}"
    )


def _check_dataset(checks, dataset, expected_shape, name, labels_allowed):
    tf = _tensorflow()
    if dataset.cardinality() == 0:
        raise ValueError(
            f"`{name}` is an empty tf.data.Dataset: there is nothing to train "
            f"or evaluate on. Received: {name}.cardinality()=0"
        )
    spec = dataset.element_spec
    if isinstance(spec, dict):
        raise ValueError(
            f"`{name}` must yield batches of examples (or `(x,)` tuples); "
            "a VAE has one input, so it takes no dict of named inputs. Map "
            f"the dataset to the array, e.g. `{name}.map(lambda d: "
            f"d[{_first_key(spec)!r}])`. Received: a dataset of dicts with "
            f"keys {sorted(map(str, spec))}"
        )
    if isinstance(spec, (tuple, list)):
        if not labels_allowed:
            for extra in spec[1:]:
                check_labels_absent(extra, f"a dataset element of {name}")
        spec = spec[0]
    if not isinstance(spec, tf.TensorSpec):
        return
    if not (spec.dtype.is_floating or spec.dtype.is_integer):
        raise ValueError(
            f"`{name}` must yield numbers. Received: dtype={spec.dtype.name}"
        )
    checks.check_dtype(spec.dtype.as_numpy_dtype, name)
    if spec.shape.rank is None:
        return
    shape = tuple(spec.shape.as_list())
    expected = tuple(expected_shape)
    if len(shape) == len(expected) and _matches(shape, expected):
        raise ValueError(
            f"`{name}` yields single examples of shape {expected}, not "
            f"batches: batch it first, e.g. `{name}.batch(32)`. Received: "
            f"element shape {shape}"
        )
    _check_shape(shape, expected, f"{name} batches")


def _matches(shape, expected):
    return all(
        e is None or s is None or s == e for s, e in zip(shape, expected)
    )


def _first_key(mapping):
    return next(iter(mapping), "x")
