"""The `keras-vae` program starts quietly: no TensorFlow start-up lines,
unless asked for, and every real error, warning and traceback still comes
through. `python -m keras_vae` runs it."""

import os
import re
import subprocess
import sys
import threading

import pytest

from keras_vae import program_start as quiet

# What TensorFlow 2.21 prints on a CPU machine when the program starts and
# trains (issue 10).
STARTUP = (
    "absl::InitializeLog",
    "oneDNN",
    "cudart_stub",
    "cpu_feature_guard",
    "cuInit",
    "E0000",
    "I0000",
    "XLA service",
    "dump_mlir_util",
    "Compiled cluster using XLA",
)
TRAIN = [
    "train",
    "--dataset",
    "mnist-sample",
    "--epochs",
    "1",
    "--hidden-units",
    "8",
    "--latent-dim",
    "2",
    "--batch-size",
    "500",
    "--verbose",
    "0",
]


def run(args, tmp_path, **env):
    """Runs `python <args>` in `tmp_path` with TensorFlow's logging
    variables unset unless given; returns (exit code, stdout + stderr)."""
    environ = dict(os.environ)
    for name in (quiet.OPT_IN, "TF_CPP_MIN_LOG_LEVEL"):
        environ.pop(name, None)
    environ.update(env)
    result = subprocess.run(
        [sys.executable, *args],
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return result.returncode, result.stdout + result.stderr


def test_python_m_keras_vae_runs_the_command_line(tmp_path):
    code, output = run(["-m", "keras_vae", "--help"], tmp_path)
    assert code == 0, output
    assert "usage: keras-vae" in output
    assert f"{quiet.OPT_IN}=1" in output
    assert "absl::InitializeLog" not in output


def test_train_prints_no_startup_lines(tmp_path):
    args = ["-m", "keras_vae", *TRAIN, "--output-dir", "out"]
    code, output = run(args, tmp_path)
    assert code == 0, output
    assert "wrote out/mnist_sample_vae.keras" in output
    shown = [s for s in STARTUP if s in output]
    assert not shown, output


def test_opt_in_shows_the_startup_lines(tmp_path):
    env = {quiet.OPT_IN: "1"}
    code, output = run(["-m", "keras_vae", "--help"], tmp_path, **env)
    assert code == 0, output
    assert "absl::InitializeLog" in output


def test_errors_still_come_through(tmp_path):
    # A bad argument value, and data that is not what it claims to be.
    args = ["-m", "keras_vae", *TRAIN, "--output-dir", "out"]
    code, output = run(args + ["--batch-size", "0"], tmp_path)
    assert code == 2
    assert "Invalid value for argument `batch_size`" in output
    assert "Received: batch_size=0" in output
    (tmp_path / "data.npz").write_bytes(b"not an archive")
    args = ["-m", "keras_vae", *TRAIN, "--output-dir", "out"]
    code, output = run(args + ["--data-path", "data.npz"], tmp_path)
    assert code == 2
    assert "keras-vae train: error:" in output
    assert "absl::InitializeLog" not in output  # The filter was on.
    assert not os.path.exists(tmp_path / "out")


# --- The filter itself ------------------------------------------------------

ABSL_INFO = (
    b"I0000 00:00:1796097374.482106    3554 port.cc:153] oneDNN custom "
    b"operations are on. You may see slightly different numerical results."
)
NO_CUDA = (
    b"E0000 00:00:1796097377.420647    3554 cuda_platform.cc:52] failed "
    b"call to cuInit: INTERNAL: CUDA error: UNKNOWN ERROR (303)"
)
REAL_ERROR = (
    b"E0000 00:00:1796097377.420647    3554 op_kernel.cc:1830] OP_REQUIRES "
    b"failed at matmul_op.cc:99 : INVALID_ARGUMENT: oneDNN shapes differ"
)


def test_forward_drops_only_the_known_lines():
    noise = quiet._noise(no_gpu=True)
    source, writer = os.pipe()
    reader, sink = os.pipe()
    lines = [
        b"WARNING: All log messages before absl::InitializeLog() is called "
        b"are written to STDERR",
        ABSL_INFO,
        b"keep: oneDNN custom operations are on.",  # Not an absl line.
        NO_CUDA,
        REAL_ERROR,
        b'  File "x.py", line 1, in <module>',
        b"",
        b"UserWarning: oneDNN",
    ]
    os.write(writer, b"\n".join(lines) + b"\nno newline at the end")
    os.close(writer)
    quiet.forward(source, sink, noise)
    os.close(sink)
    with os.fdopen(reader, "rb") as f:
        forwarded = f.read()
    assert forwarded.split(b"\n") == [
        lines[2],
        REAL_ERROR,
        lines[5],
        b"",
        lines[7],
        b"no newline at the end",
    ]
    # Where an NVIDIA device exists, a failed cuInit says the GPU is
    # unused: it stays.
    assert quiet._noise(no_gpu=True).fullmatch(NO_CUDA)
    assert not quiet._noise(no_gpu=False).fullmatch(NO_CUDA)
    assert quiet._noise(no_gpu=False).fullmatch(ABSL_INFO)


def test_forward_passes_an_unfinished_line_after_a_wait():
    source, writer = os.pipe()
    reader, sink = os.pipe()
    thread = threading.Thread(
        target=quiet.forward, args=(source, sink, quiet._noise(True), 0.05)
    )
    thread.start()
    os.write(writer, b"Overwrite? [y/N] ")
    # Arrives while the writer still has the pipe open.
    assert os.read(reader, 100) == b"Overwrite? [y/N] "
    os.close(writer)
    thread.join(timeout=10)
    os.close(sink)
    os.close(reader)


# Loads program_start.py alone, without the package and so without
# TensorFlow.
SILENCED = """
import importlib.util, os, sys, warnings
spec = importlib.util.spec_from_file_location("quiet", {path!r})
quiet = importlib.util.module_from_spec(spec)
spec.loader.exec_module(quiet)
quiet.silence_tensorflow_startup()
print(os.environ.get("TF_CPP_MIN_LOG_LEVEL"), os.environ.get(
    "CUDA_VISIBLE_DEVICES"), flush=True)
os.write(2, {noise!r} + b"\\n" + {error!r} + b"\\n")
warnings.warn("a warning the user can act on")
{end}
"""


@pytest.mark.parametrize(
    "end, expected",
    [
        ("raise ValueError('bad data. Received: x=1')", "Traceback"),
        ("os.write(2, b'fatal: about to abort'); os.abort()", "about to"),
    ],
)
def test_silenced_program_keeps_errors_warnings_and_crashes(
    tmp_path, end, expected
):
    script = SILENCED.format(
        path=quiet.__file__, noise=ABSL_INFO, error=REAL_ERROR, end=end
    )
    code, output = run(["-c", script], tmp_path)
    assert code != 0
    assert output.startswith("1 None\n")  # CUDA stays visible.
    assert ABSL_INFO.decode() not in output
    assert REAL_ERROR.decode() in output
    assert "UserWarning: a warning the user can act on" in output
    assert expected in output
    if expected == "Traceback":
        assert "ValueError: bad data. Received: x=1" in output


def test_a_level_set_by_the_user_and_the_opt_in_are_kept(tmp_path):
    script = SILENCED.format(
        path=quiet.__file__, noise=ABSL_INFO, error=REAL_ERROR, end=""
    )
    code, output = run(["-c", script], tmp_path, TF_CPP_MIN_LOG_LEVEL="0")
    assert code == 0 and output.startswith("0 None\n"), output
    code, output = run(["-c", script], tmp_path, **{quiet.OPT_IN: "1"})
    assert code == 0, output
    assert output.startswith("None None\n")
    assert ABSL_INFO.decode() in output


def test_importing_the_package_leaves_the_process_alone(tmp_path):
    script = (
        "import os, keras_vae; from keras_vae import program_start as quiet; "
        "print(quiet.started_as_program(), "
        "os.environ.get('TF_CPP_MIN_LOG_LEVEL'))"
    )
    code, output = run(["-c", script], tmp_path)
    assert code == 0, output
    # What importing TensorFlow alone leaves (with JAX installed, JAX's
    # import, which TensorFlow's triggers, sets it to 1): the package
    # itself must add nothing.
    baseline = (
        "import os, tensorflow; "
        "print(False, os.environ.get('TF_CPP_MIN_LOG_LEVEL'))"
    )
    code, expected = run(["-c", baseline], tmp_path)
    assert code == 0, expected
    last = re.search(r"^False .*$", expected, re.M).group(0)
    assert re.search(rf"^{re.escape(last)}$", output, re.M), output


@pytest.mark.parametrize(
    "argv, orig_argv, expected",
    [
        (["/venv/bin/keras-vae", "train"], ["python", "x"], True),
        (["-m"], ["python", "-m", "keras_vae", "train"], True),
        (["-m"], ["python", "-X", "dev", "-m", "keras_vae.cli"], True),
        (["-m"], ["python", "-m", "pytest", "keras_vae"], False),
        (["-c"], ["python", "-c", "import keras_vae"], False),
        (["-m"], ["python", "-m", "my_tool", "-m", "keras_vae"], False),
        (["train.py"], ["python", "train.py", "-m", "keras_vae"], False),
    ],
)
def test_started_as_program(monkeypatch, argv, orig_argv, expected):
    monkeypatch.setattr(sys, "argv", argv)
    monkeypatch.setattr(sys, "orig_argv", orig_argv)
    assert quiet.started_as_program() == expected
