"""`DataChecks.check_inputs`: the structure and shape checks, then the
subclass's `check_dtype` and `check_data`."""

import numpy as np
import pytest
import tensorflow as tf

from keras_vae.utils.data_checks import DataChecks


class Recording(DataChecks):
    """Records the calls of the two checks a subclass overrides."""

    def __init__(self):
        self.calls = []

    def check_dtype(self, dtype, name="x"):
        self.calls.append(("check_dtype", np.dtype(dtype), name))

    def check_data(self, array, name="x"):
        self.calls.append(("check_data", array.shape, name))


def test_an_array_gets_the_dtype_then_the_data_checks():
    checks = Recording()
    x = np.zeros((4, 3), "float32")
    assert checks.check_inputs(x, (3,), name="train") is x
    assert checks.calls == [
        ("check_dtype", np.dtype("float32"), "train"),
        ("check_data", (4, 3), "train"),
    ]


def test_a_dataset_gets_the_dtype_check_only():
    checks = Recording()
    dataset = tf.data.Dataset.from_tensor_slices(np.zeros((4, 3), "uint8"))
    dataset = dataset.batch(2)
    assert checks.check_inputs(dataset, (3,)) is dataset
    assert checks.calls == [("check_dtype", np.dtype("uint8"), "x")]


@pytest.mark.parametrize(
    "x, match",
    [
        (np.zeros((4, 2)), r"Received: x.shape=\(4, 2\)"),
        (np.zeros((0, 3)), r"is empty"),
        (np.array([[0.0, np.nan, 1.0]]), r"1 non-finite values"),
        ({"image": np.zeros((4, 3))}, r"keys \['image'\]"),
        (np.array(["a", "b", "c"])[None], r"Received: x.dtype=<U1"),
    ],
)
def test_the_structure_is_checked_before_the_subclass(x, match):
    checks = Recording()
    with pytest.raises(ValueError, match=match):
        checks.check_inputs(x, (3,))
    assert checks.calls == []


def test_labels_in_a_dataset_only_where_allowed():
    pairs = tf.data.Dataset.from_tensor_slices(
        (np.zeros((4, 3), "float32"), np.zeros(4))
    ).batch(2)
    with pytest.raises(ValueError, match="This VAE is unconditional"):
        DataChecks().check_inputs(pairs, (3,))
    assert DataChecks().check_inputs(pairs, (3,), labels_allowed=True) is pairs


def test_generators_pass_unchecked():
    def batches():
        yield np.zeros((2, 5))

    generator = batches()
    assert DataChecks().check_inputs(generator, (3,)) is generator


def test_raw_data_checks_are_data_checks():
    # Data in its own units (a `preprocessing` model's): the shape checks of
    # `DataChecks`, then the range of 8-bit pixel values.
    from keras_vae.models.preprocessing import RawData

    checks = RawData("8bit")
    x = np.full((2, 3), 255, "uint8")
    assert checks.check_inputs(x, (3,)) is x
    with pytest.raises(ValueError, match=r"Received: min=0, max=300"):
        checks.check_inputs(np.array([[0.0, 300.0, 1.0]]), (3,))
    with pytest.raises(ValueError, match=r"must have shape \(4,\)"):
        checks.check_inputs(x, (4,))
