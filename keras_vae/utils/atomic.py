"""Writes files and directories so that a crash never leaves a partial one."""

import contextlib
import hashlib
import os
import re
import secrets
import shutil
import socket

# The temporary folder beside `<name>`: `.<name>.tmp-<host>-<pid>-<random>`.
_TEMP_NAME = re.compile(r"\..+\.tmp-([0-9a-f]{8})-([0-9]+)-[0-9a-f]{8}")


@contextlib.contextmanager
def atomic_path(target, overwrite=False):
    """Yields a temporary path to write `target` at, renamed onto it on
    success.

    The temporary path has `target`'s name, inside a hidden folder beside
    it, `.<name>.tmp-<host>-<process id>-<random>`: on the same file system
    (so the rename is atomic) and under a name that servers watching the
    directory ignore. The caller writes a file or a directory there. When
    the block ends without error it is renamed onto `target`: a file
    replaces an existing one atomically; a directory replaces an existing
    one by moving it aside, moving the new one in (the old one is put back
    if that fails) and deleting the old one. On any error `target` is left
    as it was, and the temporary folder is removed, with the parent
    directories made for it. A process killed meanwhile leaves its
    temporary folder; the next write into that directory on the same host
    removes it.

    Args:
        target: The path of the file or directory to write.
        overwrite: Whether an existing `target` may be replaced. Defaults
            to `False`.

    Example:

    ```python
    with atomic_path("saved_models/metrics.json", overwrite=True) as temp:
        with open(temp, "w") as f:
            json.dump(metrics, f)
    ```
    """
    target = os.path.abspath(os.fspath(target))
    if os.path.exists(target) and not overwrite:
        raise FileExistsError(
            f"{target!r} exists already. Choose another path or pass "
            f"`overwrite=True`. Received: path={target!r}"
        )
    parent, name = os.path.split(target)
    created = _make_dirs(parent)
    _remove_stale(parent)
    temp_dir = os.path.join(parent, f".{name}.tmp-{_owner()}")
    try:
        os.mkdir(temp_dir)
        temp = os.path.join(temp_dir, name)
        yield temp
        _move(temp, target, overwrite)
    finally:
        shutil.rmtree(temp_dir, ignore_errors=True)
        _remove_empty_dirs(created)


def _move(temp, target, overwrite):
    if os.path.lexists(target):
        if not overwrite:
            raise FileExistsError(
                f"{target!r} appeared while it was being written. "
                f"Received: overwrite={overwrite}"
            )
        if os.path.isdir(temp) and os.path.isdir(target):
            # Beside the new one, in the temporary folder that is removed.
            old = temp + ".old"
            os.replace(target, old)
            try:
                os.replace(temp, target)
            except BaseException:
                os.replace(old, target)
                raise
            return
    # Should another process create a directory `target` meanwhile, this
    # fails: POSIX `rename` never replaces a non-empty directory.
    os.replace(temp, target)


def _make_dirs(path):
    """Creates `path` and its missing parents; returns the ones created,
    deepest first."""
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


def _remove_empty_dirs(directories):
    """Removes those of `directories` (deepest first) that are empty."""
    for directory in directories:
        try:
            os.rmdir(directory)
        except OSError:
            pass


def _owner():
    """`<host>-<process id>-<random>`: a fresh name, from which
    `_remove_stale` can tell whether its process is alive."""
    return f"{_host()}-{os.getpid()}-{secrets.token_hex(4)}"


def _remove_stale(directory):
    """Removes the temporary folders (and files, of older versions) in
    `directory` that processes of this host made and did not remove because
    they died. Those of live processes, of other hosts (on a shared file
    system) or of another form are left alone."""
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        match = _TEMP_NAME.fullmatch(name)
        if match is None:
            continue
        host, pid = match.groups()
        if host != _host() or _is_alive(int(pid)):
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
    except (OSError, OverflowError):  # E.g. another user's process.
        return True
    return True
