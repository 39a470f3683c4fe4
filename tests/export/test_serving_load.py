"""An exported SavedModel under load: loaded with TensorFlow alone in a
fresh process and called from 16 threads at once, it answers every request
exactly as it does one request at a time."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from shared_data import CIFAR_JPEG
from shared_data import extract_cifar

import keras_vae
from keras_vae.datasets import image_folder
from keras_vae.export import export_saved_model

# TensorFlow's own machinery: skipped on the other backends.
pytestmark = pytest.mark.tensorflow_only

ROOT = Path(__file__).resolve().parents[2]
#: The benchmark, run with `python -m` from the repository root.
MODULE = "benchmarks.serving.serving_load"
SHAPE = (16, 16, 3)
REQUESTS = 3000


def write_inputs(directory):
    """16 image files (CIFAR-10 JPEGs, or PNGs made with PIL without the
    archive) in `directory/files`, and `x.npy`, their images as
    `image_folder` yields them."""
    files = directory / "files"
    files.mkdir(parents=True)
    if CIFAR_JPEG is not None:
        folder = extract_cifar(directory / "cifar", "train", ["cat"], 16)
        for path in sorted((folder / "cat").iterdir()):
            (files / path.name).write_bytes(path.read_bytes())
    else:
        rng = np.random.default_rng(0)
        for i in range(16):
            array = rng.integers(0, 256, size=(20 + i, 30, 3), dtype="uint8")
            Image.fromarray(array).save(files / f"{i:02d}.png")
    dataset = image_folder(
        files,
        image_size=SHAPE[:2],
        batch_size=None,
        shuffle=False,
        labels=None,
    )
    np.save(directory / "x.npy", np.stack(list(dataset.as_numpy_iterator())))


def test_sixteen_threads_get_the_single_threaded_answers(tmp_path):
    vae = keras_vae.build_mlp_vae(
        SHAPE, latent_dim=8, hidden_units=(64,), preprocessing="8bit", seed=0
    )
    version_dir = export_saved_model(vae, tmp_path / "model", score_samples=32)
    inputs = tmp_path / "inputs"
    write_inputs(inputs)
    results_path = tmp_path / "results.json"
    env = {
        **os.environ,
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "CUDA_VISIBLE_DEVICES": "",
    }
    process = subprocess.run(
        [
            sys.executable,
            "-m",
            MODULE,
            "--export-dir",
            version_dir,
            "--inputs",
            str(inputs),
            "--threads",
            "16",
            "--requests",
            str(REQUESTS),
            "--batch-sizes",
            "1,4",
            "--max-seconds",
            "60",
            "--json",
            str(results_path),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=240,
    )
    assert process.returncode == 0, process.stdout + process.stderr
    results = json.loads(results_path.read_text())
    assert results["failures"] == 0
    assert results["completed"] == REQUESTS
    assert results["keras_vae_imported"] is False
    assert sorted(results["signatures"]) == sorted(
        [
            "encode",
            "reconstruct",
            "score",
            "encode_bytes",
            "reconstruct_bytes",
            "score_bytes",
        ]
    )
    for row in results["signatures"].values():
        assert row["count"] == REQUESTS // 6
        assert 0 < row["p50_ms"] <= row["p99_ms"]
