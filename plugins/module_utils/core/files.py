# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Configuration files: read one, or write one atomically; the end of a log."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import tempfile

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError


def inside(path, directory):
    """True when `path` is `directory` or below it (plain strings: resolve links first where they matter)."""
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def read_text(path):
    """Content of a file, or None when it is missing or unreadable; bytes that are not UTF-8 read as U+FFFD
    (a unit or configuration file edited by hand never crashes its reader)."""
    try:
        with open(path, "r", encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def tail_lines(path, lines=20):
    """The last `lines` lines of a text file, [] when it cannot be read."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 16384))
            data = handle.read()
    except (IOError, OSError):
        return []
    return data.decode("utf-8", "replace").splitlines()[-lines:]


def write_atomic(path, text, module=None, mode=0o644):
    """Write `text` to `path` through a temp file in the same directory, then module.atomic_move
    (os.replace without a module), so readers see the old or the new file, never half of one.

    Missing parent directories are created (0755) and the file ends with `mode`. A failure removes
    the temp file and raises NfvError naming the file.
    """
    directory = os.path.dirname(path)
    tmp = None
    try:
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o755)
        fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=directory)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.chmod(tmp, mode)
        if module is not None:
            module.atomic_move(tmp, path)
            os.chmod(path, mode)  # atomic_move gives new files the default mode
        else:
            os.replace(tmp, path)
    except (IOError, OSError) as exc:
        raise NfvError("writing %s failed: %s" % (path, exc), path=path) from exc
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
