# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host's users and groups, read through the system's name service (one reader for every module)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import pwd
import stat


def uid_of(name):
    """The uid of user `name`, None when the host has no such user."""
    try:
        return pwd.getpwnam(name).pw_uid
    except (KeyError, TypeError):
        return None


def gid_of(name):
    """The gid of group `name`, None when the host has no such group."""
    try:
        return grp.getgrnam(name).gr_gid
    except (KeyError, TypeError):
        return None


def user_name(uid):
    """The name of `uid`, or the number as text when the host has no such user."""
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def group_name(gid):
    """The name of `gid`, or the number as text when the host has no such group."""
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def owner_mode(info):
    """'user:group 0mode' of an os.stat result."""
    return "%s:%s %04o" % (user_name(info.st_uid), group_name(info.st_gid), stat.S_IMODE(info.st_mode))
