"""What the `keras-vae` program does before Keras is imported: a quiet
start, with no TensorFlow start-up lines, and the TensorFlow backend for
`keras-vae export`.

`keras_vae/__init__.py` runs `start_program()` first, so that it takes
effect before Keras imports TensorFlow, and the command line
(`keras_vae.cli`) itself is imported only by the program.

TensorFlow 2.21 writes a dozen lines to stderr whenever it starts, whatever
the input. `TF_CPP_MIN_LOG_LEVEL=1` (set before TensorFlow is imported)
silences its INFO lines (the CPU features, the XLA service), but not the
lines absl writes before its logging is initialised, nor the failed `cuInit`
(an ERROR) of a machine without a GPU. Those few lines, matched exactly, are
dropped by a small forked process that reads the program's stderr through
a pipe and forwards everything else unchanged. A process rather than a
thread, so that what the program wrote just before a crash (a failed
check, a segfault's traceback) still comes through.

This is for the program only: importing `keras_vae` from Python never
touches stderr.
`KERAS_VAE_TF_LOGS=1` turns it off; a `TF_CPP_MIN_LOG_LEVEL` set by the
user is kept.
"""

import atexit
import os
import re
import select
import sys
import time

# The environment variable that shows TensorFlow's start-up lines.
OPT_IN = "KERAS_VAE_TF_LOGS"


def _absl(severity, source, message):
    """An absl log line: `I0000 00:00:1796.123   42 port.cc:153] message`."""
    return (
        severity
        + rb"\d{4} [\d:.]+ +\d+ "
        + re.escape(source)
        + rb":\d+\] "
        + re.escape(message)
        + rb".*"
    )


# Lines that no setting silences, written on every start (or every TFLite
# conversion) whatever the input.
NOISE = (
    rb"WARNING: All log messages before absl::InitializeLog\(\) is called "
    rb"are written to STDERR",
    _absl(b"I", b"port.cc", b"oneDNN custom operations are on."),
    _absl(b"W", b"tf_tfl_flatbuffer_helpers.cc", b"Ignored output_format."),
    _absl(
        b"W",
        b"tf_tfl_flatbuffer_helpers.cc",
        b"Ignored drop_control_dependency.",
    ),
    rb"INFO: Created TensorFlow Lite XNNPACK delegate for CPU\.",
)
# On a machine without an NVIDIA device these only say that there is no
# GPU; where there is one, they say that it is not used, and stay.
NO_GPU_NOISE = (
    _absl(b"I", b"cudart_stub.cc", b"Could not find cuda drivers"),
    _absl(b"E", b"cuda_platform.cc", b"failed call to cuInit:"),
)
_DEVICE_NODES = ("/dev/nvidiactl", "/dev/dxg")


def started_as_program():
    """Whether this process is the `keras-vae` program: its console script
    or `python -m keras_vae` (or `keras_vae.cli`) while that module is
    being found, not a Python program that imports the package."""
    argv0 = os.path.basename(sys.argv[0]) if sys.argv else ""
    if argv0 == "keras-vae":
        return True
    # Python sets sys.argv[0] to "-m" while it imports the module's
    # packages, and keeps its own command line in sys.orig_argv.
    argv = getattr(sys, "orig_argv", [])
    if argv0 != "-m" or "-m" not in argv[:-1]:
        return False
    return argv[argv.index("-m") + 1] in ("keras_vae", "keras_vae.cli")


def start_program():
    """In the `keras-vae` program only: hides TensorFlow's start-up lines,
    and runs `keras-vae export` on TensorFlow whatever `KERAS_BACKEND` says
    (the SavedModel and the TFLite file are TensorFlow's, and a `.keras`
    file trained on any backend loads there). Other commands keep the
    backend the user chose."""
    if not started_as_program():
        return
    silence_tensorflow_startup()
    if sys.argv[1:2] == ["export"] and "keras" not in sys.modules:
        os.environ["KERAS_BACKEND"] = "tensorflow"


def silence_tensorflow_startup():
    """Hides TensorFlow's start-up lines from this process's stderr.

    Call it before TensorFlow is imported (and before any thread starts).
    It sets `TF_CPP_MIN_LOG_LEVEL=1` unless the variable is set already,
    and passes file descriptor 2 through a forked filter process that drops
    only the lines in `NOISE` (and `NO_GPU_NOISE` on a machine with no
    NVIDIA device node) until the program exits. Child processes inherit
    the filtered stderr. Does nothing if `KERAS_VAE_TF_LOGS=1`; sets only
    the environment variable on systems other than POSIX.
    """
    if os.environ.get(OPT_IN) == "1":
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    if os.name != "posix":
        return
    noise = _noise(no_gpu=not any(map(os.path.exists, _DEVICE_NODES)))
    sys.stdout.flush()
    sys.stderr.flush()
    source, sink = os.pipe()
    pid = os.fork()
    if pid == 0:  # The filter: its own session, so Ctrl-C leaves it be.
        try:
            os.setsid()
            os.close(sink)
            devnull = os.open(os.devnull, os.O_RDWR)
            os.dup2(devnull, 0)
            os.dup2(devnull, 1)
            forward(source, 2, noise)
        finally:
            os._exit(0)
    os.close(source)
    original = os.dup(2)
    os.dup2(sink, 2)
    os.close(sink)
    atexit.register(_stop, pid, original)


def _stop(pid, original, timeout=10.0):
    """Puts the original stderr back, and waits for the filter to forward
    what is left in the pipe (unless a child process still writes to it:
    then the filter outlives us)."""
    try:
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    os.dup2(original, 2)
    os.close(original)
    deadline = time.monotonic() + timeout
    try:
        while os.waitpid(pid, os.WNOHANG) == (0, 0):
            if time.monotonic() > deadline:
                return
            time.sleep(0.01)
    except ChildProcessError:
        pass  # Reaped by someone else.


def forward(source, sink, noise, partial_line_wait=0.1):
    """Copies bytes from file descriptor `source` to `sink` until the end
    of the input, dropping the lines that `noise` (a compiled bytes
    pattern) matches in full. A line that has not ended after
    `partial_line_wait` seconds (a prompt, a progress bar) is forwarded as
    it is."""
    pending = b""
    while True:
        if pending:
            ready, _, _ = select.select([source], [], [], partial_line_wait)
            if not ready:
                _write(sink, pending)
                pending = b""
        chunk = os.read(source, 1 << 16)
        if not chunk:
            break
        *lines, pending = (pending + chunk).split(b"\n")
        kept = [line + b"\n" for line in lines if not noise.fullmatch(line)]
        _write(sink, b"".join(kept))
    _write(sink, pending)


def _write(fd, data):
    """Writes all of `data`; a closed terminal loses it, but the reading
    goes on so that the program never blocks on a full pipe."""
    try:
        while data:
            data = data[os.write(fd, data) :]
    except OSError:
        pass


def _noise(no_gpu):
    patterns = NOISE + (NO_GPU_NOISE if no_gpu else ())
    return re.compile(b"|".join(b"(?:" + p + b")" for p in patterns))
