"""File-system helpers for atomic exports."""

import os
import secrets


def make_dirs(path):
    """Creates `path` and its missing parents; returns the ones created."""
    missing = []
    while not os.path.isdir(path) and os.path.dirname(path) != path:
        missing.append(path)
        path = os.path.dirname(path)
    created = []
    for directory in reversed(missing):
        try:
            os.mkdir(directory)
        except FileExistsError:  # Made meanwhile by another process.
            continue
        created.insert(0, directory)
    return created


def remove_empty_dirs(directories):
    """Removes those of `directories` (deepest first) that are empty."""
    for directory in directories:
        try:
            os.rmdir(directory)
        except OSError:
            pass


def hidden_name(directory, prefix):
    """A fresh path `directory/<prefix><random hex>`; nothing is created."""
    return os.path.join(directory, prefix + secrets.token_hex(4))
