# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ovs_config's options checked before OVS is asked: each value as ovs-vswitchd.conf.db(5) describes its
other_config key (other_config_keys), the typed options and other_config merged into the wanted keys,
and the per-node lists against the host's NUMA nodes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.core.fields import (
    CONTROL_RE,  # one definition of a control character
)
from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.cpus import BadValue, cpu_mask, mask_cpus
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.other_config_keys import (
    BOOL_KEYS,
    CHOICE_KEYS,
    DPDK_EXTRA_KEY,
    DPDK_INIT_KEY,
    HUGEPAGE_DIR_KEY,
    INT_KEYS,
    MASK_KEYS,
    OPTION_KEYS,
    PER_NODE_KEYS,
    VHOST_SOCK_DIR_KEY,
)

PER_NODE_RE = re.compile(r"\d+(,\d+)*")  # fullmatch: "1024,0"


def ovs_bool(value):
    return "true" if value else "false"


def to_ovs_string(value):
    """A user value as the string OVSDB stores: booleans as true/false, numbers as decimal."""
    if isinstance(value, bool):
        return ovs_bool(value)
    return str(value)


def bool_value(name, value):
    """true/false as OVS reads them (it takes only the exact string "true" as true)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return ovs_bool(value)
    text = str(value).strip(" \t").lower()
    if text in ("true", "yes", "on", "1"):
        return "true"
    if text in ("false", "no", "off", "0"):
        return "false"
    raise NfvError("%s must be true or false, got %r" % (name, value))


def dpdk_init_value(value, name="dpdk_init"):
    if value is None:
        return None
    if str(value).strip(" \t").lower() == "try":
        return "try"
    try:
        return bool_value(name, value)
    except NfvError:
        raise NfvError("%s must be true, false or try, got %r" % (name, value)) from None


def check_mask(name, value):
    """A CPU mask, normalized: '0x06', '06' and '0X6' are all '0x6'."""
    if value is None:
        return None
    try:
        return cpu_mask(mask_cpus(value))
    except BadValue:
        raise NfvError("%s must be a non-zero hexadecimal CPU mask such as 0x6, got %r" % (name, value)) from None


def per_node_list(name, values):
    """MB per NUMA node: a list of integers (or, through other_config, '1024,0') -> '1024,0'."""
    if values is None:
        return None
    if isinstance(values, str):
        text = values.strip(" \t")
        if not PER_NODE_RE.fullmatch(text):
            raise NfvError("%s must be MB per NUMA node separated by commas, like 1024,0, got %r" % (name, values))
        values = [int(v) for v in text.split(",")]
    elif isinstance(values, int) and not isinstance(values, bool):
        values = [values]
    if not isinstance(values, (list, tuple)) or not values:
        raise NfvError("%s needs one value (MB) per NUMA node, e.g. [1024, 0]" % name)
    numbers = []
    for value in values:
        text = str(value).strip(" \t")
        if isinstance(value, bool) or not re.fullmatch(r"-?\d+", text):
            raise NfvError("%s values are MB per NUMA node (integers), got %r" % (name, values))
        if int(text) < 0:
            raise NfvError("%s values are MB per NUMA node and cannot be negative: %r" % (name, values))
        numbers.append(int(text))
    return ",".join(str(n) for n in numbers)


def int_value(name, value, low, high):
    text = str(value).strip(" \t")
    if isinstance(value, bool) or not re.fullmatch(r"\d+", text) or int(text) < low \
            or (high is not None and int(text) > high):
        raise NfvError("%s must be an integer %s, got %r"
                       % (name, "from %d to %d" % (low, high) if high is not None else "of at least %d" % low, value))
    return str(int(text))


def hugepage_dir_value(name, value):
    if value is None:
        return None
    text = str(value)
    if not text.startswith("/") or CONTROL_RE.search(text) or any(c == ".." for c in text.split("/")):
        raise NfvError("%s must be the absolute path of a hugetlbfs mount, got %r" % (name, value))
    return text


def vhost_sock_dir_value(name, value):
    """vhost-sock-dir is relative to OVS's run directory; ovs-vswitchd ignores a value with '..'."""
    if value is None:
        return None
    text = str(value)
    if not text or text.startswith("/") or CONTROL_RE.search(text) or any(c == ".." for c in text.split("/")):
        raise NfvError("%s must be a directory relative to Open vSwitch's run directory (like vhost), without "
                       "'..': ovs-vswitchd joins it to its run directory, so an absolute path is not used as "
                       "given; got %r" % (name, value))
    return text


def extra_value(args, name="extra_args"):
    """EAL arguments as OVS's dpdk-extra string. OVS splits it on whitespace, so none may contain any."""
    if args is None:
        return None
    if isinstance(args, str):  # other_config.dpdk-extra: the string OVS splits
        if CONTROL_RE.search(args.replace("\t", " ")):
            raise NfvError("%s cannot contain control characters: %r" % (name, args))
        return " ".join(args.split())
    for arg in args:
        if not arg or re.search(r"\s", arg):
            raise NfvError("extra_args entries cannot be empty or contain whitespace (OVS splits %s on "
                           "whitespace): %r; give '--opt=value' or '--opt', 'value' as separate entries"
                           % (DPDK_EXTRA_KEY, arg))
    return " ".join(args)


def key_value(key, value, name=None):
    """The string OVSDB gets for other_config `key`, checked as ovs-vswitchd.conf.db(5) describes the key.

    `name` is the field the value came from (a dedicated option, or other_config.KEY).
    """
    name = name or "other_config.%s" % key
    if key == DPDK_INIT_KEY:
        return dpdk_init_value(value, name)
    if key in MASK_KEYS:
        return check_mask(name, value)
    if key in PER_NODE_KEYS:
        return per_node_list(name, value)
    if key in BOOL_KEYS:
        return bool_value(name, value)
    if key in INT_KEYS:
        return int_value(name, value, *INT_KEYS[key])
    if key in CHOICE_KEYS:
        if str(value) not in CHOICE_KEYS[key]:
            raise NfvError("%s must be one of %s, got %r" % (name, ", ".join(CHOICE_KEYS[key]), value))
        return str(value)
    if key == DPDK_EXTRA_KEY:
        return extra_value(value if isinstance(value, (list, str)) else str(value), name)
    if key == HUGEPAGE_DIR_KEY:
        return hugepage_dir_value(name, value)
    if key == VHOST_SOCK_DIR_KEY:
        return vhost_sock_dir_value(name, value)
    return to_ovs_string(value)


def wanted_keys(params):
    """Module options -> {other_config key: string value or None (remove)}; only managed keys appear."""
    wanted = {}
    for given, value in sorted((params.get("other_config") or {}).items()):
        key = str(given)
        if not key or CONTROL_RE.search(key):
            raise NfvError("other_config key %r is empty or contains a control character" % (key,))
        wanted[key] = None if value is None else key_value(key, value)
    typed = {}
    for option, key in OPTION_KEYS:
        if params.get(option) is not None:
            typed[key] = key_value(key, params[option], option)
    for key, value in typed.items():
        if value is None:
            continue
        if key in wanted and wanted[key] != value:
            raise NfvError("other_config.%s conflicts with the dedicated option that sets it (%r vs %r)"
                           % (key, wanted[key], value))
        wanted[key] = value
    return wanted


def node_problem(wanted, params, nodes):
    """More per-node values (socket-mem, socket-limit) than the host has NUMA nodes: the message, or None.

    `nodes` are the host's node ids ([] without NUMA sysfs: one node, 0); DPDK reads the list by node id.
    """
    nodes = nodes or [0]
    for option, key in OPTION_KEYS:
        value = wanted.get(key)
        if key not in PER_NODE_KEYS or value is None:
            continue
        count = len(value.split(","))
        if count > max(nodes) + 1:
            name = option if params.get(option) is not None else "other_config.%s" % key
            return ("%s has %d values (%s), but this host has NUMA node(s) %s: give at most %d, one per node in "
                    "node order" % (name, count, value, ", ".join(str(n) for n in nodes), max(nodes) + 1))
    return None
