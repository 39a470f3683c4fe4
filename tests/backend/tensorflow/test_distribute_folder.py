"""A folder of images under `tf.distribute` is sharded by file.

`image_folder(..., shard=(num_shards, index))` checks, reads and decodes
only its shard of the files; `keras-vae train --data FOLDER --distribute`
gives each worker's input pipeline its shard
(`strategy.distribute_datasets_from_function`). Two worker processes of a
`MultiWorkerMirroredStrategy` on 127.0.0.1, and one process of a
`MirroredStrategy` over two logical CPUs, train on CIFAR-10 JPEGs while
`distribute_run.py cli` records every file `tf.io.read_file` reads, the
steps of each epoch and the trained weights.
"""

import argparse
import collections
import json
import math
import subprocess
import sys
import time
import types

import numpy as np
import pytest
import tensorflow as tf
from shared_data import CIFAR_JPEG
from shared_data import extract_cifar
from shared_data import needs_cifar
from test_distribute import ROOT
from test_distribute import SCRIPT
from test_distribute import environment
from test_distribute import worker_environments

from keras_vae.cli import main
from keras_vae.cli.data import load_data
from keras_vae.datasets import image_folder

# TensorFlow's own machinery: skipped on the other backends.
pytestmark = pytest.mark.tensorflow_only

#: Seconds all the processes of one run may take together.
TIMEOUT = 300  # Seconds for all the processes of one run together.
CLASSES = ("airplane", "cat")
#: 82 files: 17 for validation, 65 for training, split 33 + 32 over two
#: workers; global batches of 16 make 5 steps, the last of one example,
#: from the first worker (the other's replica gets an empty batch).
PER_CLASS = 41
SPLIT = dict(validation_split=0.21, seed=5)
BATCH_SIZE = 16
EPOCHS = 2


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


# === keras-vae train --data FOLDER --distribute ===


def train_in_process(folder, tmp_path, *arguments):
    """`keras-vae train` under a `MirroredStrategy` of this process's one
    CPU: one replica, yet the sharded pipeline of `--distribute`."""
    out = tmp_path / "out"
    status = main(
        [
            "train",
            f"--data={folder}",
            "--image-size=8",
            "--hidden-units=8",
            "--latent-dim=2",
            "--epochs=1",
            f"--validation-split={SPLIT['validation_split']}",
            "--distribute=mirrored",
            f"--output-dir={out}",
            "--verbose=0",
            *arguments,
        ]
    )
    return status, out


@needs_cifar
def test_cli_trains_on_a_distributed_folder(folder, tmp_path):
    status, out = train_in_process(folder, tmp_path, "--batch-size=16")
    assert status == 0
    with open(out / "model_metrics.json") as f:
        metrics = json.load(f)
    assert (metrics["distribute"], metrics["replicas"]) == ("mirrored", 1)
    assert (metrics["train_examples"], metrics["test_examples"]) == (65, 17)
    assert np.isfinite(metrics["test"]["loss"])


@needs_cifar
def test_cli_wants_a_batch_no_larger_than_the_folder(folder, tmp_path, capsys):
    status, _ = train_in_process(folder, tmp_path, "--batch-size=32")
    assert status == 2
    error = capsys.readouterr().err
    assert "at least --batch-size files" in error
    assert "They hold 65 and 17" in error
    assert "Received: --batch-size 32" in error


def test_cli_wants_a_global_batch_the_replicas_divide(tmp_path):
    args = argparse.Namespace(data=str(tmp_path), dataset=None)
    strategy = types.SimpleNamespace(num_replicas_in_sync=4)
    with pytest.raises(ValueError, match="pass a multiple of 4") as error:
        load_data(args, batch_size=30, strategy=strategy)
    assert "Received: --batch-size 30" in str(error.value)


def run_all(commands_and_envs):
    """Runs the processes together, all bounded by `TIMEOUT`, and kills any
    left running, whatever happens."""
    processes = []
    deadline = time.monotonic() + TIMEOUT
    try:
        for command, env in commands_and_envs:
            processes.append(
                subprocess.Popen(
                    command,
                    env=env,
                    cwd=ROOT,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
            )
        for process in processes:
            left = max(1.0, deadline - time.monotonic())
            output, _ = process.communicate(timeout=left)
            assert process.returncode == 0, output[-3000:]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()


def cli_command(folder, directory, distribute):
    return [
        sys.executable,
        SCRIPT,
        "cli",
        str(directory),
        "train",
        f"--data={folder}",
        "--image-size=16",
        "--hidden-units=16",
        "--latent-dim=2",
        f"--epochs={EPOCHS}",
        f"--batch-size={BATCH_SIZE}",
        f"--validation-split={SPLIT['validation_split']}",
        f"--seed={SPLIT['seed']}",
        f"--distribute={distribute}",
        f"--output-dir={directory / 'out'}",
        "--verbose=0",
    ]


def read_run(directory):
    """What one process read (`Counter` of paths), its steps per epoch, its
    trained weights, and its metrics (`None` if it wrote none)."""
    with open(directory / "reads.txt") as f:
        reads = collections.Counter(f.read().split())
    with np.load(directory / "run.npz") as arrays:
        weights = dict(arrays)
    steps = list(weights.pop("steps"))
    metrics = directory / "out" / "model_metrics.json"
    if metrics.exists():
        with open(metrics) as f:
            metrics = json.load(f)
    else:
        metrics = None
    return dict(reads=reads, steps=steps, weights=weights, metrics=metrics)


@pytest.fixture(scope="module")
def runs(folder, tmp_path_factory):
    """`{"worker0": run, "worker1": run, "mirrored": run}`, all at once."""
    base = tmp_path_factory.mktemp("runs")
    commands = []
    for index, env in enumerate(worker_environments(2)):
        command = cli_command(folder, base / f"worker{index}", "multi-worker")
        commands.append((command, env))
    command = cli_command(folder, base / "mirrored", "mirrored")
    commands.append((command + ["--cpu-devices=2"], environment()))
    for name in ("worker0", "worker1", "mirrored"):
        (base / name).mkdir()
    run_all(commands)
    return {
        name: read_run(base / name)
        for name in ("worker0", "worker1", "mirrored")
    }


@pytest.mark.large
@needs_cifar
def test_workers_read_disjoint_shards_of_the_files(runs, folder):
    train, validation = both(folder)
    every_file = set(train.file_paths) | set(validation.file_paths)
    reads = [runs[f"worker{i}"]["reads"] for i in (0, 1)]
    assert not set(reads[0]) & set(reads[1])
    assert set(reads[0]) | set(reads[1]) == every_file
    for index in (0, 1):
        shard_train, shard_validation = both(folder, shard=(2, index))
        shard = set(shard_train.file_paths) | set(shard_validation.file_paths)
        assert set(reads[index]) == shard
        # Each training file: decoded by the check, then once an epoch.
        counts = [reads[index][path] for path in shard_train.file_paths]
        assert min(counts) >= 1 + EPOCHS
    # One worker, one pipeline: it reads every file.
    assert set(runs["mirrored"]["reads"]) == every_file


@pytest.mark.large
@needs_cifar
def test_steps_per_epoch_are_those_of_one_device(runs, folder):
    train, validation = both(folder)
    num_train, num_validation = (
        len(train.file_paths),
        len(validation.file_paths),
    )
    assert (num_train, num_validation) == (65, 17)  # 33 + 32 per worker.
    steps = math.ceil(num_train / BATCH_SIZE)
    for name in ("worker0", "worker1", "mirrored"):
        assert runs[name]["steps"] == [steps] * EPOCHS, name
    for name in ("worker0", "mirrored"):
        metrics = runs[name]["metrics"]
        assert metrics["replicas"] == 2
        assert metrics["train_examples"] == num_train
        assert metrics["test_examples"] == num_validation
        assert len(metrics["history"]["val_loss"]) == EPOCHS
        assert np.isfinite(metrics["test"]["loss"])
    assert runs["worker1"]["metrics"] is None  # Only the chief writes.


@pytest.mark.large
@needs_cifar
def test_workers_hold_the_same_weights(runs):
    first, second = runs["worker0"]["weights"], runs["worker1"]["weights"]
    assert first and first.keys() == second.keys()
    for key, value in first.items():
        np.testing.assert_array_equal(value, second[key], err_msg=key)
