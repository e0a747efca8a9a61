# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A guest's own account and the ownership of its disk images (nfv.dpdk.qemu_vm owns both).

Each guest runs as a user and group of its own (qemu_spec.guest_account), so that code
running as one guest's QEMU cannot open what belongs to another: its QMP and vhost-user sockets, its
hugepage directory, its disk images and its serial log are the account's alone (mode 0600/0700/0750
with the account's group). qemu_vm creates the account before the unit's first start and removes it
with the guest; an account of that name that qemu_vm did not create (its comment says whose it is) is
refused, never taken over. The guest's disk images are given to the account (mode 0600) when the guest
is defined and back to root (root:root 0600) when it is removed, so that a later account reusing the uid
does not inherit them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import pwd
import stat

from ansible_collections.nfv.dpdk.plugins.module_utils.core.accounts import gid_of, owner_mode, uid_of
from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.spec import ACCOUNT_PREFIX

COMMENT = "nfv.dpdk guest %s"  # the GECOS field of the accounts qemu_vm creates: whose account it is
DISK_MODE = 0o600
ROOT_OWNER = "root:root"


def read_account(account, guest):
    """What the host has of `account`: {'exists', 'ours', 'uid', 'gid', 'group_exists', 'comment'}."""
    info = {"name": account, "exists": False, "ours": False, "uid": None, "gid": None, "comment": None}
    try:
        entry = pwd.getpwnam(account)
    except KeyError:
        entry = None
    info["group_exists"] = gid_of(account) is not None
    if entry is not None:
        info.update({"exists": True, "uid": entry.pw_uid, "gid": entry.pw_gid, "comment": entry.pw_gecos,
                     "ours": entry.pw_gecos == COMMENT % guest})
    return info


def account_problem(account, guest):
    """Why qemu_vm cannot create or use guest `guest`'s account (read_account's `account`), or None."""
    name = account["name"]
    if account["exists"] and not account["ours"]:
        return ("user %s exists but is not guest %s's account (its comment is %r, not %r): qemu_vm creates "
                "%s<name> for each guest and removes it with the guest, and never takes over an account it did "
                "not create; remove or rename that user, or give the guest a user of your choice (user)"
                % (name, guest, account["comment"], COMMENT % guest, ACCOUNT_PREFIX))
    if account["exists"] and (account["uid"] == 0 or account["gid"] == 0):
        return "user %s has uid or gid 0: the guest runs under a non-root account" % name
    if not account["exists"] and account["group_exists"]:
        return ("group %s exists without its user: qemu_vm creates the user and its group together; remove the "
                "group (groupdel %s) if nothing else uses it" % (name, name))
    return None


def credential_problems(spec, account, check_mode, warn):
    """(problems, gid of the guest's group or None) for the unit's User=, Group= and SupplementaryGroups=.

    With its own account: the account must be qemu_vm's (or missing: the run creates it) and the shared
    service group must exist. With a user of the description's choice: that user and group must exist.
    Neither may be root. A missing user or group only warns in check mode (the run creates it first).
    """
    problems, gid = [], None
    wanted = [("group", spec["service_group"], gid_of)]
    if spec["own_account"]:
        problems.append(account_problem(account, spec["name"]))
        problems += disk_problems(spec["disks"])
        gid = account["gid"] if account["ours"] else None
    else:
        wanted.insert(0, ("user", spec["user"], uid_of))
    for kind, name, ident_of in wanted:
        ident = ident_of(name)
        if ident is None:
            msg = "service %s %s does not exist (the role nfv.dpdk.qemu_vms creates it)" % (kind, name)
            if check_mode:
                warn(msg)  # a run that creates it first cannot show it in check mode
            else:
                problems.append(msg)
            continue
        if kind == "group" and not spec["own_account"]:
            gid = ident
        if ident == 0:
            problems.append("%s %s has %s 0: the guest runs under a non-root service %s"
                            % (kind, name, "uid" if kind == "user" else "gid", kind))
    return problems, gid


def create(runner, account, guest):
    runner.run("useradd", create_args(account, guest))


def remove(runner, account):
    """userdel; its group goes with it on Debian (USERGROUPS_ENAB), else groupdel."""
    runner.run("userdel", [account])
    if gid_of(account) is not None:
        runner.run("groupdel", [account])


def create_args(account, guest):
    """useradd's arguments for the guest's account: a system user with a group of its own, no home, no shell."""
    return ["--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
            "--shell", "/usr/sbin/nologin", "--comment", COMMENT % guest, account]


def owner_text(path):
    """'user:group 0mode' of an existing regular file (names where the host has them), else None."""
    try:
        info = os.lstat(path)
    except OSError:
        return None
    return owner_mode(info)


def disk_problems(disks):
    """A disk given to the guest's account must be a regular file at its own path (not a link to another)."""
    problems = []
    for index, disk in enumerate(disks):
        try:
            info = os.lstat(disk["path"])
        except OSError:
            continue  # missing: reported by the caller
        if stat.S_ISLNK(info.st_mode):
            problems.append("disks[%d].path %s is a symbolic link: give the image's own path (the guest's account "
                            "is made its owner)" % (index, disk["path"]))
        elif not stat.S_ISREG(info.st_mode):
            problems.append("disks[%d].path %s is not a regular file" % (index, disk["path"]))
    return problems


def disk_owner_changes(paths, owner):
    """[(path, current 'user:group mode', wanted)] of the existing files among `paths` not owned as `owner`."""
    wanted = "%s %04o" % (owner, DISK_MODE)
    changes = []
    for path in paths:
        current = owner_text(path)
        if current is not None and current != wanted:
            changes.append((path, current, wanted))
    return changes


def owned_files(paths, uid):
    """The regular files among `paths` owned by `uid` (the account's disks, before it is removed)."""
    owned = []
    for path in paths:
        try:
            info = os.lstat(path)
        except OSError:
            continue
        if stat.S_ISREG(info.st_mode) and info.st_uid == uid:
            owned.append(path)
    return owned


def give(path, owner):
    """chown (never through a link) and chmod DISK_MODE; owner is 'user:group'."""
    user, group = owner.split(":")
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    try:
        uid, gid = uid_of(user), gid_of(group)
        if uid is None or gid is None:
            raise NfvError("cannot give %s to %s: the host has no such %s"
                           % (path, owner, "user" if uid is None else "group"))
        os.fchown(fd, uid, gid)
        os.fchmod(fd, DISK_MODE)
    finally:
        os.close(fd)
