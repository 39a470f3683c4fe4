"""`python -m keras_vae` runs the `keras-vae` program."""

import subprocess
import sys


def test_python_m_keras_vae_runs_the_command_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "keras_vae", "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "usage: keras-vae" in result.stdout
