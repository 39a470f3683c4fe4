"""`image_folder` on real files: CIFAR-10 JPEGs, MNIST written as PNGs, and
images of every size and colour mode made with PIL."""

import collections
import io
import re

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from shared_data import CIFAR_JPEG
from shared_data import extract_cifar
from shared_data import needs_cifar

from keras_vae.datasets import image_folder
from keras_vae.datasets import load_mnist

CLASSES = ("airplane", "automobile", "bird")


@pytest.fixture(scope="module")
def cifar(tmp_path_factory):
    """300 CIFAR-10 training JPEGs, 100 of each of 3 classes."""
    if CIFAR_JPEG is None:
        pytest.skip("no cifar10-jpeg.tar.gz in ../shared/data")
    return extract_cifar(
        tmp_path_factory.mktemp("cifar"), "train", CLASSES, 100
    )


def unbatched(dataset):
    """All images (and labels) of a dataset, as arrays."""
    batches = list(dataset.as_numpy_iterator())
    if isinstance(batches[0], tuple):
        return tuple(np.concatenate(part) for part in zip(*batches))
    return np.concatenate(batches)


def save(path, array, mode=None, **kwargs):
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(array)
    (image.convert(mode) if mode else image).save(path, **kwargs)
    return path


# === CIFAR-10 JPEGs ===


@needs_cifar
def test_cifar_labels_pixels_and_batches(cifar):
    dataset = image_folder(cifar, image_size=(32, 32), shuffle=False)
    assert dataset.class_names == list(CLASSES)
    assert dataset.element_spec[0].dtype == tf.uint8
    shapes = [x.shape for x, _ in dataset.as_numpy_iterator()]
    assert shapes == [(32, 32, 32, 3)] * 9 + [(12, 32, 32, 3)]
    assert int(dataset.cardinality()) == 10
    images, labels = unbatched(dataset)
    assert labels.dtype == np.int32
    np.testing.assert_array_equal(np.bincount(labels), [100, 100, 100])
    # Unshuffled: sorted by class, then by name.
    assert dataset.file_paths[0].endswith("airplane/0000.jpg")
    assert dataset.file_paths[-1].endswith("bird/0099.jpg")
    for i in (0, 150, 299):
        path = dataset.file_paths[i]
        assert path.split("/")[-2] == CLASSES[labels[i]]
        # A 32x32 image is not resized: exactly PIL's decode (both use
        # libjpeg's accurate IDCT).
        with Image.open(path) as image:
            np.testing.assert_array_equal(images[i], image.convert("RGB"))


@needs_cifar
def test_cifar_agrees_with_keras_loader(cifar):
    """Same classes, files and labels as Keras's own loader; pixels within
    the error of the fast IDCT that it decodes JPEGs with."""
    ours = image_folder(cifar, image_size=32, shuffle=False)
    theirs = keras.utils.image_dataset_from_directory(
        cifar, image_size=(32, 32), shuffle=False, verbose=False
    )
    assert ours.class_names == theirs.class_names
    assert sorted(ours.file_paths) == sorted(theirs.file_paths)
    x, y = unbatched(theirs)
    order = np.argsort(theirs.file_paths)
    our_x, our_y = unbatched(ours)
    our_order = np.argsort(ours.file_paths)
    np.testing.assert_array_equal(our_y[our_order], y[order])
    difference = np.abs(our_x[our_order] - x[order])
    assert difference.max() <= 8 and difference.mean() < 1.5


@needs_cifar
def test_cifar_split_is_by_file_disjoint_and_fixed_by_seed(cifar):
    train, validation = image_folder(
        cifar, validation_split=0.2, subset="both", seed=3, image_size=32
    )
    assert len(train.file_paths) == 240
    assert len(validation.file_paths) == 60
    assert not set(train.file_paths) & set(validation.file_paths)
    assert len(set(train.file_paths) | set(validation.file_paths)) == 300
    # What the datasets yield is what `file_paths` says.
    _, validation_labels = unbatched(validation)
    assert validation_labels.tolist() == [
        CLASSES.index(p.split("/")[-2]) for p in validation.file_paths
    ]
    assert sum(len(x) for x, _ in train) == 240
    # The same files for the same seed: another call, one subset at a time,
    # without shuffling, or without labels.
    for kwargs in (
        {"subset": "training"},
        {"subset": "training", "shuffle": False},
        {"subset": "training", "labels": None},
    ):
        again = image_folder(
            cifar, validation_split=0.2, seed=3, image_size=32, **kwargs
        )
        assert sorted(again.file_paths) == sorted(train.file_paths)
    again = image_folder(
        cifar, validation_split=0.2, subset="validation", seed=3, image_size=8
    )
    assert again.file_paths == validation.file_paths
    # Another seed, another split; `None` splits as 0.
    other = image_folder(
        cifar, validation_split=0.2, subset="validation", seed=4, image_size=8
    )
    assert set(other.file_paths) != set(validation.file_paths)
    zero, none = (
        image_folder(
            cifar,
            validation_split=0.2,
            subset="validation",
            seed=s,
            image_size=8,
        )
        for s in (0, None)
    )
    assert zero.file_paths == none.file_paths


@needs_cifar
def test_cifar_split_survives_moving_the_folder_and_adding_files(
    cifar, tmp_path
):
    """The split hashes paths relative to the folder: a copy elsewhere
    splits the same, and a new file moves at most one other."""
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(cifar, copy)
    kwargs = dict(validation_split=0.2, subset="validation", seed=1)
    before = image_folder(cifar, image_size=8, **kwargs)
    moved = image_folder(copy, image_size=8, **kwargs)
    relative = [p[len(str(cifar)) :] for p in before.file_paths]
    assert [p[len(str(copy)) :] for p in moved.file_paths] == relative
    shutil.copy(copy / "bird" / "0000.jpg", copy / "bird" / "new.jpg")
    grown = image_folder(copy, image_size=8, **kwargs)
    after = {p[len(str(copy)) :] for p in grown.file_paths}
    # 301 files: 60 for validation, as before; at most one changed side.
    assert len(after) == 60
    assert len(after - set(relative) - {"/bird/new.jpg"}) <= 1


@needs_cifar
def test_cifar_shuffle_is_complete_per_epoch_and_seeded(cifar):
    def epochs(dataset, n=2):
        return [unbatched(dataset)[1].tolist() for _ in range(n)]

    first, second = epochs(image_folder(cifar, image_size=4, seed=7))
    again = epochs(image_folder(cifar, image_size=4, seed=7))
    assert [first, second] == again  # the same seed, the same orders
    assert first != second  # a new order every epoch
    assert sorted(first) == sorted(second) == [0] * 100 + [1] * 100 + [2] * 100
    # A full shuffle, not a window: the first 32 hold every class.
    assert set(first[:32]) == {0, 1, 2}
    other, _ = epochs(image_folder(cifar, image_size=4, seed=8))
    assert other != first
    # The validation half of a pair is never shuffled.
    _, validation = image_folder(
        cifar, image_size=4, validation_split=0.5, subset="both", seed=7
    )
    labels = unbatched(validation)[1].tolist()
    assert labels == sorted(labels)


@needs_cifar
def test_truncated_jpeg_is_named_before_training(cifar, tmp_path):
    folder = tmp_path / "cats"
    (folder / "cat").mkdir(parents=True)
    (folder / "dog").mkdir()
    for i in range(5):
        data = (cifar / "bird" / f"{i:04d}.jpg").read_bytes()
        (folder / "cat" / f"{i}.jpg").write_bytes(data)
        (folder / "dog" / f"{i}.jpg").write_bytes(data)
    truncated = folder / "dog" / "3.jpg"
    truncated.write_bytes(truncated.read_bytes()[:400])
    (folder / "cat" / "notes.png").write_bytes(b"not an image at all")
    with pytest.raises(ValueError) as error:
        image_folder(folder, image_size=32)
    message = str(error.value)
    assert "2 of 11 image files" in message
    assert "dog/3.jpg: jpeg::Uncompress failed" in message
    assert "cat/notes.png: Unknown image file format" in message
    assert "skip_bad_files=True" in message
    assert "Traceback" not in message and "{{" not in message

    with pytest.warns(UserWarning, match=r"Skipped 2 of 11 image files"):
        dataset = image_folder(
            folder, image_size=32, skip_bad_files=True, shuffle=False
        )
    assert dataset.skipped_files == [
        str(folder / "cat" / "notes.png"),
        str(truncated),
    ]
    images, labels = unbatched(dataset)
    np.testing.assert_array_equal(np.bincount(labels), [5, 4])
    assert str(truncated) not in dataset.file_paths
    # The split is decided before the check: repaired, the same files fall
    # on the same sides, and the skipped ones come back where they were.
    split = dict(seed=0, validation_split=0.5, subset="both", image_size=32)
    with pytest.warns(UserWarning, match="Skipped 2 of 11"):
        kept = image_folder(folder, skip_bad_files=True, **split)
    save(folder / "cat" / "notes.png", np.zeros((32, 32, 3), "uint8"))
    truncated.write_bytes((cifar / "bird" / "0003.jpg").read_bytes())
    repaired = image_folder(folder, **split)
    for before, after in zip(kept, repaired):
        assert sorted(before.file_paths + before.skipped_files) == sorted(
            after.file_paths
        )
    assert sorted(kept[0].skipped_files + kept[1].skipped_files) == [
        str(folder / "cat" / "notes.png"),
        str(truncated),
    ]


@needs_cifar
@pytest.mark.large
def test_cifar_test_set_all_10000(tmp_path):
    classes = (
        "airplane automobile bird cat deer dog frog horse ship truck".split()
    )
    folder = extract_cifar(tmp_path, "test", classes, None)
    train, validation = image_folder(
        folder, image_size=32, validation_split=0.1, subset="both", seed=0
    )
    assert train.class_names == classes
    x, y = unbatched(train)
    x_val, y_val = unbatched(validation)
    assert (len(x), len(x_val)) == (9000, 1000)
    np.testing.assert_array_equal(
        np.bincount(np.concatenate([y, y_val])), [1000] * 10
    )
    # Every class in the validation set, roughly in proportion.
    assert np.bincount(y_val).min() > 60
    # 3 channels, the full range, CIFAR's mean pixel (~120 of 255).
    assert x.min() == 0 and x.max() == 255
    assert 110 < x.mean() < 130


# === MNIST as PNG files: exact pixels ===


def test_mnist_pngs_decode_to_the_original_pixels(tmp_path):
    (_, _), (x_test, y_test) = load_mnist(embedded=True)
    pixels = np.round(x_test[:300, ..., 0] * 255).astype("uint8")
    labels = y_test[:300]
    for i, (image, label) in enumerate(zip(pixels, labels)):
        save(tmp_path / str(label) / f"{i:05d}.png", image)
    dataset = image_folder(tmp_path, image_size=28, channels=1, shuffle=False)
    assert dataset.class_names == [str(d) for d in range(10)]
    images, found = unbatched(dataset)
    assert images.shape == (300, 28, 28, 1) and images.dtype == np.uint8
    # Sorted by class then name; name i is the original index i.
    order = np.array([int(p[-9:-4]) for p in dataset.file_paths])
    np.testing.assert_array_equal(images[..., 0], pixels[order])
    np.testing.assert_array_equal(found, labels[order])
    np.testing.assert_array_equal(np.bincount(found), np.bincount(labels))
    # As RGB, three copies of the grey value.
    rgb = unbatched(
        image_folder(tmp_path, image_size=28, shuffle=False, labels=None)
    )
    for c in range(3):
        np.testing.assert_array_equal(rgb[..., c], pixels[order])


# === Mixed sizes, modes and formats, made with PIL ===


@pytest.fixture
def mixed(tmp_path):
    """A folder of 30x30 RGB images in every mode and format, a 100x75 and
    a tall 30x90 one, a two-frame GIF, a README and a hidden file."""
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (30, 30, 3), dtype=np.uint8)
    alpha = rng.integers(0, 256, (30, 30), dtype=np.uint8)
    folder = tmp_path / "mixed"
    save(folder / "rgb.png", rgb)
    save(folder / "grey.png", rgb, "L")
    save(folder / "rgba.png", np.dstack([rgb, alpha]))
    save(folder / "palette.png", rgb, "P")
    save(folder / "rgb.bmp", rgb)
    save(folder / "palette.bmp", rgb, "P")
    save(folder / "nested" / "deeper" / "grey.BMP", rgb, "L")
    first, second = Image.fromarray(rgb).convert("P"), Image.fromarray(alpha)
    first.save(folder / "anim.gif", save_all=True, append_images=[second])
    wide = np.zeros((75, 100, 3), np.uint8)
    wide[:, :12] = (255, 0, 0)
    wide[:, 12:88] = (0, 255, 0)  # the centred 75x75 square, and one more
    wide[:, 88:] = (0, 0, 255)
    save(folder / "wide.png", wide)
    tall = np.zeros((90, 30, 3), np.uint8)
    tall[:30], tall[30:60], tall[60:] = (255, 0, 0), (9, 99, 199), (0, 0, 255)
    save(folder / "tall.jpeg", tall, quality=100, subsampling=0)
    (folder / "README.txt").write_text("not an image")
    (folder / "._rgb.png").write_bytes(b"\x00\x05\x16\x07 AppleDouble")
    return folder, rgb, alpha


def by_name(dataset):
    images = unbatched(dataset)
    names = [p.rsplit("mixed/", 1)[1] for p in dataset.file_paths]
    return dict(zip(names, images))


def test_mixed_modes_to_rgb(mixed):
    folder, rgb, alpha = mixed
    dataset = image_folder(folder, image_size=30, labels=None, shuffle=False)
    images = by_name(dataset)
    assert sorted(images) == sorted(
        "anim.gif grey.png nested/deeper/grey.BMP palette.bmp palette.png "
        "rgb.bmp rgb.png rgba.png tall.jpeg wide.png".split()
    )  # neither README.txt nor the hidden ._rgb.png
    assert dataset.class_names is None
    assert dataset.element_spec.shape.as_list() == [None, 30, 30, 3]

    def pil(name):
        with Image.open(folder / name) as image:
            return np.asarray(image.convert("RGB"))

    # Exact: 30x30 images keep their pixels.
    for name in ("rgb.png", "rgb.bmp"):
        np.testing.assert_array_equal(images[name], rgb)
    np.testing.assert_array_equal(images["rgba.png"], rgb)  # alpha dropped
    grey = pil("grey.png")
    np.testing.assert_array_equal(images["grey.png"], grey)
    np.testing.assert_array_equal(images["nested/deeper/grey.BMP"], grey)
    # Palettes (TensorFlow alone reads a BMP's palette indices as pixels).
    for name in ("palette.png", "palette.bmp"):
        np.testing.assert_array_equal(images[name], pil(name))
    # A GIF's first frame.
    np.testing.assert_array_equal(images["anim.gif"], pil("anim.gif"))
    # Not square: the centred window, all green, and of the tall one the
    # middle third.
    np.testing.assert_array_equal(
        images["wide.png"], np.broadcast_to([0, 255, 0], (30, 30, 3))
    )
    assert np.abs(images["tall.jpeg"].astype(int) - [9, 99, 199]).max() <= 3


def test_mixed_modes_to_grey(mixed):
    folder, rgb, _ = mixed
    images = by_name(
        image_folder(
            folder, image_size=(30, 30), channels=1, labels=None, shuffle=False
        )
    )
    assert all(image.shape == (30, 30, 1) for image in images.values())
    luma = np.asarray(Image.fromarray(rgb).convert("L"), dtype=int)
    for name in ("rgb.png", "rgb.bmp", "rgba.png"):
        # BT.601 weights, as PIL's; rounding may differ by one.
        assert np.abs(images[name][..., 0] - luma).max() <= 1
    for name in ("grey.png", "nested/deeper/grey.BMP"):
        np.testing.assert_array_equal(images[name][..., 0], luma)
    # GIF and BMP work in grey too (TensorFlow decodes them in colour only).
    for name in ("anim.gif", "palette.bmp"):
        with Image.open(folder / name) as image:
            reference = np.asarray(image.convert("L"), dtype=int)
        assert np.abs(images[name][..., 0] - reference).max() <= 1


def test_resize_crop_and_pad(mixed):
    folder, _, _ = mixed
    crop = by_name(
        image_folder(folder, image_size=(20, 40), labels=None, shuffle=False)
    )
    pad = by_name(
        image_folder(
            folder,
            image_size=(20, 40),
            labels=None,
            shuffle=False,
            resize="pad",
        )
    )
    # crop: 100x75 to 40x20 (w x h) keeps the centred 100x50 rows, all of
    # the width: red, green, blue columns in the ratio 12 : 76 : 12.
    wide = crop["wide.png"]
    np.testing.assert_array_equal(wide[:, 20], np.full((20, 3), [0, 255, 0]))
    np.testing.assert_array_equal(wide[:, 0], np.full((20, 3), [255, 0, 0]))
    np.testing.assert_array_equal(wide[:, -1], np.full((20, 3), [0, 0, 255]))
    # pad: scaled by 20/75 to 27x20 (w x h), centred on black, 6 and 7
    # black columns either side.
    wide = pad["wide.png"]
    assert not wide[:, :6].any() and not wide[:, -7:].any()
    assert wide[:, 6:-7].max(axis=2).min() > 0  # no black inside
    np.testing.assert_array_equal(wide[:, 20], np.full((20, 3), [0, 255, 0]))
    # The tall one: crop keeps the middle third's centre; pad shows all 3
    # bands in 7 columns.
    np.testing.assert_allclose(crop["tall.jpeg"][10, 20], [9, 99, 199], atol=3)
    tall = pad["tall.jpeg"].astype(int)
    assert not tall[:, :16].any() and not tall[:, -17:].any()
    np.testing.assert_allclose(tall[1, 19], [255, 0, 0], atol=3)
    np.testing.assert_allclose(tall[10, 19], [9, 99, 199], atol=3)
    np.testing.assert_allclose(tall[18, 19], [0, 0, 255], atol=3)


def test_downscaling_is_antialiased(tmp_path):
    """Noise shrunk 8 times is averaged (a plain bilinear resize samples a
    few pixels and keeps most of the noise)."""
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (256, 256), dtype=np.uint8)
    save(tmp_path / "noise.png", noise)
    image = unbatched(image_folder(tmp_path, image_size=32, labels=None))
    aliased = tf.image.resize(noise[..., None], (32, 32)).numpy()
    assert aliased.std() > 35  # uniform noise: std 74
    assert image.std() < 15
    assert abs(image.mean() - noise.mean()) < 1


def test_top_level_images_and_nested_classes(mixed):
    folder, _, _ = mixed
    # With top-level images, labels="inferred" refuses (Keras ignores them).
    with pytest.raises(ValueError, match="images lie directly in it"):
        image_folder(folder)
    images = image_folder(folder / "nested", image_size=30)
    assert images.class_names == ["deeper"]
    np.testing.assert_array_equal(unbatched(images)[1], [0])


# === Bad arguments and folders ===


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"image_size": (0, 64)}, "Received: image_size=(0, 64)"),
        ({"image_size": (64, -1)}, "Received: image_size=(64, -1)"),
        ({"image_size": 0}, "Received: image_size=0"),
        ({"image_size": (64.0, 64)}, "Received: image_size=(64.0, 64)"),
        ({"image_size": (64, 64, 3)}, "Received: image_size=(64, 64, 3)"),
        ({"image_size": "64"}, "Received: image_size='64'"),
        ({"channels": 4}, "Received: channels=4"),
        ({"channels": 2}, "expected 1 (grey) or 3 (RGB)"),
        ({"channels": 1.0}, "Received: channels=1.0"),
        ({"channels": True}, "Received: channels=True"),
        ({"batch_size": 0}, "Received: batch_size=0"),
        ({"resize": "stretch"}, "Received: resize='stretch'"),
        ({"labels": "int"}, "Received: labels='int'"),
        ({"validation_split": 1.5, "subset": "both"}, "validation_split=1.5"),
        ({"validation_split": 0.2}, "Received: validation_split=0.2, subset="),
        ({"subset": "training"}, "subset='training'"),
        ({"validation_split": 0.2, "subset": "test"}, "subset='test'"),
        ({"seed": -1}, "Received: seed=-1"),
    ],
)
def test_bad_arguments(mixed, kwargs, message):
    folder, _, _ = mixed
    with pytest.raises(ValueError, match=re.escape(message)):
        image_folder(folder, **{"labels": None, **kwargs})


def test_folders_without_images(tmp_path):
    with pytest.raises(FileNotFoundError, match="No folder at"):
        image_folder(tmp_path / "missing")
    empty = tmp_path / "empty"
    (empty / "class_a").mkdir(parents=True)
    with pytest.raises(ValueError, match=r"holds no images .* no files at all"):
        image_folder(empty)
    (empty / "class_a" / "README.txt").write_text("hello")
    (empty / "data.csv").write_text("1,2")
    with pytest.raises(
        ValueError, match=r"only 2 other files: class_a/README.txt, data.csv"
    ):
        image_folder(empty, labels=None)
    with pytest.raises(ValueError, match="got a file"):
        image_folder(empty / "data.csv")
    save(empty / "class_a" / "one.png", np.zeros((4, 4), "uint8"))
    with pytest.raises(ValueError, match=r"of 1 files it leaves none"):
        image_folder(empty, validation_split=0.5, subset="both")


def test_all_files_bad(tmp_path):
    (tmp_path / "a.png").write_bytes(b"junk")
    (tmp_path / "b.jpg").write_bytes(b"")
    with pytest.warns(UserWarning, match="Skipped 2 of 2"):
        with pytest.raises(ValueError, match="None of the 2 image files"):
            image_folder(tmp_path, labels=None, skip_bad_files=True)


def test_png_named_jpg_and_unbatched(tmp_path):
    """Formats are told by content, not name; batch_size=None gives single
    images."""
    buffer = io.BytesIO()
    Image.fromarray(np.full((8, 8), 77, "uint8")).save(buffer, "PNG")
    (tmp_path / "really_a_png.jpg").write_bytes(buffer.getvalue())
    dataset = image_folder(tmp_path, image_size=8, batch_size=None, labels=None)
    (image,) = list(dataset.as_numpy_iterator())
    assert image.shape == (8, 8, 3)
    assert collections.Counter(image.ravel().tolist()) == {77: 192}
