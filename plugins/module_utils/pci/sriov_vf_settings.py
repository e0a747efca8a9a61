# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The settings of an SR-IOV VF (MAC, VLAN and QoS, trust, spoofchk, link state, rates): checked, read, shown.

A `vfs` entry is checked into {'index': N, setting: value} (normalize_vfs); the PF's `ip -d -j link show` is
read into the same shape (parse_vfinfo); ip_args gives one setting's `ip link set dev PF vf N` arguments,
which the module runs and the boot program replays.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.host import netdev

LINK_STATES = ("auto", "enable", "disable")
# the settings a VF can carry, in the order they are applied and shown
SETTINGS = ("mac", "vlan", "trust", "spoofchk", "link_state", "max_tx_rate", "min_tx_rate")
ZERO_MAC = "00:00:00:00:00:00"


def as_bool(field, value):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "on", "1"):
        return True
    if text in ("false", "no", "off", "0"):
        return False
    raise NfvError("%s: %r is not a boolean (true/false)" % (field, value))


def as_int(field, value, low, high):
    if isinstance(value, bool):
        raise NfvError("%s: %r is not a number" % (field, value))
    try:
        number = int(str(value).strip())
    except ValueError:
        raise NfvError("%s: %r is not a number" % (field, value)) from None
    if not low <= number <= high:
        raise NfvError("%s: %d is out of range %d-%d" % (field, number, low, high))
    return number


def normalize_vf(index, entry):
    """One `vfs` entry -> {'index': N, setting: value} with only the settings it names, validated."""
    if not isinstance(entry, dict):
        raise NfvError("vfs[%d] must be a mapping with an index and settings, not %r" % (index, entry))
    known = set(SETTINGS) | {"index", "qos"}
    unknown = sorted(set(entry) - known)
    if unknown:
        raise NfvError("vfs[%d]: unknown setting(s) %s (known: %s)"
                       % (index, ", ".join(unknown), ", ".join(sorted(known))))
    if entry.get("index") is None:
        raise NfvError("vfs[%d]: index is required (the VF number on the PF, from 0)" % index)
    where = "vfs[%d]" % index
    vf = {"index": as_int(where + ".index", entry["index"], 0, 255)}
    where = "VF %d" % vf["index"]
    if entry.get("mac") is not None:
        mac = netdev.normalize_mac(entry["mac"])
        if mac is None:
            raise NfvError("%s: invalid MAC %r (expected six hex pairs, 52:54:00:12:34:56)" % (where, entry["mac"]))
        why = netdev.mac_problem(mac)
        if why:
            raise NfvError("%s: MAC %s %s; leave mac out to keep the VF's own" % (where, mac, why))
        vf["mac"] = mac
    if entry.get("qos") is not None and entry.get("vlan") is None:
        raise NfvError("%s: qos needs a vlan (the priority goes into the VLAN tag)" % where)
    if entry.get("vlan") is not None:
        vf["vlan"] = {"vlan": as_int(where + " vlan", entry["vlan"], 0, 4095),
                      "qos": as_int(where + " qos", entry.get("qos") or 0, 0, 7)}
        if vf["vlan"]["vlan"] == 0 and vf["vlan"]["qos"]:
            raise NfvError("%s: qos %d needs a VLAN other than 0" % (where, vf["vlan"]["qos"]))
    for name in ("trust", "spoofchk"):
        if entry.get(name) is not None:
            vf[name] = as_bool("%s %s" % (where, name), entry[name])
    if entry.get("link_state") is not None:
        state = str(entry["link_state"]).strip().lower()
        if state not in LINK_STATES:
            raise NfvError("%s: link_state %r is not one of %s" % (where, entry["link_state"], ", ".join(LINK_STATES)))
        vf["link_state"] = state
    for name in ("max_tx_rate", "min_tx_rate"):
        if entry.get(name) is not None:
            vf[name] = as_int("%s %s (Mbit/s)" % (where, name), entry[name], 0, 10000000)
    if vf.get("max_tx_rate") and vf.get("min_tx_rate", 0) > vf["max_tx_rate"]:
        raise NfvError("%s: min_tx_rate %d is above max_tx_rate %d" % (where, vf["min_tx_rate"], vf["max_tx_rate"]))
    return vf


def normalize_vfs(entries, count):
    vfs, seen = [], {}
    for position, entry in enumerate(entries or []):
        vf = normalize_vf(position, entry)
        if vf["index"] in seen:
            raise NfvError("VF %d is listed twice in vfs (entries %d and %d)"
                           % (vf["index"], seen[vf["index"]], position))
        if vf["index"] >= count:
            raise NfvError("VF index %d is out of range: count is %d, so VFs are numbered 0-%d"
                           % (vf["index"], count, count - 1) if count else
                           "VF index %d is out of range: count is 0, there are no VFs to set up" % vf["index"])
        seen[vf["index"]] = position
        vfs.append(vf)
    macs = {}
    for vf in vfs:
        if "mac" in vf:
            if vf["mac"] in macs:
                raise NfvError("VFs %d and %d are given the same MAC %s" % (macs[vf["mac"]], vf["index"], vf["mac"]))
            macs[vf["mac"]] = vf["index"]
    return sorted(vfs, key=lambda v: v["index"])


# -- reading -------------------------------------------------------------------------------------
def setting_of(info, name):
    """One setting of a VF from its `ip -d -j link show` vfinfo_list entry."""
    if name == "mac":
        return (info.get("address") or info.get("mac") or ZERO_MAC).lower()
    if name == "vlan":
        tags = [t for t in info.get("vlan_list") or [] if t]
        first = tags[0] if tags else {}
        return {"vlan": int(first.get("vlan", 0)), "qos": int(first.get("qos", 0))}
    if name in ("trust", "spoofchk"):
        return info.get(name)  # None: the driver does not report it
    if name == "link_state":
        return info.get("link_state")
    rate = info.get("rate") or {}
    if name == "max_tx_rate":
        return int(rate.get("max_tx", info.get("max_tx_rate", 0)) or 0)
    return int(rate.get("min_tx", info.get("min_tx_rate", 0)) or 0)


def parse_vfinfo(text):
    """`ip -d -j link show dev PF` -> {vf index: {setting: value}}."""
    try:
        links = json.loads(text or "[]")
    except ValueError as exc:
        raise NfvError("cannot read `ip -d -j link show` output: %s" % exc) from exc
    result = {}
    for link in links:
        for info in link.get("vfinfo_list") or []:
            result[int(info["vf"])] = dict((name, setting_of(info, name)) for name in SETTINGS)
    return result


def show(name, value):
    """A setting as the diff shows it."""
    if value is None:
        return None
    if name == "vlan":
        return "%d qos %d" % (value["vlan"], value["qos"]) if value["qos"] else str(value["vlan"])
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def ip_args(name, value):
    """`ip link set dev PF vf N ...` arguments for one setting."""
    if name == "mac":
        return ["mac", value]
    if name == "vlan":
        return ["vlan", str(value["vlan"]), "qos", str(value["qos"])]
    if name in ("trust", "spoofchk"):
        return [name, "on" if value else "off"]
    if name == "link_state":
        return ["state", value]
    return [name, str(value)]
