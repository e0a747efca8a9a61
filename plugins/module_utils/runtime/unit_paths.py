# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Paths that reach a guest's unit: clean absolute paths, safe in systemd's space-separated lists, and
vhost-user socket directories of their own below /run (never another program's runtime directory).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

SUN_PATH_MAX = 107  # bytes of sockaddr_un.sun_path usable for a path (108 with the NUL)
PRIVATE_TMP_DIRS = ("/tmp", "/var/tmp")
# characters a path may not contain where it reaches a unit setting that systemd reads as a
# space-separated list with specifier expansion (ReadWritePaths=, RuntimeDirectory=): whitespace
# splits it, quotes and backslashes are unquoted, '%' expands specifiers; '$' and control
# characters are refused with them (no unit setting of ours needs them)
UNIT_LIST_UNSAFE = re.compile(r"[\s\x00-\x1f\x7f\"'\\%$]")
# vhost-user socket directories: the unit creates them root:<group> 0770 at every start, so they
# must be runtime directories of their own, below one of these bases
SOCKET_BASES = ("/run", "/var/run")
# runtime directories of other software (and of the collection's other parts) under /run: never a
# socket directory of a guest
RESERVED_RUN_DIRS = ("systemd", "user", "lock", "dbus", "udev", "mount", "log", "credentials", "sshd",
                     "initramfs", "shm", "netns", "openvswitch", "libvirt", "nfv-dpdk")


def path_problem(field, path, unit_list=False):
    """Why `path` cannot be the value of option `field`, or None.

    Every path must be absolute and normalized (no '.', '..' or empty components, no trailing '/'
    except for '/' itself): systemd refuses or rewrites such paths and checks below compare
    paths as strings. With `unit_list` the path reaches a unit setting systemd splits on
    whitespace and expands specifiers in, so UNIT_LIST_UNSAFE characters are refused too.
    """
    if not isinstance(path, str) or not path.startswith("/"):
        return "%s must be an absolute path, got %r" % (field, path)
    if unit_list and UNIT_LIST_UNSAFE.search(path):
        return ("%s %r contains whitespace, a control character, a quote, a backslash, '%%' or '$': the path "
                "goes into the unit's space-separated %s, where systemd would split or expand it"
                % (field, path, "RuntimeDirectory=" if field == "run_dir" else "ReadWritePaths="))
    if path != "/" and (path.endswith("/") or "//" in path or any(c in (".", "..") for c in path.split("/"))):
        return "%s %r is not a normalized path: remove '.', '..', '//' and a trailing '/'" % (field, path)
    return None


def socket_dir_problem(field, sock):
    """Why the directory of vhost-user socket `sock` (a clean absolute path) cannot be used, or None.

    The unit creates the directory (root:<group> 0770) at start when it is missing, at every boot
    for a directory under /run: it must be a runtime directory of its own below /run (or
    /var/run), never a system directory or another program's.
    """
    parent = os.path.dirname(sock)
    if any(parent == d or parent.startswith(d + "/") for d in PRIVATE_TMP_DIRS):
        return ("%s %s is under a private /tmp of the service (PrivateTmp); Open vSwitch could not reach it: "
                "use a directory like /run/vhost" % (field, sock))
    if parent in SOCKET_BASES:
        return ("%s %s must be in a directory of its own (like /run/vhost/), not directly in %s"
                % (field, sock, parent))
    where = run_base(parent)
    if where and where[1] in RESERVED_RUN_DIRS:
        return ("%s %s is in %s/%s, the runtime directory of other software: the unit would create "
                "%s (root:<group> 0770) inside it after a reboot; use a directory of its own "
                "like /run/vhost" % (field, sock, where[0], where[1], parent))
    if where:
        return None
    return ("%s %s is not below /run: the unit creates the socket directory %s (root:<group> 0770) when it "
            "is missing, so it must be a runtime directory of its own like /run/vhost" % (field, sock, parent))


def run_base(directory):
    """(base, top) of a directory strictly below one of SOCKET_BASES, else None: /run/vhost/a is ('/run', 'vhost')."""
    for base in SOCKET_BASES:
        if directory.startswith(base + "/"):
            return base, directory[len(base) + 1:].split("/")[0]
    return None


def run_dir_problem(field, directory):
    """Why `directory` cannot be a runtime directory of the collection's own (a socket or run directory), or None.

    The same rules as a guest's socket directory: a clean absolute path without characters that systemd's
    lists and tmpfiles.d lines split or expand, strictly below /run (or /var/run), and not inside the runtime
    directory of other software (RESERVED_RUN_DIRS). `field` names the option or role variable.
    """
    why = path_problem(field, directory)
    if why:
        return why
    if UNIT_LIST_UNSAFE.search(directory):
        return ("%s %r contains whitespace, a control character, a quote, a backslash, '%%' or '$': systemd splits "
                "or expands such a path in a unit's path lists and in a tmpfiles.d line" % (field, directory))
    where = run_base(directory)
    if where is None:
        return ("%s %s is not a directory of its own below /run: the collection creates it root-owned and removes "
                "it at decommission, so it must be a runtime directory like /run/vhost, never a system or "
                "shared directory" % (field, directory))
    if where[1] in RESERVED_RUN_DIRS:
        return ("%s %s is inside %s/%s, the runtime directory of other software: use a directory of its own "
                "like /run/vhost" % (field, directory, where[0], where[1]))
    return None
