"""What the benchmarks share: the machine description every benchmark
prints with its table, the command line that reproduces a run, writing a
report, and worker processes (`python -m benchmarks....`)."""

import json
import os
import platform
import shlex
import subprocess
import sys

#: The repository root: the folder that holds the `benchmarks` package.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def module_command(module, arguments=()):
    """`python -m module arguments...`, with this Python."""
    return [sys.executable, "-m", module, *arguments]


def worker_env(quiet=True, **variables):
    """The environment of a worker process: this one's, with the
    repository root first on PYTHONPATH (so `python -m benchmarks....`
    finds the package from any working directory), TensorFlow's C++ logs
    off if `quiet`, and `variables`."""
    paths = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    paths = [ROOT] + [p for p in paths if p and p != ROOT]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    if quiet:
        env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    return {**env, **variables}


def machine():
    """`"<CPU model>, <n> cores, <OS>"`, from lscpu where it exists."""
    try:
        lscpu = subprocess.run(
            ["lscpu"], capture_output=True, text=True, check=True
        ).stdout
        model = next(
            line.split(":", 1)[1].strip()
            for line in lscpu.splitlines()
            if line.startswith("Model name")
        )
    except (OSError, subprocess.CalledProcessError, StopIteration):
        model = platform.processor() or "unknown CPU"
    return f"{model}, {os.cpu_count()} cores, {platform.system()}"


def peak_rss_mb():
    """This process's peak resident memory in MB. Read from VmHWM, not
    `getrusage`: Linux carries `ru_maxrss` across `exec`, so a child would
    report its parent's peak."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def command_flags(args):
    """The command-line flags that reproduce an `argparse` namespace."""
    flags = []
    for key, value in vars(args).items():
        if value is None:  # Left to its default.
            continue
        if isinstance(value, bool):  # A `store_true` flag.
            if value:
                flags.append(f"--{key.replace('_', '-')}")
            continue
        if isinstance(value, list):  # `nargs`: one word per value.
            words = " ".join(shlex.quote(str(v)) for v in value)
        else:
            words = shlex.quote(str(value))
        flags.append(f"--{key.replace('_', '-')} {words}")
    return " ".join(flags)


#: Notes written by hand below this line of a report are kept by
#: `save_report` when the benchmark writes the report again.
NOTES_MARKER = "<!-- Notes below are kept when the table is measured again. -->"


def save_report(text, path):
    """Prints a benchmark's report and writes it to `path` (in
    docs/benchmarks/), keeping the notes below `NOTES_MARKER` of the report
    it replaces."""
    print(text)
    if os.path.exists(path):
        with open(path) as f:
            old = f.read()
        if NOTES_MARKER in old:
            text += "\n" + NOTES_MARKER + "\n"
            text += old.split(NOTES_MARKER + "\n", 1)[1]
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


class WorkerProcess:
    """A benchmark worker: `python -m module --worker ...` in its own
    process, which prints one JSON line when ready and one per command read
    on stdin.

    Args:
        module: The benchmark module to run, e.g.
            `"benchmarks.training.streaming_fit"`.
        arguments: Its command-line arguments after the module.
        close_timeout: Seconds `close` waits for the worker to exit.
    """

    def __init__(self, module, arguments, close_timeout=60):
        self.close_timeout = close_timeout
        self.process = subprocess.Popen(
            module_command(module, arguments),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=worker_env(),
        )
        self.ready = self.ask(None)

    def ask(self, command):
        """Sends `command` (None: nothing) and returns the next JSON line."""
        if command is not None:
            self.process.stdin.write(command + "\n")
            self.process.stdin.flush()
        while True:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError("worker died")
            if line.startswith("{"):
                return json.loads(line)

    def close(self):
        self.process.stdin.close()
        self.process.wait(timeout=self.close_timeout)
