# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one reader (and writer) of sysfs and procfs.

Every path is absolute as on the host ("/sys/bus/pci/devices"); HostFS maps
it under `root`, so unit tests point the same code at a fixture tree that
copies the kernel's layout. Symlinks in a fixture tree are relative, as in
the kernel's, so resolving them stays inside the tree.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError


class HostFS:
    def __init__(self, root="/"):
        self.root = os.path.abspath(root)

    def path(self, path):
        if not path.startswith("/"):
            raise ValueError("HostFS paths are absolute: %r" % path)
        if self.root == "/":
            return path
        return os.path.join(self.root, path.lstrip("/"))

    def exists(self, path):
        return os.path.exists(self.path(path))

    def isdir(self, path):
        return os.path.isdir(self.path(path))

    def read(self, path, default=None):
        """Content of a file, stripped; `default` when it is missing or unreadable."""
        try:
            with open(self.path(path), "r") as handle:
                return handle.read().strip()
        except (IOError, OSError):
            return default

    def read_int(self, path, default=None, base=10):
        text = self.read(path)
        if text is None or text == "":
            return default
        try:
            return int(text, base)
        except ValueError:
            return default

    def listdir(self, path):
        """Sorted entries of a directory; [] when it does not exist."""
        try:
            return sorted(os.listdir(self.path(path)))
        except (IOError, OSError):
            return []

    def stat(self, path):
        """os.stat of `path` (a device node's owner and mode), or None when it is missing."""
        try:
            return os.stat(self.path(path))
        except (IOError, OSError):
            return None

    def link_name(self, path):
        """Basename of a symlink's target (a driver, an iommu group), or None."""
        try:
            return os.path.basename(os.readlink(self.path(path)))
        except (IOError, OSError):
            return None

    def realpath(self, path):
        """Host-absolute real path of `path` (symlinks resolved inside root)."""
        real = os.path.realpath(self.path(path))
        if self.root == "/":
            return real
        rel = os.path.relpath(real, self.root)
        if rel.startswith(".."):
            return None
        return "/" + rel if rel != "." else "/"

    def write(self, path, value):
        """Write one value to a sysfs/procfs attribute; errors name the file and the cause."""
        try:
            with open(self.path(path), "w") as handle:
                handle.write(str(value))
        except (IOError, OSError) as exc:
            reason = os.strerror(exc.errno) if exc.errno else str(exc)
            if exc.errno == errno.ENOENT:
                reason = "no such file"
            raise NfvError("writing %r to %s failed: %s" % (str(value), path, reason),
                           path=path, value=str(value), errno=exc.errno) from exc
