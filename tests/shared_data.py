"""The data shared by every checkout (`../shared/data`, or
`$KERAS_VAE_DATA_DIR`), and CIFAR-10 JPEG files extracted from it for a
test. Tests never download; without the shared data they skip."""

import os
import tarfile
from pathlib import Path

import pytest


def shared_file(name):
    """The file `name` in `$KERAS_VAE_DATA_DIR` (the package's data-path
    setting) if it is there, else in `../shared/data` from the project
    root; None if neither has it."""
    for directory in (
        os.environ.get("KERAS_VAE_DATA_DIR"),
        Path(__file__).resolve().parents[1].parent / "shared" / "data",
    ):
        if directory and Path(directory, name).is_file():
            return Path(directory, name)
    return None


#: The full MNIST, in the `keras.datasets` layout.
MNIST_NPZ = shared_file("mnist.npz")
#: The CIFAR-10 JPEG archive, `train/<class>/NNNN.jpg`, `test/<class>/...`.
CIFAR_JPEG = shared_file("cifar10-jpeg.tar.gz")
DATA_DIR = CIFAR_JPEG and CIFAR_JPEG.parent
needs_cifar = pytest.mark.skipif(
    CIFAR_JPEG is None, reason="no cifar10-jpeg.tar.gz in ../shared/data"
)


def extract_cifar(destination, split, classes, per_class):
    """Writes the files `<split>/<class>/NNNN.jpg` with NNNN < `per_class`
    (`None`: all) of each class into `destination`, and returns the folder
    `destination/<split>`. Stops reading the archive once all are out."""
    wanted = {c: per_class for c in classes}
    found = {c: 0 for c in classes}
    with tarfile.open(CIFAR_JPEG) as archive:
        for member in archive:
            parts = member.name.split("/")
            if not (member.isfile() and len(parts) == 3):
                continue
            if parts[0] != split or parts[1] not in wanted:
                continue
            if per_class is not None and int(parts[2][:-4]) >= per_class:
                continue
            target = Path(destination, *parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.extractfile(member).read())
            found[parts[1]] += 1
            if per_class is not None and found == wanted:
                break
    return Path(destination, split)
