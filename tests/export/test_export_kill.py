"""Exports killed (SIGKILL) halfway leave no partial model where a server
or a device would look.

A child process starts an export with one step of it replaced by a pause
(after the files are written, before they are renamed into place: the
moment a partial export is largest) and is killed there.
"""

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

# TensorFlow's own machinery: skipped on the other backends.
pytestmark = pytest.mark.tensorflow_only

TIMEOUT = 240  # Seconds for the child to reach the pause.

CHILD = textwrap.dedent(
    """
    import os
    import sys
    import time

    import keras_vae
    from keras_vae.export import saved_model
    from keras_vae.export import tflite

    kind, path, marker = sys.argv[1:4]


    def pause(*args, **kwargs):
        with open(marker, "w"):
            pass
        time.sleep(600)  # The parent kills the process here.


    vae = keras_vae.build_mlp_vae((8,), latent_dim=2, hidden_units=(16,))
    if kind == "saved_model":
        saved_model.write_warmup_requests = pause
        keras_vae.export_saved_model(vae, path)
    else:
        tflite._check_runs = pause
        keras_vae.export_tflite_decoder(vae, path, overwrite=True)
    """
)


def _export_and_kill(tmp_path, kind, path):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    marker = tmp_path / "paused"
    log_path = tmp_path / "stderr.txt"
    env = {
        **os.environ,
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "CUDA_VISIBLE_DEVICES": "",
    }
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, str(script), kind, str(path), str(marker)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    deadline = time.monotonic() + TIMEOUT
    try:
        while not marker.exists():
            if process.poll() is not None:
                pytest.fail(f"The child exited:\n{log_path.read_text()}")
            if time.monotonic() > deadline:
                pytest.fail("The child never reached the pause.")
            time.sleep(0.1)
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _tree(directory):
    """`{relative path: sha256}` of every file under `directory`."""
    tree = {}
    for root, _, files in os.walk(directory):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
            tree[os.path.relpath(path, directory)] = digest
    return tree


def test_killed_saved_model_export_adds_no_version(tmp_path, tiny_vae):
    import keras_vae

    base = tmp_path / "models" / "vae"
    keras_vae.export_saved_model(tiny_vae, base)
    before = _tree(base / "1")
    _export_and_kill(tmp_path, "saved_model", base)

    # The complete SavedModel of version 2 was written, but only into a
    # hidden directory that TF Serving ignores; version 1 is untouched.
    hidden, visible = sorted(os.listdir(base))
    assert visible == "1" and hidden.startswith(".2.tmp-")
    assert "saved_model.pb" in os.listdir(base / hidden / "2")
    assert _tree(base / "1") == before

    # The next export takes version 2, and removes the dead process's
    # temporary directory.
    version_dir = keras_vae.export_saved_model(tiny_vae, base)
    assert os.path.basename(version_dir) == "2"
    assert sorted(os.listdir(base)) == ["1", "2"]


def test_killed_tflite_export_keeps_the_old_file(tmp_path, tiny_vae):
    import keras_vae

    path = tmp_path / "decoder.tflite"
    keras_vae.export_tflite_decoder(tiny_vae, path, quantization="float16")
    before = path.read_bytes()
    _export_and_kill(tmp_path, "tflite", path)

    # The new model lies complete in a hidden file; the old one is intact.
    assert path.read_bytes() == before
    leftovers = [n for n in os.listdir(tmp_path) if n.endswith(".tflite")]
    assert leftovers == ["decoder.tflite"]
    hidden = [n for n in os.listdir(tmp_path) if ".tflite.tmp-" in n]
    assert len(hidden) == 1 and hidden[0].startswith(".decoder.tflite.tmp-")

    # The next export of that path removes the dead process's hidden file.
    keras_vae.export_tflite_decoder(tiny_vae, path, overwrite=True)
    assert path.read_bytes() != before
    assert not [n for n in os.listdir(tmp_path) if ".tflite.tmp-" in n]
