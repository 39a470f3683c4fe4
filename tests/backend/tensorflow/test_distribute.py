"""Training under `tf.distribute` equals training on one device.

`distribute_run.py` trains the same nearly deterministic VAE (no sampling
noise to speak of) from the same weights on the same global batches under a
`MirroredStrategy` over two logical CPUs, and under a
`MultiWorkerMirroredStrategy` of two worker processes on 127.0.0.1; this
process trains it on one device. Every update, every logged loss and the
epoch means must agree to float rounding, short last batches included (one
split 2 + 1 over the replicas, one that leaves a replica empty), with SGD,
whose update is proportional to the gradient (Adam's hides a gradient
scale), and with Adam. Replicas must draw different noise.
"""

import contextlib
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import distribute_run
import numpy as np
import pytest

# TensorFlow's own machinery: skipped on the other backends.
pytestmark = pytest.mark.tensorflow_only

TIMEOUT = 240  # Seconds per process.
SCRIPT = os.path.join(os.path.dirname(__file__), "distribute_run.py")
ROOT = str(Path(__file__).resolve().parents[3])
#: The largest weight difference allowed after any step. Float rounding of
#: the reordered sums gives ~1e-7; a doubled or halved gradient gives 1e-2.
TOLERANCE = 1e-5
LOG_NAMES = ("loss", "reconstruction_loss", "kl_loss")


def environment(**extra):
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    env.update(TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=ROOT, **extra)
    return env


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def worker_environments(count):
    """The environments of `count` workers of one cluster on 127.0.0.1."""
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(count)]}
    return [
        environment(
            TF_CONFIG=json.dumps(
                {"cluster": cluster, "task": {"type": "worker", "index": i}}
            )
        )
        for i in range(count)
    ]


def run_processes(commands_and_envs):
    with running(commands_and_envs):
        pass


@contextlib.contextmanager
def running(commands_and_envs):
    """Starts the processes together, runs the body, waits for all (each
    bounded by `TIMEOUT`), and kills any left running, whatever happens."""
    processes = []
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
        yield
        for process in processes:
            output, _ = process.communicate(timeout=TIMEOUT)
            assert process.returncode == 0, output[-3000:]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()


def load(path):
    with np.load(path) as arrays:
        return dict(arrays)


def unpack(arrays, optimizer):
    """The run's `(weights per step, logs per step, epoch logs)`."""
    weights = []
    while f"{optimizer}/step{len(weights)}/w0" in arrays:
        prefix = f"{optimizer}/step{len(weights)}/w"
        count = sum(key.startswith(prefix) for key in arrays)
        weights.append([arrays[f"{prefix}{i}"] for i in range(count)])
    return (
        weights,
        arrays[f"{optimizer}/logs"],
        arrays[f"{optimizer}/epoch_logs"],
    )


def update_errors(weights, reference):
    """The largest absolute weight difference after each step."""
    assert len(weights) == len(reference)
    return np.array(
        [
            max(np.abs(a - b).max() for a, b in zip(step, reference_step))
            for step, reference_step in zip(weights, reference)
        ]
    )


def assert_same_updates(weights, reference):
    errors = update_errors(weights, reference)
    assert errors.max() < TOLERANCE, errors


@pytest.fixture(scope="module")
def one_device():
    """The reference runs, in this process: `{optimizer: run}`."""
    return {name: distribute_run.train(name) for name in distribute_run.CASES}


@pytest.fixture(scope="module")
def mirrored(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("mirrored") / "run.npz")
    command = [sys.executable, SCRIPT, "mirrored", path]
    run_processes([(command, environment())])
    return load(path)


@pytest.fixture(scope="module")
def multi_worker(tmp_path_factory):
    """The chief's arrays, with the other worker's under "worker1"."""
    directory = tmp_path_factory.mktemp("multi_worker")
    commands = []
    for index, env in enumerate(worker_environments(2)):
        path = str(directory / f"worker{index}.npz")
        command = [sys.executable, SCRIPT, "multi-worker", path]
        commands.append((command, env))
    run_processes(commands)
    arrays = load(str(directory / "worker0.npz"))
    arrays["worker1"] = load(str(directory / "worker1.npz"))
    return arrays


@pytest.fixture(params=["mirrored", "multi_worker"])
def distributed(request):
    arrays = request.getfixturevalue(request.param)
    assert int(arrays["replicas"]) == 2
    return arrays


@pytest.mark.parametrize("optimizer", list(distribute_run.CASES))
def test_every_update_equals_the_one_device_update(
    distributed, one_device, optimizer
):
    weights, _, _ = unpack(distributed, optimizer)
    reference, _, _ = one_device[optimizer]
    assert len(weights) == 4  # 3 full global batches and a short one.
    assert_same_updates(weights, reference)


def test_the_comparison_catches_a_doubled_or_halved_gradient(one_device):
    # With SGD, doubling (halving) the learning rate is exactly a doubled
    # (halved) gradient: what a loss averaged once too few (too many)
    # times over two replicas gives.
    reference, _, _ = one_device["sgd"]
    learning_rate = distribute_run.CASES["sgd"][0]
    for factor in (2.0, 0.5):
        scaled, _, _ = distribute_run.train("sgd", learning_rate * factor)
        errors = update_errors(scaled, reference)
        assert errors.min() > 100 * TOLERANCE, errors
        with pytest.raises(AssertionError):
            assert_same_updates(scaled, reference)


@pytest.mark.parametrize("optimizer", list(distribute_run.CASES))
def test_logged_losses_are_global_means(distributed, one_device, optimizer):
    _, logs, epoch_logs = unpack(distributed, optimizer)
    _, reference_logs, reference_epoch_logs = one_device[optimizer]
    # The logs after each step (running means over the epoch so far), and
    # the epoch's: loss, reconstruction_loss, kl_loss.
    np.testing.assert_allclose(logs, reference_logs, rtol=1e-5)
    np.testing.assert_allclose(epoch_logs, reference_epoch_logs, rtol=1e-5)
    np.testing.assert_allclose(
        epoch_logs[0], epoch_logs[1] + epoch_logs[2], rtol=1e-5
    )


def test_workers_hold_the_same_weights(multi_worker):
    worker1 = multi_worker["worker1"]
    for key, value in worker1.items():
        np.testing.assert_array_equal(multi_worker[key], value, err_msg=key)


def test_replicas_draw_different_noise(mirrored, multi_worker):
    # Two draws of the model's Sampling layer on every replica, gathered:
    # rows 0-3 from replica 0, rows 4-7 from replica 1.
    noise = mirrored["noise"]
    assert noise.shape == (2, 8, 2)
    replica0, replica1 = noise[:, :4], noise[:, 4:]
    assert np.abs(replica0 - replica1).min() > 1e-4
    assert np.abs(noise[0] - noise[1]).min() > 1e-4  # Fresh every call.
    # Standard normal draws: no value is repeated anywhere.
    assert len(np.unique(noise)) == noise.size
    # The noise depends on the global replica id, not on the topology.
    np.testing.assert_array_equal(multi_worker["noise"], noise)


CLI_ARGUMENTS = [
    "train",
    "--dataset=mnist-sample",
    "--hidden-units=32",
    "--latent-dim=4",
    "--epochs=1",
    "--verbose=0",
]
CLI = "import sys; from keras_vae.cli import main; sys.exit(main())"


def read_cli_metrics(directory):
    names = ("mnist_sample_vae.keras", "mnist_sample_vae_samples.png")
    for name in names:
        assert os.path.getsize(os.path.join(directory, name)) > 0
    path = os.path.join(directory, "mnist_sample_vae_metrics.json")
    with open(path) as f:
        return json.load(f)


def test_cli_trains_under_a_mirrored_strategy(tmp_path):
    # `--cpu-devices 2` splits the CPU into the two replicas.
    command = [sys.executable, "-c", CLI, *CLI_ARGUMENTS]
    command += ["--distribute=mirrored", "--cpu-devices=2"]
    command += [f"--output-dir={tmp_path / 'mirrored'}"]
    one_dir = tmp_path / "one_device"
    with running([(command, environment())]):  # Meanwhile, one device:
        from keras_vae.cli import main

        assert main(CLI_ARGUMENTS + [f"--output-dir={one_dir}"]) == 0

    mirrored = read_cli_metrics(tmp_path / "mirrored")
    one_device = read_cli_metrics(one_dir)
    assert (mirrored["distribute"], mirrored["replicas"]) == ("mirrored", 2)
    assert (one_device["distribute"], one_device["replicas"]) == ("none", 1)
    for name in LOG_NAMES:
        assert np.isfinite(mirrored["test"][name])
    # The same initial weights and batches; only the sampling noise
    # differs (each replica draws its own).
    np.testing.assert_allclose(
        mirrored["test"]["loss"], one_device["test"]["loss"], rtol=0.02
    )
    np.testing.assert_allclose(
        mirrored["history"]["loss"], one_device["history"]["loss"], rtol=0.02
    )


@pytest.mark.large
def test_cli_multi_worker_writes_only_from_the_chief(tmp_path):
    commands = []
    for index, env in enumerate(worker_environments(2)):
        command = [sys.executable, "-c", CLI, *CLI_ARGUMENTS]
        command += ["--distribute=multi-worker"]
        command += [f"--output-dir={tmp_path / f'worker{index}'}"]
        commands.append((command, env))
    run_processes(commands)
    metrics = read_cli_metrics(tmp_path / "worker0")
    assert (metrics["distribute"], metrics["replicas"]) == ("multi-worker", 2)
    assert np.isfinite(metrics["test"]["loss"])
    assert (
        150 < metrics["test"]["loss"] < 550
    )  # Nats; p = 0.5 everywhere gives 543.
    assert not (tmp_path / "worker1").exists()
