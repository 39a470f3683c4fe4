"""`from_path`: one call for a folder, an array file or a CSV file."""

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_vae.datasets import from_path
from keras_vae.datasets import load_mnist


@pytest.fixture
def mnist():
    """The first 100 test images of MNIST as uint8, and their labels."""
    _, (x, y) = load_mnist(embedded=True)
    return np.round(x[:100, ..., 0] * 255).astype("uint8"), y[:100]


def test_folder(tmp_path, mnist):
    x, y = mnist
    for i, (image, label) in enumerate(zip(x, y)):
        folder = tmp_path / str(label)
        folder.mkdir(exist_ok=True)
        Image.fromarray(image).save(folder / f"{i:03d}.png")
    train, validation = from_path(
        tmp_path, image_size=28, channels=1, batch_size=10
    )
    assert validation is None
    assert isinstance(train, tf.data.Dataset)
    assert train.element_spec.shape.as_list() == [None, 28, 28, 1]
    assert sorted(np.concatenate(list(train)).sum(axis=(1, 2, 3))) == sorted(
        x.sum(axis=(1, 2), dtype="int64")
    )
    train, validation = from_path(
        tmp_path, validation_split=0.25, seed=2, labels=True, image_size=28
    )
    assert len(train.file_paths) == 75 and len(validation.file_paths) == 25
    assert not set(train.file_paths) & set(validation.file_paths)
    labels = np.concatenate([batch[1] for batch in validation])
    from_folders = [int(p.split("/")[-2]) for p in validation.file_paths]
    assert labels.tolist() == from_folders


def test_npz_layout(tmp_path, mnist):
    x, y = mnist
    path = tmp_path / "d.npz"
    np.savez(path, x_train=x[:80], y_train=y[:80], x_test=x[80:], y_test=y[80:])
    train, validation = from_path(path)
    # uint8 (n, 28, 28), as keras.datasets stores MNIST: grey images.
    np.testing.assert_array_equal(train, x[:80, ..., None])
    np.testing.assert_array_equal(validation, x[80:, ..., None])
    (x_train, y_train), (x_test, y_test) = from_path(path, labels=True)
    np.testing.assert_array_equal(y_train, y[:80])
    np.testing.assert_array_equal(y_test, y[80:])
    # A split comes from the training examples, the same for a seed.
    (x_train, y_train), (x_val, y_val) = from_path(
        path, validation_split=0.25, seed=1, labels=True
    )
    assert (len(x_train), len(x_val)) == (60, 20)
    rows = [
        np.flatnonzero((x[:80, ..., None] == image).all(axis=(1, 2, 3)))[0]
        for image in x_val
    ]
    np.testing.assert_array_equal(y_val, y[rows])
    again, _ = from_path(path, validation_split=0.25, seed=1)
    np.testing.assert_array_equal(again, x_train)
    other, _ = from_path(path, validation_split=0.25, seed=2)
    assert not np.array_equal(other, x_train)
    np.savez(path, x_train=x)
    with pytest.raises(ValueError, match="holds no labels y_train"):
        from_path(path, labels=True)
    with pytest.raises(ValueError, match="takes no loading options"):
        from_path(path, image_size=28)


def test_npy_and_csv(tmp_path):
    table = np.arange(40, dtype="float32").reshape(10, 4)
    np.save(tmp_path / "t.npy", table)
    train, validation = from_path(tmp_path / "t.npy")
    np.testing.assert_array_equal(train, table)
    assert validation is None
    np.savetxt(
        tmp_path / "t.csv", table, delimiter=",", header="a,b,c,d", comments=""
    )
    train, validation = from_path(
        tmp_path / "t.csv", validation_split=0.3, seed=0, columns=["b", "d"]
    )
    assert train.shape == (7, 2) and validation.shape == (3, 2)
    together = np.sort(np.concatenate([train, validation]), axis=0)
    np.testing.assert_array_equal(together, table[:, [1, 3]])
    with pytest.raises(ValueError, match="A CSV file has no labels"):
        from_path(tmp_path / "t.csv", labels=True)


def test_unknown_paths(tmp_path):
    with pytest.raises(FileNotFoundError, match="No file or folder"):
        from_path(tmp_path / "missing")
    (tmp_path / "notes.txt").write_text("1,2\n")
    with pytest.raises(ValueError, match="Cannot tell what .* holds"):
        from_path(tmp_path / "notes.txt")
    with pytest.raises(ValueError, match="Received: validation_split=1"):
        from_path(tmp_path / "notes.txt", validation_split=1)
