"""Resuming `fit` after the process is killed (SIGKILL) in mid-epoch.

A child process trains an MLP VAE on 4,000 MNIST images with a backup
callback, a step-indexed learning-rate schedule and a KL warm-up; it is
killed right after a mid-epoch backup, and a second child resumes. Both are
compared with a child that was never interrupted.
"""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from backend_defaults import STEPS_PER_EXECUTION

TIMEOUT = 300  # Seconds for any one child process.
STEPS_PER_EPOCH = 80  # 4,000 images in batches of 50.
EPOCHS = 3
WARMUP_STEPS = 4 * STEPS_PER_EPOCH  # Still warming up when training ends.
# The first mid-epoch backup of epoch 1: after its first execution of 32
# steps; with one step per execution (PyTorch) every 32 steps from the
# start, at 96 and 128.
KILL_AT = STEPS_PER_EPOCH + 32 if STEPS_PER_EXECUTION > 1 else 128

CHILD = textwrap.dedent(
    """
    import json
    import os
    import sys
    import time

    import keras
    import numpy as np

    import keras_vae

    backup_dir, out_dir, which, kill_at = sys.argv[1:5]
    kill_at = int(kill_at)
    keras.utils.set_random_seed(0)
    (x, _), _ = keras_vae.datasets.load_mnist(embedded=True)
    x = x[:4000]
    vae = keras_vae.build_mlp_vae(
        x.shape[1:], latent_dim=8, hidden_units=(64,), seed=0
    )
    schedule = keras.optimizers.schedules.ExponentialDecay(
        1e-3, decay_steps=40, decay_rate=0.7
    )
    vae.compile(optimizer=keras.optimizers.Adam(schedule))  # 32 steps/run
    if which == "keras":
        backup = keras.callbacks.BackupAndRestore(backup_dir, save_freq=32)
    else:
        backup = keras_vae.callbacks.BackupAndRestore(backup_dir, save_freq=32)


    def state(model):
        optimizer = model.optimizer
        return {
            "iterations": np.asarray(int(optimizer.iterations)),
            "learning_rate": np.asarray(float(optimizer.learning_rate)),
            "kl_warmup": model.kl_warmup.numpy(),
            "beta": np.asarray(model.kl_layers[0].beta),
            **{
                f"optimizer_{i}": v.numpy()
                for i, v in enumerate(optimizer.variables)
            },
        }


    def save(name, arrays):
        temp = os.path.join(out_dir, f".{name}")
        np.savez(temp, **arrays)
        os.replace(temp + ".npz", os.path.join(out_dir, f"{name}.npz"))


    class Probe(keras.callbacks.Callback):
        batch_hooks_per_execution = True  # Keeps 32 steps per execution.

        def on_train_begin(self, logs=None):
            save("start", state(self.model))

        def on_train_batch_end(self, batch, logs=None):
            if int(self.model.optimizer.iterations) == kill_at:
                save("killed", state(self.model))
                time.sleep(600)  # The parent kills the process here.


    history = vae.fit(
        x,
        epochs=3,
        batch_size=50,
        shuffle=False,
        verbose=0,
        callbacks=[
            keras_vae.callbacks.KLWarmup(warmup_steps=320),
            backup,
            Probe(),
        ],
    )
    save("end", state(vae))
    keras.utils.set_random_seed(1)
    test = vae.evaluate(x, batch_size=500, verbose=0, return_dict=True)
    with open(os.path.join(out_dir, "end.json"), "w") as f:
        json.dump({"history": history.history, "test": test}, f)
    """
)


def _start(tmp_path, name, backup_dir, which="keras_vae", kill_at=-1):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    out_dir = tmp_path / name
    out_dir.mkdir()
    env = {
        **os.environ,
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "CUDA_VISIBLE_DEVICES": "",
    }
    with open(out_dir / "stderr.txt", "wb") as log:
        process = subprocess.Popen(
            [sys.executable, str(script), str(backup_dir), str(out_dir)]
            + [which, str(kill_at)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    process.log = out_dir / "stderr.txt"
    return process, out_dir


def _finish(process):
    try:
        process.wait(timeout=TIMEOUT)
    finally:
        _stop(process)
    assert process.returncode == 0, process.log.read_text()[-3000:]


def _stop(process):
    if process.poll() is None:
        process.kill()
        process.wait()


def _kill_when(process, marker):
    """SIGKILLs `process` once `marker` exists; fails after `TIMEOUT`."""
    deadline = time.monotonic() + TIMEOUT
    try:
        while not marker.exists():
            if process.poll() is not None:
                log = process.log.read_text()[-3000:]
                pytest.fail(f"The child exited early:\n{log}")
            if time.monotonic() > deadline:
                pytest.fail("The child never reached the kill point.")
            time.sleep(0.1)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        assert process.returncode == -signal.SIGKILL
    finally:
        _stop(process)


def _load(out_dir, name):
    with np.load(out_dir / f"{name}.npz") as data:
        return dict(data)


def _run_killed_and_resumed(tmp_path, which):
    """Returns the states of the uninterrupted, killed and resumed runs."""
    backup_dir = tmp_path / "backup"
    full, full_dir = _start(tmp_path, "full", tmp_path / "full_backup", which)
    killed, killed_dir = _start(tmp_path, "killed", backup_dir, which, KILL_AT)
    try:
        _kill_when(killed, killed_dir / "killed.npz")
        backup_files = sorted(os.listdir(backup_dir))
        resumed, resumed_dir = _start(tmp_path, "resumed", backup_dir, which)
        _finish(resumed)
        _finish(full)
    finally:
        for process in (full, killed):
            _stop(process)
    assert not backup_dir.exists()  # Deleted when the resumed fit ended.
    return backup_files, {
        "killed": _load(killed_dir, "killed"),
        "start": _load(resumed_dir, "start"),
        "end": _load(resumed_dir, "end"),
        "full_end": _load(full_dir, "end"),
        "json": json.loads((resumed_dir / "end.json").read_text()),
        "full_json": json.loads((full_dir / "end.json").read_text()),
    }


def test_resumes_at_the_step_of_the_last_backup(tmp_path):
    backup_files, runs = _run_killed_and_resumed(tmp_path, "keras_vae")
    killed, start, end = runs["killed"], runs["start"], runs["end"]
    full_end = runs["full_end"]
    assert backup_files == ["latest.weights.h5"]

    # The backup was made in mid-epoch 1.
    assert int(killed["iterations"]) == KILL_AT
    # The resumed process starts from it, not from scratch: the optimizer
    # step, Adam's moments, the warm-up schedule and beta all come back.
    assert int(start["iterations"]) == KILL_AT
    optimizer_keys = [k for k in killed if k.startswith("optimizer_")]
    assert len(optimizer_keys) > 2
    for key in optimizer_keys:
        np.testing.assert_array_equal(start[key], killed[key], err_msg=key)
    moments = [start[k] for k in optimizer_keys if start[k].ndim > 0]
    assert all(np.abs(m).max() > 0 for m in moments)  # Not a fresh Adam.
    np.testing.assert_array_equal(start["kl_warmup"], [WARMUP_STEPS, 0, 1])
    # beta was set before the last step trained, at iteration KILL_AT - 1.
    np.testing.assert_allclose(
        start["beta"], (KILL_AT - 1) / WARMUP_STEPS, rtol=1e-6
    )

    # It skips the batches the backup had trained on: the run ends after
    # exactly the steps of the uninterrupted one, so the step-keyed
    # learning rate and KL warm-up end at the same values.
    assert int(end["iterations"]) == EPOCHS * STEPS_PER_EPOCH
    assert int(full_end["iterations"]) == EPOCHS * STEPS_PER_EPOCH
    np.testing.assert_allclose(
        end["learning_rate"], 1e-3 * 0.7 ** (EPOCHS * STEPS_PER_EPOCH / 40)
    )
    np.testing.assert_array_equal(
        end["learning_rate"], full_end["learning_rate"]
    )
    np.testing.assert_array_equal(end["beta"], full_end["beta"])
    np.testing.assert_allclose(
        end["beta"], (EPOCHS * STEPS_PER_EPOCH - 1) / WARMUP_STEPS, rtol=1e-6
    )

    # Two epochs ran in the resumed process (1 in part, 2 in full), and the
    # model is as good as the uninterrupted one.
    history = runs["json"]["history"]
    full_history = runs["full_json"]["history"]
    assert len(history["loss"]) == 2 and len(full_history["loss"]) == 3
    np.testing.assert_allclose(
        history["loss"][-1], full_history["loss"][-1], rtol=0.01
    )
    np.testing.assert_allclose(
        runs["json"]["test"]["loss"],
        runs["full_json"]["test"]["loss"],
        rtol=0.01,
    )


@pytest.mark.large
def test_keras_callback_repeats_the_steps_it_had_made(tmp_path):
    # Why keras_vae.callbacks.BackupAndRestore exists. Keras 3.15's callback
    # with save_freq=32 overrides a batch hook, so `VAE.fit` runs it one step
    # per execution (as Keras's default would): its last backup before the
    # kill at step 112 is that of step 96, in epoch 1. It restarts epoch 1
    # from its first batch there, so the run makes 16 steps more than an
    # uninterrupted one, and every step-indexed schedule ends elsewhere.
    backup_files, runs = _run_killed_and_resumed(tmp_path, "keras")
    assert backup_files == ["latest.weights.h5", "training_metadata.json"]
    assert int(runs["start"]["iterations"]) == 96
    assert len(runs["json"]["history"]["loss"]) == EPOCHS - 1
    end, full_end = runs["end"], runs["full_end"]
    assert int(end["iterations"]) == 96 + (EPOCHS - 1) * STEPS_PER_EPOCH
    assert end["learning_rate"] < full_end["learning_rate"]
