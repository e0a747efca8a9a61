# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What qemu_vm's state=absent removes beside the unit, read from the host: the tap devices the unit created,
the stop helper when no other guest unit uses it, and the disks the guest's own account owns (given back to
root).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.nfv.dpdk.plugins.module_utils.core import accounts
from ansible_collections.nfv.dpdk.plugins.module_utils.core.files import read_text
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu import account as qemu_account
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.spec import UNIT_PREFIX
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.unit_reader import (
    unit_helper_path,
    unit_resources,
    unit_taps,
)


def read_leftovers(fs, spec, text, account, warn):
    """{helper_path, helper_text, taps, disk_owners} of the guest whose unit text is `text` (None: removed already).

    The stop helper its ExecStop= names is removed only when no other guest unit in unit_dir uses it. Without
    the unit nothing else is touched: a helper elsewhere may serve guests of another unit_dir.
    """
    helper = unit_helper_path(text)
    users = []
    if helper and os.path.isdir(spec["unit_dir"]):
        for entry in sorted(os.listdir(spec["unit_dir"])):
            mine = entry.startswith(UNIT_PREFIX) and entry.endswith(".service") and entry != spec["unit"]
            if mine and unit_helper_path(read_text(os.path.join(spec["unit_dir"], entry))) == helper:
                users.append(entry)
    helper_text_now = read_text(helper) if helper and not users else None
    owned = []  # the guest's disks its account owns: given back to root
    if account and account["exists"] and account["ours"]:
        owned = qemu_account.owned_files(unit_resources(text)["disk"], account["uid"])
    owners = qemu_account.disk_owner_changes(owned, qemu_account.ROOT_OWNER)
    return {"helper_path": helper, "helper_text": helper_text_now, "taps": unit_made_taps(fs, text, warn),
            "disk_owners": owners}


def unit_made_taps(fs, text, warn):
    """The tap devices of the unit's ExecStartPre= that exist and are owned as the unit creates them; another
    owner's stays in place, with a warning."""
    taps = []
    for tap in unit_taps(text):
        base = "/sys/class/net/%s" % tap["ifname"]
        if not fs.exists(base + "/tun_flags"):
            continue  # gone already, or not a tap device
        owner, group = fs.read_int(base + "/owner"), fs.read_int(base + "/group")
        uid, gid = accounts.uid_of(tap["user"]), accounts.gid_of(tap["group"])
        if uid is None or owner != uid or gid is None or group != gid:
            warn("tap device %s is left in place: it is owned by %s:%s, not %s:%s as the unit "
                 "creates it, so the unit did not create it"
                 % (tap["ifname"], owner, group, tap["user"], tap["group"]))
            continue
        taps.append(tap)
    return taps
