"""utils.atomic.atomic_path: files and directories appear whole or not at
all, and the leftovers of dead processes are removed."""

import os
import subprocess
import sys

import pytest

from keras_vae.utils import atomic
from keras_vae.utils.atomic import atomic_path


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def test_writes_a_file_under_its_own_name(tmp_path):
    target = tmp_path / "model.keras"
    with atomic_path(target) as temp:
        # Writers that check the name (Keras's `.keras`) see the target's.
        assert os.path.basename(temp) == "model.keras"
        assert os.path.dirname(os.path.dirname(temp)) == str(tmp_path)
        write(temp, "new")
        assert not target.exists()
    assert target.read_text() == "new"
    assert os.listdir(tmp_path) == ["model.keras"]


def test_overwrite_rules(tmp_path):
    target = tmp_path / "metrics.json"
    write(target, "old")
    with pytest.raises(FileExistsError, match="Received: path="):
        with atomic_path(target):
            pass
    with atomic_path(target, overwrite=True) as temp:
        write(temp, "new")
    assert target.read_text() == "new"
    assert os.listdir(tmp_path) == ["metrics.json"]


def test_an_error_leaves_the_target_and_no_leftovers(tmp_path):
    target = tmp_path / "metrics.json"
    write(target, "old")
    with pytest.raises(RuntimeError, match="disk full"):
        with atomic_path(target, overwrite=True) as temp:
            write(temp, "partial")
            raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["metrics.json"]
    # The parents it made are removed too.
    with pytest.raises(RuntimeError, match="disk full"):
        with atomic_path(tmp_path / "new" / "deeper" / "file") as temp:
            raise RuntimeError("disk full")
    assert os.listdir(tmp_path) == ["metrics.json"]


def test_replaces_a_directory(tmp_path):
    target = tmp_path / "embedding"
    target.mkdir()
    write(target / "old.txt", "old")
    with atomic_path(target, overwrite=True) as temp:
        os.mkdir(temp)
        write(os.path.join(temp, "new.txt"), "new")
    assert os.listdir(target) == ["new.txt"]
    assert os.listdir(tmp_path) == ["embedding"]


def test_a_failed_directory_swap_puts_the_old_one_back(tmp_path, monkeypatch):
    target = tmp_path / "1"
    target.mkdir()
    write(target / "old.txt", "old")
    replace = os.replace

    def failing_replace(src, dst):
        if dst == str(target) and not src.endswith(".old"):
            raise OSError("rename failed")
        replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="rename failed"):
        with atomic_path(target, overwrite=True) as temp:
            os.mkdir(temp)
    assert os.listdir(target) == ["old.txt"]
    assert os.listdir(tmp_path) == ["1"]


def test_removes_only_the_leftovers_of_dead_processes(tmp_path):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead_pid = int(dead.stdout)
    host = atomic._host()
    other_host = "0" * 8 if host != "0" * 8 else "1" * 8
    names = {
        "dead": f".a.tmp-{host}-{dead_pid}-0123abcd",
        "dead_file": f".b.tflite.tmp-{host}-{dead_pid}-0123abcd",
        "alive": f".a.tmp-{host}-{os.getpid()}-0123abcd",
        "other_host": f".a.tmp-{other_host}-{dead_pid}-0123abcd",
        "other_form": ".a.tmp-not-ours",
    }
    for key, name in names.items():
        if key == "dead_file":
            write(tmp_path / name, "")
        else:
            (tmp_path / name).mkdir()
    with atomic_path(tmp_path / "c") as temp:
        write(temp, "")
    left = set(os.listdir(tmp_path))
    assert left == {"c"} | {
        names[k] for k in ("alive", "other_host", "other_form")
    }
