"""Writes files and directories so a crash never leaves a partial one."""

import contextlib
import os
import shutil
import tempfile


@contextlib.contextmanager
def atomic_path(target, overwrite=False, is_dir=False):
    """Yields a temporary sibling path of `target`, renamed onto it on success.

    The temporary path starts with a dot, in the same directory (so the
    rename is atomic on one file system, and servers that watch the
    directory ignore it). On any error it is removed and `target` is left
    as it was.

    Args:
        target: The final file or directory path.
        overwrite: Whether an existing `target` may be replaced.
        is_dir: Whether the caller writes a directory rather than a file.
    """
    target = os.path.abspath(os.fspath(target))
    if os.path.exists(target) and not overwrite:
        raise FileExistsError(
            f"{target!r} exists already. Choose another path or pass "
            f"`overwrite=True`. Received: path={target!r}"
        )
    parent = os.path.dirname(target)
    os.makedirs(parent, exist_ok=True)
    base = os.path.basename(target)
    temp_dir = tempfile.mkdtemp(prefix=f".{base}.tmp-", dir=parent)
    temp = os.path.join(temp_dir, base)
    try:
        yield temp
        if is_dir and os.path.isdir(target):
            shutil.rmtree(target)
        os.replace(temp, target)
    finally:
        shutil.rmtree(temp_dir, ignore_errors=True)
