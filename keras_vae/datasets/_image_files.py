"""The image files of a folder, and their labels from its class
subfolders, for `image_folder`."""

import os

import numpy as np

#: The file extensions read as images (any case), as in
#: `keras.utils.image_dataset_from_directory`.
IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")


def index_images(directory, labels):
    """Returns the sorted relative paths (with `/`) of the images below
    `directory`, their labels (or `None`) and the class names (or `None`):
    with `labels="inferred"` each subfolder is a class, numbered in the
    sorted order of the names, and the images are sorted by label."""
    if not os.path.exists(directory):
        raise FileNotFoundError(f"No folder at {directory!r}.")
    if not os.path.isdir(directory):
        raise ValueError(
            "Invalid value for argument `directory`: expected a folder of "
            f"images, got a file. Received: directory={directory!r}"
        )
    names = sorted(_walk(directory))
    images = [name for name in names if _is_image(name)]
    if not images:
        if names:
            found = f"only {len(names)} other files: " + ", ".join(names[:5])
            found += ", ..." if len(names) > 5 else ""
        else:
            found = "no files at all"
        raise ValueError(
            f"The folder {directory!r} holds no images (files named "
            f"{', '.join('*' + e for e in IMAGE_EXTENSIONS)}, hidden ones "
            f"left out), {found}. Received: directory={directory!r}"
        )
    if labels is None:
        return images, None, None
    top_level = [name for name in images if "/" not in name]
    if top_level:
        raise ValueError(
            f'With labels="inferred", the classes are the subfolders of '
            f"{directory!r}, but {len(top_level)} images lie directly in "
            f"it (e.g. {top_level[0]!r}). Pass labels=None to read all the "
            "images without labels, or move them into class folders."
        )
    class_names = sorted(
        name
        for name in os.listdir(directory)
        if not name.startswith(".")
        and os.path.isdir(os.path.join(directory, name))
    )
    index = {name: i for i, name in enumerate(class_names)}
    label_ids = np.array(
        [index[name.split("/", 1)[0]] for name in images], dtype="int32"
    )
    order = np.argsort(label_ids, kind="stable")
    return [images[i] for i in order], label_ids[order], class_names


def _walk(directory):
    """Yields the paths relative to `directory`, with `/`, of the files
    below it, hidden files and folders (`.name`) left out."""
    for root, folders, names in os.walk(directory):
        folders[:] = [f for f in folders if not f.startswith(".")]
        relative = os.path.relpath(root, directory)
        prefix = "" if relative == "." else relative.replace(os.sep, "/") + "/"
        for name in names:
            if not name.startswith("."):
                yield prefix + name


def _is_image(name):
    return name.lower().endswith(IMAGE_EXTENSIONS)
