# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Try to reach what belongs to a guest, and print what happened as JSON (one object, on stdout).

usage: isolation_probe.py TARGETS_JSON
  TARGETS_JSON maps a label to [kind, path]; kind is one of
    connect  - connect a unix stream socket (a QMP or vhost-user socket)
    read     - open a file for reading and read a byte (a disk image, a serial log, /proc/PID/mem)
    list     - list a directory (a hugepage directory, /proc/PID/fd)
    create   - create a file or directory inside a directory (mkdir PATH)
  The answer maps each label to "ok" or the errno name (EACCES, EPERM, EROFS, ENOENT, ...).

molecule/default/isolation.yml runs it inside one guest's sandbox (nsenter into its QEMU's mount, network,
IPC and UTS namespaces, then setpriv to its uid, gid and groups) against another guest's resources.
"""

from __future__ import absolute_import, division, print_function

import errno
import json
import os
import socket
import sys


def attempt(kind, path):
    if kind == "connect":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(5)
            sock.connect(path)
        finally:
            sock.close()
    elif kind == "read":
        fd = os.open(path, os.O_RDONLY)
        try:
            os.read(fd, 1)
        finally:
            os.close(fd)
    elif kind == "list":
        os.listdir(path)
    elif kind == "create":
        os.mkdir(path)
        os.rmdir(path)
    else:
        raise ValueError("unknown kind %r" % kind)


def main(argv):
    targets = json.loads(argv[1])
    result = {"uid": os.getuid(), "gid": os.getgid(), "groups": sorted(os.getgroups())}
    for label, (kind, path) in sorted(targets.items()):
        try:
            attempt(kind, path)
            result[label] = "ok"
        except OSError as exc:
            result[label] = errno.errorcode.get(exc.errno, str(exc.errno))
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
