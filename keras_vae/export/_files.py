"""File-system helpers for atomic exports."""

import hashlib
import os
import secrets
import shutil
import socket


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
    """A fresh path `directory/<prefix><host>-<pid>-<random hex>`; nothing
    is created. The host and process id let `remove_stale` find it should
    the process die before removing it."""
    owner = f"{_host()}-{os.getpid()}-"
    return os.path.join(directory, prefix + owner + secrets.token_hex(4))


def remove_stale(directory, prefix):
    """Removes the `hidden_name`s in `directory` starting with `prefix` that
    processes of this host made and did not remove because they died (e.g.
    killed during an export). Names of live processes, of other hosts (on a
    shared file system) or of another form are left alone."""
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        parts = name[len(prefix) :].rsplit("-", 3)[-3:]
        if not name.startswith(prefix) or len(parts) != 3:
            continue
        host, pid, _ = parts
        if host != _host() or not pid.isdigit() or _is_alive(int(pid)):
            continue
        path = os.path.join(directory, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            try:
                os.remove(path)
            except OSError:
                pass


def _host():
    name = socket.gethostname().encode()
    return hashlib.sha256(name).hexdigest()[:8]


def _is_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # E.g. another user's process.
        return True
    return True
