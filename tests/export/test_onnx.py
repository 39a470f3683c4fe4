"""ONNX files of the SavedModel's signatures: they agree with the
SavedModel in ONNX Runtime for a Bernoulli MLP, a conv model of 8-bit
pixels and a table model with a `Normalization`; what cannot convert is
skipped with its reason, or refused, leaving nothing on disk."""

import os
import sys

import keras
import numpy as np
import onnxruntime
import pytest
import tensorflow as tf

import keras_vae
from keras_vae.cli import main
from keras_vae.export import export_onnx
from keras_vae.export import export_saved_model
from keras_vae.export.onnx import ONNX_SIGNATURES
from keras_vae.export.onnx import relative_difference
from keras_vae.likelihoods import Bernoulli
from keras_vae.likelihoods.flatten import flatten_examples

# TensorFlow's own machinery: skipped on the other backends.
pytestmark = pytest.mark.tensorflow_only

SCORE_SAMPLES = 8
RTOL = 1e-4


def bernoulli_mlp():
    vae = keras_vae.build_mlp_vae(
        (6, 6, 1), latent_dim=2, hidden_units=(16,), seed=0
    )
    x = np.random.default_rng(0).uniform(size=(16, 6, 6, 1))
    return vae, x.astype("float32")


def conv_8bit():
    vae = keras_vae.build_conv_vae(
        (8, 8, 3),
        latent_dim=2,
        filters=(4,),
        hidden_units=(8,),
        likelihood="discretized_logistic",
        seed=0,
    )
    x = np.random.default_rng(1).integers(0, 256, size=(16, 8, 8, 3))
    return vae, x.astype("uint8")


def table_with_normalization():
    rng = np.random.default_rng(2)
    scales = np.array([0.01, 1.0, 300.0], "float32")
    rows = rng.normal(size=(64, 3)) * scales + 1000 * scales
    rows = rows.astype("float32")
    normalization = keras.layers.Normalization()
    normalization.adapt(rows)
    vae = keras_vae.build_mlp_vae(
        (3,),
        latent_dim=2,
        hidden_units=(8,),
        likelihood="gaussian",
        preprocessing=normalization,
        seed=0,
    )
    return vae, rows[:16]


MODELS = {
    "bernoulli_mlp": bernoulli_mlp,
    "conv_8bit": conv_8bit,
    "table": table_with_normalization,
}


@pytest.fixture(scope="module", params=sorted(MODELS))
def exported(request, tmp_path_factory):
    """A model (untrained: its outputs are as varied), its inputs, its
    SavedModel's signatures and its ONNX files."""
    keras.utils.set_random_seed(0)
    vae, x = MODELS[request.param]()
    vae(x[:1])
    directory = tmp_path_factory.mktemp(request.param)
    saved_model = export_saved_model(
        vae, directory / "saved_model", score_samples=SCORE_SAMPLES
    )
    written, skipped = export_onnx(
        vae, directory / "onnx", score_samples=SCORE_SAMPLES
    )
    signatures = tf.saved_model.load(saved_model).signatures
    return vae, x, signatures, written, skipped


def run_onnx(path, inputs):
    session = onnxruntime.InferenceSession(
        path, providers=["CPUExecutionProvider"]
    )
    names = [output.name for output in session.get_outputs()]
    return dict(zip(names, session.run(names, inputs)))


def test_onnx_files_agree_with_the_saved_model(exported):
    vae, x, signatures, written, skipped = exported
    assert sorted(written) == sorted(ONNX_SIGNATURES)
    assert all(os.path.isfile(path) for path in written.values())
    assert "sample" in skipped
    z = np.random.default_rng(3).standard_normal((len(x),) + vae.latent_shape)
    requests = {
        "encode": {"x": x},
        "decode": {"z": z.astype("float32")},
        "reconstruct": {"x": x},
        "score": {"x": x},
    }
    for name, inputs in requests.items():
        actual = run_onnx(written[name], inputs)
        expected = signatures[name](**inputs)
        assert sorted(actual) == sorted(expected)
        for key, value in expected.items():
            assert actual[key].dtype == np.float32
            difference = relative_difference(actual[key], value.numpy())
            assert difference <= RTOL, (name, key, difference)


def test_bytes_signatures_of_image_models_are_skipped(exported):
    vae, _, signatures, _, skipped = exported
    for name in ("encode_bytes", "reconstruct_bytes", "score_bytes"):
        assert (name in skipped) == (name in signatures)
        if name in skipped:
            assert "DecodeImage" in skipped[name]


class Log1pBernoulli(Bernoulli):
    """The Bernoulli likelihood through TensorFlow's cross-entropy, whose
    `Log1p` tf2onnx cannot convert."""

    def negative_log_likelihood(self, x, logits):
        x = flatten_examples(keras.ops.cast(x, "float32"))
        logits = flatten_examples(keras.ops.cast(logits, "float32"))
        nll = keras.ops.binary_crossentropy(x, logits, from_logits=True)
        return keras.ops.sum(nll, axis=-1)


@pytest.fixture(scope="module")
def log1p_vae():
    vae = keras_vae.build_mlp_vae(
        (4,), latent_dim=2, hidden_units=(8,), likelihood=Log1pBernoulli()
    )
    vae(np.zeros((1, 4), "float32"))
    return vae


def test_a_score_that_cannot_convert_is_skipped(log1p_vae, tmp_path):
    written, skipped = export_onnx(log1p_vae, tmp_path / "onnx")
    assert sorted(written) == ["decode", "encode", "reconstruct"]
    assert "Log1p" in skipped["score"]
    assert sorted(os.listdir(tmp_path / "onnx")) == [
        "decode.onnx",
        "encode.onnx",
        "reconstruct.onnx",
    ]


def test_an_explicit_request_that_cannot_convert_writes_nothing(
    log1p_vae, tmp_path
):
    directory = tmp_path / "models" / "onnx"
    with pytest.raises(ValueError, match="'score' cannot be exported.*Log1p"):
        export_onnx(log1p_vae, directory, signatures=["encode", "score"])
    # Not even the `encode.onnx` that converted, nor the parent folder.
    assert os.listdir(tmp_path) == []
    with pytest.raises(ValueError, match="'sample' cannot be exported"):
        export_onnx(log1p_vae, directory, signatures=["sample"])
    assert os.listdir(tmp_path) == []


def test_an_existing_directory_needs_overwrite(log1p_vae, tmp_path):
    directory = tmp_path / "onnx"
    directory.mkdir()
    (directory / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match="exists already"):
        export_onnx(log1p_vae, directory, signatures=["decode"])
    assert os.listdir(directory) == ["keep.txt"]
    written, _ = export_onnx(
        log1p_vae, directory, signatures=["decode"], overwrite=True
    )
    assert sorted(written) == ["decode"]
    assert os.listdir(directory) == ["decode.onnx"]


@pytest.mark.parametrize(
    "signatures, match",
    [
        ("encode", "expected None or a list"),
        ([], "non-empty list"),
        (["encoder"], "'encoder' is not a signature"),
    ],
)
def test_invalid_signatures_raise(log1p_vae, tmp_path, signatures, match):
    with pytest.raises(ValueError, match=match):
        export_onnx(log1p_vae, tmp_path / "onnx", signatures=signatures)
    assert os.listdir(tmp_path) == []


def test_missing_tf2onnx_names_the_extra(log1p_vae, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tf2onnx", None)
    with pytest.raises(ImportError, match=r'pip install "keras-vae\[onnx\]"'):
        export_onnx(log1p_vae, tmp_path / "onnx")
    assert os.listdir(tmp_path) == []


# === The command line ===


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    vae, x = bernoulli_mlp()
    vae(x[:1])
    path = tmp_path_factory.mktemp("model") / "vae.keras"
    vae.save(path)
    return path


def test_cli_writes_the_files_and_says_what_it_skipped(
    model_path, tmp_path, capsys
):
    directory = tmp_path / "onnx"
    args = ["export", str(model_path), "--onnx", str(directory)]
    code = main(args + ["--score-samples", str(SCORE_SAMPLES)])
    assert code == 0
    assert sorted(os.listdir(directory)) == sorted(
        f"{name}.onnx" for name in ONNX_SIGNATURES
    )
    out = capsys.readouterr().out
    assert f"wrote ONNX {directory / 'score.onnx'}" in out
    assert "skipped ONNX sample: it draws with TensorFlow's stateless" in out
    # Only the program's own lines: nothing of tf2onnx's logs.
    assert all(
        line.startswith(("wrote", "skipped")) for line in out.splitlines()
    )
    vae = keras.saving.load_model(model_path)
    z = np.random.default_rng(4).standard_normal((5, 2)).astype("float32")
    x_mean = run_onnx(str(directory / "decode.onnx"), {"z": z})["x_mean"]
    assert relative_difference(x_mean, vae.decode(z)) <= RTOL

    # A second export into the same directory needs --overwrite.
    assert main(args) == 2
    assert "exists already" in capsys.readouterr().err
    assert main(args + ["--overwrite", "--onnx-signatures", "decode"]) == 0
    assert os.listdir(directory) == ["decode.onnx"]


def test_cli_refuses_sample_and_writes_nothing(model_path, tmp_path, capsys):
    code = main(
        [
            "export",
            str(model_path),
            "--saved-model",
            str(tmp_path / "serving"),
            "--onnx",
            str(tmp_path / "onnx"),
            "--onnx-signatures",
            "encode",
            "sample",
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "'sample' cannot be exported to ONNX" in err
    assert "stateless random ops" in err
    assert os.listdir(tmp_path) == []
