"""The documentation cannot rot: every Python block of the README and the
guides runs, in a test.

The Python blocks of a page run in order, in one namespace, in a fresh
process whose working directory is a temporary folder holding the files the
guides name (`photos/`, `sensors.csv`, `new_rows.csv`), with
`KERAS_VAE_DATA_DIR` pointing at the MNIST sample embedded in the package
written as `mnist.npz` (so `load_mnist()` reads it and never downloads). A
block that needs a server or a long run is excepted by the line
`<!-- docs-test: skip (reason) -->` right above its fence.
tests/test_docs_site.py builds the site and opens it in Chromium.
"""

import importlib.util
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.tensorflow_only

ROOT = pathlib.Path(__file__).resolve().parents[1]
SKIP_MARK = re.compile(r"^<!-- docs-test: skip \(.+\) -->$")
# `os.environ["KERAS_BACKEND"] = "jax"`: a page that runs on that backend.
BACKEND_CHOICE = re.compile(r'os\.environ\["KERAS_BACKEND"\] = "(jax|torch)"')
# Pages whose blocks need a set-up of their own, run by their own tests.
RUN_ELSEWHERE = {
    "docs/guides/writing_your_own_parts.md": "tests/test_custom_parts.py",
}
PAGE_TIMEOUT = 600


def python_blocks(text):
    """`[(line, code)]` of the ```python blocks of a Markdown text, without
    those marked to skip."""
    blocks = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        if lines[i].strip() == "```python":
            start = i + 1
            end = lines.index("```", start)
            skipped = i > 0 and SKIP_MARK.match(lines[i - 1].strip())
            if not skipped:
                blocks.append((start + 1, "\n".join(lines[start:end])))
            i = end
        i += 1
    return blocks


def pages():
    paths = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    return [
        str(path.relative_to(ROOT))
        for path in paths
        if "```python" in path.read_text()
    ]


def test_python_blocks_are_found_and_skips_are_honoured():
    text = (
        "```python\na = 1\n```\n"
        "<!-- docs-test: skip (needs a server) -->\n```python\nb = 2\n```\n"
        "```bash\nc=3\n```\n```python\nd = 4\n```"
    )
    assert python_blocks(text) == [(2, "a = 1"), (12, "d = 4")]


@pytest.fixture(scope="module")
def page_files(tmp_path_factory):
    """The files the guides name, and the data folder with MNIST."""
    from PIL import Image
    from sklearn.datasets import load_breast_cancer

    import keras_vae

    root = tmp_path_factory.mktemp("docs_files")
    (x_train, y_train), (x_test, y_test) = keras_vae.datasets.load_mnist(
        embedded=True
    )
    data = root / "data"
    data.mkdir()
    np.savez(
        data / "mnist.npz",
        x_train=np.round(x_train[..., 0] * 255).astype("uint8"),
        y_train=y_train,
        x_test=np.round(x_test[..., 0] * 255).astype("uint8"),
        y_test=y_test,
    )
    for i in range(48):
        folder = root / "photos" / ("zeros" if y_train[i] == 0 else "others")
        folder.mkdir(parents=True, exist_ok=True)
        pixels = np.round(x_train[i, ..., 0] * 255).astype("uint8")
        Image.fromarray(pixels).convert("RGB").save(folder / f"{i}.png")
    table = load_breast_cancer()
    header = ",".join(name.replace(" ", "_") for name in table.feature_names)
    for name, rows in (
        ("sensors.csv", table.data[:500]),
        ("new_rows.csv", table.data[500:]),
    ):
        np.savetxt(root / name, rows, delimiter=",", header=header, comments="")
    return root


_RUNNER = """
import json, sys
namespace = {"__name__": "__main__"}
for line, code in json.load(open(sys.argv[1])):
    exec(compile(code, f"{sys.argv[2]}:{line}", "exec"), namespace)
"""


@pytest.mark.parametrize("page", pages())
def test_the_python_blocks_run(page, page_files, tmp_path):
    if page in RUN_ELSEWHERE:
        pytest.skip(f"run with its set-up by {RUN_ELSEWHERE[page]}")
    blocks = python_blocks((ROOT / page).read_text())
    # A page that switches to another backend needs its package: `make
    # test` installs TensorFlow only, `.ci/run` all three.
    for backend in BACKEND_CHOICE.findall("".join(c for _, c in blocks)):
        if importlib.util.find_spec(backend) is None:
            pytest.skip(f"runs on {backend}, which is not installed")
    work = tmp_path / "work"
    shutil.copytree(page_files, work, ignore=shutil.ignore_patterns("data"))
    (tmp_path / "blocks.json").write_text(json.dumps(blocks))
    env = dict(
        os.environ,
        KERAS_VAE_DATA_DIR=str(page_files / "data"),
        PYTHONPATH=str(ROOT),
        TF_CPP_MIN_LOG_LEVEL="2",
    )
    result = subprocess.run(
        [sys.executable, "-c", _RUNNER, str(tmp_path / "blocks.json"), page],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=PAGE_TIMEOUT,
    )
    assert result.returncode == 0, result.stderr[-5000:]
