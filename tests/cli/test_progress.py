"""Long work shows progress, and the commands say what they wrote: the
progress bar of `log_likelihood` and `keras-vae evaluate`, and the paths
that `plot` and `export` print."""

import os
import re

import numpy as np
import pytest

import keras_vae
from keras_vae.cli import main
from keras_vae.evaluation import log_likelihood

# Keras's progress bar colours its counts with ANSI escapes.
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def counts(output):
    """The `done/target` pairs a progress bar printed, in order."""
    text = ANSI.sub("", output)
    return [(int(a), int(b)) for a, b in re.findall(r"(\d+)/(\d+)", text)]


def test_progress_bar_counts_the_examples(tiny_vae, vectors, capsys):
    # Batches of 3: the bar may show 3, 6 and 9 (it redraws at most every
    # 0.05 s) and always ends at exactly 10.
    log_likelihood(tiny_vae, vectors[:10], num_samples=4, batch_size=3, seed=0)
    shown = counts(capsys.readouterr().out)
    assert shown[-1] == (10, 10)
    assert {done for done, _ in shown} <= {3, 6, 9, 10}
    assert {target for _, target in shown} == {10}
    assert [done for done, _ in shown] == sorted(done for done, _ in shown)


def test_verbose_2_prints_one_line_and_0_nothing(tiny_vae, vectors, capsys):
    log_likelihood(tiny_vae, vectors[:10], num_samples=4, seed=0, verbose=2)
    output = capsys.readouterr().out
    assert re.fullmatch(r"10/10 - \d+s - \d+(s|ms|us)/example\n", output), (
        output
    )
    log_likelihood(tiny_vae, vectors[:10], num_samples=4, seed=0, verbose=0)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("verbose", [3, -1, "yes", True, None])
def test_bad_verbose_raises(tiny_vae, vectors, verbose):
    with pytest.raises(ValueError, match=f"Received: verbose={verbose!r}"):
        log_likelihood(tiny_vae, vectors, num_samples=2, verbose=verbose)


# --- The commands, on a barely trained model of MNIST's shape ------------


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    vae = keras_vae.build_mlp_vae(
        input_shape=(28, 28, 1), latent_dim=2, hidden_units=(16,), seed=0
    )
    # One step, so the saved optimizer has its variables.
    x = np.random.default_rng(0).uniform(size=(16, 28, 28, 1))
    vae.compile(optimizer="adam")
    vae.fit(x.astype("float32"), epochs=1, batch_size=16, verbose=0)
    path = tmp_path_factory.mktemp("model") / "vae.keras"
    vae.save(path)
    return str(path)


def test_evaluate_shows_the_progress_of_the_log_likelihood(model_path, capsys):
    args = ["evaluate", model_path, "--dataset", "mnist-sample"]
    args += ["--limit", "12", "--num-samples", "3"]
    assert main(args) == 0
    output = capsys.readouterr().out
    assert "Estimating log p(x) of 12 test examples with K=3" in output
    assert counts(output.split("K=3")[1])[-1] == (12, 12)
    assert main(args + ["--verbose", "0"]) == 0
    output = capsys.readouterr().out
    assert "Estimating" not in output
    assert "12/12" not in ANSI.sub("", output)
    assert "12 test examples, nats per example" in output


def wrote(output):
    return [
        line[len("wrote ") :]
        for line in output.splitlines()
        if line.startswith("wrote ")
    ]


def test_plot_prints_each_file_it_wrote_and_no_other(
    model_path, tmp_path, capsys
):
    out = tmp_path / "plots"
    args = ["plot", model_path, "--dataset", "mnist-sample"]
    args += ["--output-dir", str(out)]
    assert main(args) == 0
    names = ("samples", "latent_map", "manifold", "traversals")
    paths = [str(out / f"{name}.png") for name in names]
    assert wrote(capsys.readouterr().out) == paths
    # The third file is in the way: the first two are written and said,
    # the third and fourth neither.
    for path in paths:
        os.remove(path)
    (out / "manifold.png").write_bytes(b"mine")
    assert main(args) == 2
    captured = capsys.readouterr()
    assert wrote(captured.out) == paths[:2]
    assert "manifold.png" in captured.err
    assert (out / "manifold.png").read_bytes() == b"mine"
    assert not os.path.exists(paths[3])


@pytest.mark.tensorflow_only  # The SavedModel and TFLite exports.
def test_export_prints_each_file_it_wrote_and_no_other(
    model_path, tmp_path, capsys
):
    tflite = tmp_path / "decoder.tflite"
    tflite.write_bytes(b"mine")
    args = ["export", model_path, "--saved-model", str(tmp_path / "serving")]
    assert main(args + ["--tflite", str(tflite)]) == 2
    captured = capsys.readouterr()
    # The SavedModel comes first and is written; the .tflite is refused.
    assert wrote(captured.out) == [f"SavedModel {tmp_path / 'serving' / '1'}"]
    assert os.path.isdir(tmp_path / "serving" / "1")
    assert "decoder.tflite" in captured.err
    assert tflite.read_bytes() == b"mine"
    assert main(args + ["--tflite", str(tflite), "--overwrite"]) == 0
    assert wrote(capsys.readouterr().out) == [
        f"SavedModel {tmp_path / 'serving' / '2'}",
        f"TFLite decoder {tflite}",
    ]
    assert tflite.read_bytes() != b"mine"
