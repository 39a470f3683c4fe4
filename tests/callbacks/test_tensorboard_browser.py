"""A real `keras-vae train --tensorboard` run seen through TensorBoard:
its HTTP API, the way the browser app reads the data, and screenshots
from headless Chromium. TensorBoard listens on 127.0.0.1 only; every
child process has a deadline and is killed in `finally`."""

import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import numpy as np
import pytest
import tensorflow as tf

import keras_vae
from keras_vae import evaluation
from keras_vae.callbacks import vae_tensorboard
from keras_vae.cli import main
from keras_vae.datasets import load_mnist

pytestmark = pytest.mark.large

LATENT_DIM = 8
EPOCHS = 2
START_TIMEOUT = 120  # Seconds for TensorBoard to serve the log directory.
REQUEST_TIMEOUT = 30
CHROMIUM_TIMEOUT = 120
WINDOW = (1400, 1000)
TENSOR = vae_tensorboard.EMBEDDING_TENSOR_NAME


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A 2-epoch CLI run on the embedded MNIST sample: its log directory,
    the trained model, and the test set."""
    root = tmp_path_factory.mktemp("tensorboard_run")
    args = [
        "train",
        "--dataset=mnist-sample",
        "--hidden-units=64",
        f"--latent-dim={LATENT_DIM}",
        f"--epochs={EPOCHS}",
        "--verbose=0",
        f"--output-dir={root / 'out'}",
        f"--tensorboard={root / 'tb'}",
    ]
    assert main(args) == 0
    with open(root / "out" / "mnist_sample_vae_metrics.json") as f:
        history = json.load(f)["history"]
    vae = keras_vae.load_vae(root / "out" / "mnist_sample_vae.keras")
    _, (x_test, y_test) = load_mnist(embedded=True)
    return {
        "log_dir": root / "tb",
        "root": root,
        "vae": vae,
        "history": history,
        "x": x_test,
        "y": y_test,
    }


@pytest.fixture(scope="module")
def server(run):
    """The base URL of `tensorboard --logdir` on 127.0.0.1, on a port the
    system picks; the server is killed when the module's tests end."""
    log = run["root"] / "tensorboard.log"
    command = [
        sys.executable,
        "-m",
        "tensorboard.main",
        f"--logdir={run['log_dir']}",
        "--host=127.0.0.1",
        "--port=0",
        "--load_fast=false",  # One Python process, no data server child.
    ]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    with open(log, "wb") as output:
        child = subprocess.Popen(
            command,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    try:
        base = _wait_for_server(child, log)
        yield base
    finally:
        _kill_group(child)


def _wait_for_server(child, log):
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        text = log.read_text(errors="replace")
        found = re.search(r"http://127\.0\.0\.1:(\d+)/", text)
        if found:
            base = f"http://127.0.0.1:{found.group(1)}"
            try:
                # Ready once every run is loaded.
                runs = json.loads(_get(base, "/data/runs"))
                if sorted(runs) == ["train", "vae", "validation"]:
                    return base
            except OSError:
                pass
        assert child.poll() is None, f"TensorBoard exited:\n{text}"
        assert time.monotonic() < deadline, f"TensorBoard not ready:\n{text}"
        time.sleep(0.5)


def _kill_group(child):
    """Ends `child` and every process it started (its own session)."""
    try:
        os.killpg(child.pid, signal.SIGTERM)
        child.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    child.wait(timeout=10)


def _get(base, path, **params):
    url = base + path
    if params:
        url += "?" + urllib.parse.urlencode(params)
    with urllib.request.urlopen(url, timeout=REQUEST_TIMEOUT) as response:
        assert response.status == 200, url
        return response.read()


def _png(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return tf.io.decode_png(data).numpy()


def _tiles(grid, height, width):
    rows, columns = grid.shape[0] // height, grid.shape[1] // width
    return np.stack(
        [
            grid[r * height : (r + 1) * height, c * width : (c + 1) * width]
            for r in range(rows)
            for c in range(columns)
        ]
    )


def test_images_come_back_through_the_images_api(run, server):
    tags = json.loads(_get(server, "/data/plugin/images/tags"))
    assert sorted(tags["vae"]) == ["prior_samples", "reconstructions"]
    sizes = {"prior_samples": (8 * 28, 8 * 28), "reconstructions": (112, 224)}
    images = {}
    for tag, shape in sizes.items():
        assert tags["vae"][tag]["samples"] == 1
        entries = json.loads(
            _get(server, "/data/plugin/images/images", run="vae", tag=tag)
        )
        assert [entry["step"] for entry in entries] == list(range(EPOCHS))
        query = entries[-1]["query"]
        data = _get(server, "/data/plugin/images/individualImage?" + query)
        images[tag] = _png(data)
        assert images[tag].shape == shape + (1,)
    # The first row holds the first 8 test images as they are; the second
    # their reconstructions by the trained model.
    pairs = _tiles(images["reconstructions"], 28, 28)
    x = run["x"]
    expected = (x[:8] * 255.5).astype("uint8")
    np.testing.assert_allclose(pairs[:8], expected, atol=1)
    reconstructions = run["vae"].reconstruct(x[:8])
    np.testing.assert_allclose(
        pairs[8:16], (reconstructions * 255.5).astype("uint8"), atol=1
    )
    samples = run["vae"].sample(64, seed=0)
    np.testing.assert_allclose(
        _tiles(images["prior_samples"], 28, 28),
        (samples * 255.5).astype("uint8"),
        atol=1,
    )


def test_scalars_and_graphs_come_back_through_their_apis(run, server):
    def scalars(run_name, tag):
        rows = json.loads(
            _get(server, "/data/plugin/scalars/scalars", run=run_name, tag=tag)
        )
        assert [step for _, step, _ in rows] == list(range(EPOCHS))
        return [value for _, _, value in rows]

    # Keras's callback: the loss curves of the CLI's history.
    history = run["history"]
    np.testing.assert_allclose(
        scalars("train", "epoch_loss"), history["loss"], rtol=1e-6
    )
    np.testing.assert_allclose(
        scalars("validation", "epoch_loss"), history["val_loss"], rtol=1e-6
    )
    # Ours: the statistics of the trained model on the test set.
    vae, x = run["vae"], run["x"]
    kl = evaluation.kl_per_dimension(vae, x)
    served = [
        scalars("vae", f"kl_per_dimension/z_{i}")[-1] for i in range(LATENT_DIM)
    ]
    np.testing.assert_allclose(served, kl, rtol=1e-5)
    count, _ = evaluation.active_units(vae, x)
    assert scalars("vae", "active_units")[-1] == count
    graph = _get(
        server,
        "/data/plugin/graphs/graph",
        run="vae",
        tag="encoder",
        conceptual="true",
    ).decode()
    names = re.findall(r'name: "([^"]+)"', graph)
    for layer in vae.encoder.layers:
        assert f"encoder/{layer.name}" in names


def test_projector_serves_every_test_point_with_its_label_and_image(
    run, server
):
    assert json.loads(_get(server, "/data/plugin/projector/runs")) == ["vae"]
    info = json.loads(_get(server, "/data/plugin/projector/info", run="vae"))
    (embedding,) = info["embeddings"]
    n = len(run["x"])
    assert embedding["tensorName"] == TENSOR
    assert embedding["tensorShape"] == [n, LATENT_DIM]
    assert embedding["sprite"]["singleImageDim"] == [28, 28]
    # The points: float32 bytes, row by row, the posterior means.
    data = _get(server, "/data/plugin/projector/tensor", run="vae", name=TENSOR)
    assert len(data) == n * LATENT_DIM * 4
    points = np.frombuffer(data, "float32").reshape(n, LATENT_DIM)
    z_mean, _ = run["vae"].encode(run["x"])
    np.testing.assert_allclose(points, z_mean, rtol=1e-6)
    # The metadata: a header, then each test image's label.
    metadata = _get(
        server, "/data/plugin/projector/metadata", run="vae", name=TENSOR
    ).decode()
    rows = [line.split("\t") for line in metadata.splitlines()]
    assert rows[0] == ["label", "index"]
    assert [int(label) for label, _ in rows[1:]] == run["y"].tolist()
    assert [int(index) for _, index in rows[1:]] == list(range(n))
    # The sprite: a square of 28x28 thumbnails in the order of the points.
    sprite = _png(
        _get(
            server,
            "/data/plugin/projector/sprite_image",
            run="vae",
            name=TENSOR,
        )
    )
    columns = math.ceil(math.sqrt(n))
    assert sprite.shape == (columns * 28, columns * 28, 1)
    thumbnails = _tiles(sprite, 28, 28)
    expected = np.round(run["x"] * 255).astype("uint8")
    np.testing.assert_array_equal(thumbnails[:n], expected)
    np.testing.assert_array_equal(thumbnails[n:], 255)


@pytest.mark.parametrize(
    "tab, flags",
    [
        ("images", []),
        # The projector draws with WebGL: Chromium's software renderer.
        ("projector", ["--enable-unsafe-swiftshader"]),
    ],
)
def test_headless_chromium_renders_the_tab(run, server, tmp_path, tab, flags):
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("needs Debian's chromium (apt-get install chromium)")
    screenshot = tmp_path / f"{tab}.png"
    command = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        *flags,
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--screenshot={screenshot}",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        "--virtual-time-budget=30000",
        f"{server}/#{tab}",
    ]
    child = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        assert child.wait(timeout=CHROMIUM_TIMEOUT) == 0
    finally:
        _kill_group(child)
    pixels = _png(screenshot.read_bytes())
    assert pixels.shape[:2] == (WINDOW[1], WINDOW[0])
    # MNIST digits lie on pure black; TensorBoard's own page has no black
    # (its text is #212121): an empty tab measured 0 such pixels, these
    # tabs with the run's images tens of thousands.
    black = int(np.sum(pixels[..., :3].max(axis=-1) < 10))
    assert black > 10_000, f"{tab}: {black} black pixels"
