"""`keras-vae train --backup-dir`: a run killed (SIGKILL) after a backup
resumes from it when started again with the same arguments."""

import json
import os
import subprocess
import sys
import time

import pytest

CLI = "import sys; from keras_vae.cli import main; sys.exit(main())"
EPOCHS = 20
TIMEOUT = 300  # Seconds for any one child process.


@pytest.mark.large
def test_killed_cli_run_resumes_from_its_backup(tmp_path):
    output_dir, backup_dir = tmp_path / "out", tmp_path / "backup"
    command = [
        sys.executable,
        "-c",
        CLI,
        "train",
        "--dataset=mnist-sample",
        "--hidden-units=32",
        "--latent-dim=4",
        f"--epochs={EPOCHS}",
        "--verbose=0",
        f"--output-dir={output_dir}",
        f"--backup-dir={backup_dir}",
    ]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    child = subprocess.Popen(command, env=env)
    try:
        deadline = time.monotonic() + TIMEOUT
        # Killed as soon as the first backup (end of epoch 1) is in place.
        while not _backups(backup_dir):
            assert child.poll() is None, "training ended before any backup"
            assert time.monotonic() < deadline, "no backup in time"
            time.sleep(0.02)
        child.kill()
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=60)
    assert not (output_dir / "mnist_sample_vae.keras").exists()

    subprocess.run(command, env=env, check=True, timeout=TIMEOUT)
    with open(output_dir / "mnist_sample_vae_metrics.json") as f:
        history = json.load(f)["history"]
    # The resumed run trained only the epochs the killed one had not.
    assert 1 <= len(history["loss"]) < EPOCHS
    assert history["loss"][-1] < history["loss"][0]
    # A completed run deletes its backup.
    assert not _backups(backup_dir)


def _backups(directory):
    if not directory.exists():
        return []
    return [name for name in os.listdir(directory) if not name.startswith(".")]
