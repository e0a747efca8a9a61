# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""qcow2 images a guest may open: the backing chain stays in the image's own directory.

QEMU opens a qcow2 image's backing file (and an external data file) by the name written in the image's
header, so an image prepared by anyone could make a guest read another guest's disk or any file the
service user can read. `chain_problems(field, path)` reads the headers (qcow2 spec, docs/interop/qcow2.txt
in QEMU's tree) and refuses a backing file outside the directory of the disk named in the description, a
protocol or json: name, an external data file, and a chain deeper than MAX_DEPTH.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import struct

MAGIC = b"QFI\xfb"
MAX_DEPTH = 16
INCOMPAT_DATA_FILE = 1 << 2  # incompatible feature bit 2: guest data lives in an external data file
MAX_NAME = 1023  # QEMU refuses longer backing file names


def read_backing(path):
    """(backing file name or None, has an external data file) of a qcow2 image; None when it is not qcow2."""
    with open(path, "rb") as handle:
        header = handle.read(104)
        if len(header) < 72 or header[:4] != MAGIC:
            return None
        version, offset, size = struct.unpack(">IQI", header[4:20])
        incompatible = struct.unpack(">Q", header[72:80])[0] if version >= 3 and len(header) >= 80 else 0
        name = None
        if offset and size:
            if size > MAX_NAME:
                return ("", False)
            handle.seek(offset)
            name = handle.read(size).decode("utf-8", "replace")
    return name, bool(incompatible & INCOMPAT_DATA_FILE)


def chain_problems(field, path):
    """Why the backing chain of disk `path` (option `field`) leaves the image's directory: a list of problems."""
    top = os.path.dirname(os.path.realpath(path))
    current, seen = path, set()
    for _depth in range(MAX_DEPTH):
        try:
            found = read_backing(current)
        except OSError as exc:
            return ["%s: cannot read %s: %s" % (field, current, exc.strerror)]
        if found is None:
            return []
        name, data_file = found
        if data_file:
            return ["%s: %s keeps its data in an external data file, which the guest would open outside the "
                    "image; convert it (qemu-img convert -O qcow2)" % (field, current)]
        if name is None:
            return []
        if not name or name.startswith("json:") or "://" in name or (":" in name and not name.startswith("/")):
            return ["%s: %s names the backing file %r, which is not a plain file name" % (field, current, name)]
        backing = os.path.realpath(os.path.join(os.path.dirname(current), name))
        if os.path.dirname(backing) != top and not backing.startswith(top + "/"):
            return ["%s: %s is backed by %s, outside %s: a guest may only open images in its disk's own directory "
                    "(qemu-img rebase, or copy the backing image there)" % (field, current, backing, top)]
        if backing in seen:
            return ["%s: the backing chain of %s loops at %s" % (field, path, backing)]
        seen.add(backing)
        current = backing
    return ["%s: the backing chain of %s is deeper than %d images" % (field, path, MAX_DEPTH)]


def disk_problems(disks):
    """chain_problems of every existing qcow2 disk of a guest spec (QEMU reads no header of a raw disk)."""
    return [why for index, disk in enumerate(disks) if disk["format"] == "qcow2" and os.path.exists(disk["path"])
            for why in chain_problems("disks[%d].path" % index, disk["path"])]
