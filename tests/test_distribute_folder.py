"""A folder of images under `tf.distribute` is sharded by file:
`image_folder(..., shard=(num_shards, index))` checks, reads and decodes
only its shard of the files."""

import collections

import pytest
import tensorflow as tf
from shared_data import CIFAR_JPEG
from shared_data import extract_cifar
from shared_data import needs_cifar

from keras_vae.datasets import image_folder

CLASSES = ("airplane", "cat")
#: 82 files: 17 for validation, 65 for training, 33 + 32 in two shards.
PER_CLASS = 41
SPLIT = dict(validation_split=0.21, seed=5)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    if CIFAR_JPEG is None:
        pytest.skip("no cifar10-jpeg.tar.gz in ../shared/data")
    directory = tmp_path_factory.mktemp("cifar")
    return extract_cifar(directory, "train", CLASSES, PER_CLASS)


def both(folder, **kwargs):
    return image_folder(
        folder, image_size=8, subset="both", labels=None, **SPLIT, **kwargs
    )


def epoch_images(dataset):
    """One epoch's images, in order, as bytes."""
    order = []
    for batch in dataset.as_numpy_iterator():
        order += [image.tobytes() for image in batch]
    return order


# === image_folder(shard=...) ===


@needs_cifar
def test_shards_are_disjoint_and_hold_every_file(folder):
    whole = both(folder)
    shards = [both(folder, shard=(3, i)) for i in range(3)]
    for subset in (0, 1):
        files = [shard[subset].file_paths for shard in shards]
        counted = collections.Counter(p for f in files for p in f)
        assert set(counted) == set(whole[subset].file_paths)
        assert set(counted.values()) == {1}
        sizes = [len(f) for f in files]
        assert max(sizes) - min(sizes) <= 1
        # Taken in turn from the list sorted by class: an even share of
        # each class.
        for f in files:
            cats = sum("/cat/" in p for p in f)
            assert abs(cats - len(f) / 2) <= 1
    # One shard is the whole folder, shuffled the same way.
    one = both(folder, shard=(1, 0))
    assert one[0].file_paths == whole[0].file_paths
    assert epoch_images(one[0]) == epoch_images(whole[0])


@needs_cifar
def test_a_shard_reads_only_its_files(folder, monkeypatch):
    reads = []
    read_file = tf.io.read_file

    def recorded(filename, name=None):
        def record(path):
            reads.append(path.decode())
            return path

        path = tf.numpy_function(record, [filename], tf.string)
        path.set_shape(filename.shape)
        return read_file(path, name=name)

    monkeypatch.setattr(tf.io, "read_file", recorded)
    train, validation = both(folder, shard=(2, 1))
    files = set(train.file_paths) | set(validation.file_paths)
    assert set(reads) == files  # The check decodes each file once.
    assert len(reads) == len(files)
    reads.clear()
    epoch_images(train)
    assert collections.Counter(reads) == dict.fromkeys(train.file_paths, 1)


def shuffled_positions(folder, shard):
    """Where each file of one epoch of `shard`'s training files stands in
    the shard's sorted list."""
    kwargs = dict(image_size=8, labels=None, subset="training", shard=shard)
    unshuffled = image_folder(folder, shuffle=False, **kwargs, **SPLIT)
    index = {image: i for i, image in enumerate(epoch_images(unshuffled))}
    return [
        index[i] for i in epoch_images(image_folder(folder, **kwargs, **SPLIT))
    ]


@needs_cifar
def test_each_shard_shuffles_in_its_own_order(folder):
    # Shards of one size shuffled alike would pair neighbours of the
    # sorted list (often alike) in every global batch.
    first, second = (shuffled_positions(folder, (2, i)) for i in (0, 1))
    assert sorted(first) == list(range(33))
    assert sorted(second) == list(range(32))
    assert first[:32] != second
    assert shuffled_positions(folder, (2, 0)) == first  # Seeded.


@pytest.mark.parametrize(
    "shard", [(2, 2), (0, 0), (2, -1), (2,), "ab", (2.0, 1), (True, 0)]
)
def test_invalid_shard(tmp_path, shard):
    with pytest.raises(ValueError, match=r"Received: shard="):
        image_folder(tmp_path, shard=shard)
