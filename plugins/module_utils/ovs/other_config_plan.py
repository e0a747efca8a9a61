# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan for the Open_vSwitch row's other_config: the wanted keys under the names the running OVS
reads, the changes against the row, those as one ovs-vsctl transaction, and the keys that need a restart."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.core.plan import Plan
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.other_config_keys import (
    MASK_KEYS,
    RENAMED_KEYS,
    START_ONLY_KEYS,
)


def version_tuple(text):
    """'3.5.0' -> (3, 5, 0); None when it cannot be read."""
    match = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", str(text or ""))
    return tuple(int(part or 0) for part in match.groups()) if match else None


def spell_for_version(wanted, current, version):
    """The wanted keys under the names the running OVS reads, and the other spelling removed.

    Returns (keys, renamed): renamed maps each given key to the name written ({} when none moved).
    Without a version (OVS did not say) the keys stay as given. A null (remove) takes both names.
    """
    keys, renamed = dict(wanted), {}
    for old, (new, _since) in sorted(RENAMED_KEYS.items()):
        # null removes the setting, under whichever name the host has it
        if any(k in wanted for k in (old, new)) and all(wanted.get(k) is None for k in (old, new)):
            keys[old] = keys[new] = None
    if version is None:
        return keys, renamed
    for old, (new, since) in sorted(RENAMED_KEYS.items()):
        given = [k for k in (old, new) if k in wanted and wanted[k] is not None]
        if not given:
            continue
        values = set(wanted[k] for k in given)
        if len(values) > 1:
            raise NfvError("other_config.%s and other_config.%s are one setting (OVS renamed it in %s): give one "
                           "of them, got %s and %s" % (old, new, ".".join(map(str, since)), wanted[old], wanted[new]))
        name, other = (new, old) if version >= since else (old, new)
        value = values.pop()
        keys.pop(other, None)
        keys[name] = value
        if other in current:
            keys[other] = None
        for key in given:
            if key != name:
                renamed[key] = name
    return keys, renamed


def same_mask(before, after):
    """Whether two mask strings select the same CPUs ('0x06' and '0x6' do)."""
    try:
        return int(before, 16) == int(after, 16)
    except (TypeError, ValueError):
        return False


def plan_config(current, wanted):
    """Plan over other_config keys. current: dict of the row's other_config.

    A mask that selects the same CPUs in another spelling ('0x06' for '0x6') is no change.
    """
    plan = Plan()
    for key in sorted(wanted):
        value = wanted[key]
        before = current.get(key)
        if value is None:
            if before is not None:
                plan.add(key, before, None, action="remove")
        elif before != value and not (key in MASK_KEYS and same_mask(before, value)):
            plan.add(key, before, value, action="set")
    return plan


def quote(text):
    """An OVSDB string atom for ovs-vsctl arguments (JSON string syntax; no shell involved)."""
    return json.dumps(text)


def transaction_args(plan):
    """ovs-vsctl arguments (after the global options) that apply the plan in one transaction."""
    args = []
    sets = ["other_config:%s=%s" % (quote(c.key), quote(c.after)) for c in plan.by_action("set")]
    if sets:
        args += ["--", "set", "Open_vSwitch", "."] + sets
    removes = [c.key for c in plan.by_action("remove")]
    if removes:
        args += ["--", "remove", "Open_vSwitch", ".", "other_config"] + removes
    return args


def restart_keys(plan, dpdk_initialized):
    if not dpdk_initialized:
        return []
    return sorted(c.key for c in plan if c.key in START_ONLY_KEYS)
