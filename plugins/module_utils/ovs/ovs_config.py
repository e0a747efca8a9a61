# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Open_vSwitch table other_config for DPDK: options -> keys, plan, one ovs-vsctl transaction."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.core.fields import (
    CONTROL_RE,  # one definition of a control character
)
from ansible_collections.nfv.dpdk.plugins.module_utils.core.plan import Plan, PlannedModule
from ansible_collections.nfv.dpdk.plugins.module_utils.core.runner import CommandError
from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.cpus import BadValue, cpu_mask, mask_cpus
from ansible_collections.nfv.dpdk.plugins.module_utils.host.numa import node_ids
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.ovsdb import (
    LCORE_MASK_KEY,
    PMD_CPU_MASK_KEY,
    OvsDb,
    daemon_pid,
    list_tables,
    rundir_of,
    vsctl_error,
)

# Keys ovs-vswitchd reads only at start (once DPDK is initialized), per ovs-vswitchd.conf.db(5).
START_ONLY_KEYS = frozenset([
    "dpdk-init", LCORE_MASK_KEY, "dpdk-alloc-mem", "dpdk-socket-mem", "dpdk-socket-limit",
    "dpdk-hugepage-dir", "dpdk-extra", "vhost-sock-dir", "vhost-iommu-support",
    "vhost-postcopy-support", "per-port-memory", "hw-offload", "n-offload-threads",
    "userspace-tso-enable", "offload-rebalance",
])

PER_NODE_RE = re.compile(r"\d+(,\d+)*")  # fullmatch: "1024,0"

# Known other_config keys and what ovs-vswitchd.conf.db(5) allows in them. A known key is checked
# the same way whether a dedicated option or O(other_config) sets it.
MASK_KEYS = (LCORE_MASK_KEY, PMD_CPU_MASK_KEY)
PER_NODE_KEYS = ("dpdk-socket-mem", "dpdk-socket-limit")
BOOL_KEYS = frozenset([
    "per-port-memory", "vhost-iommu-support", "vhost-postcopy-support", "hw-offload", "userspace-tso-enable",
    "offload-rebalance", "pmd-auto-lb", "smc-enable", "pmd-perf-metrics", "pmd-rxq-isolate",
    "flow-restore-wait", "enable-statistics",
])
INT_KEYS = {  # key: (minimum, maximum or None)
    "dpdk-alloc-mem": (0, None), "n-offload-threads": (1, 10), "flow-limit": (0, None),
    "max-revalidator": (100, None), "min-revalidate-pps": (1, None), "n-handler-threads": (1, None),
    "n-revalidator-threads": (1, None), "emc-insert-inv-prob": (0, 4294967295), "vlan-limit": (0, None),
    "tx-flush-interval": (0, 1000000), "pmd-auto-lb-rebal-interval": (0, 20000),
    "pmd-auto-lb-load-threshold": (0, 100), "pmd-auto-lb-improvement-threshold": (0, 100),
    "pmd-maxsleep": (0, 10000), "pmd-sleep-max": (0, 10000),
}
# Keys OVS renamed: old name -> (new name, first OVS version that reads the new name). The two names are
# one setting: the module writes the one the running OVS reads (ovs-vsctl --version) and removes the other,
# so one description serves Debian 12 (OVS 3.1) and Debian 13 (OVS 3.5).
RENAMED_KEYS = {"pmd-maxsleep": ("pmd-sleep-max", (3, 2))}
CHOICE_KEYS = {"pmd-rxq-assign": ("cycles", "group", "roundrobin")}
# option name -> other_config key, for the options that set exactly one key
OPTION_KEYS = (("dpdk_init", "dpdk-init"), ("socket_mem", "dpdk-socket-mem"), ("socket_limit", "dpdk-socket-limit"),
               ("lcore_mask", LCORE_MASK_KEY), ("pmd_cpu_mask", PMD_CPU_MASK_KEY), ("extra_args", "dpdk-extra"),
               ("hugepage_dir", "dpdk-hugepage-dir"), ("vhost_sock_dir", "vhost-sock-dir"),
               ("per_port_memory", "per-port-memory"), ("vhost_iommu_support", "vhost-iommu-support"),
               ("vhost_postcopy_support", "vhost-postcopy-support"))

ARGUMENT_SPEC = dict(
    db=dict(type="str"),
    dpdk_init=dict(type="raw"),
    socket_mem=dict(type="list", elements="int"),
    socket_limit=dict(type="list", elements="int"),
    lcore_mask=dict(type="str"),
    pmd_cpu_mask=dict(type="str"),
    per_port_memory=dict(type="bool"),
    extra_args=dict(type="list", elements="str"),
    hugepage_dir=dict(type="path"),
    vhost_sock_dir=dict(type="path"),
    vhost_iommu_support=dict(type="bool"),
    vhost_postcopy_support=dict(type="bool"),
    other_config=dict(type="dict"),
    timeout=dict(type="int", default=30),
)


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


def same_mask(before, after):
    """Whether two mask strings select the same CPUs ('0x06' and '0x6' do)."""
    try:
        return int(before, 16) == int(after, 16)
    except (TypeError, ValueError):
        return False


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
            raise NfvError("extra_args entries cannot be empty or contain whitespace (OVS splits dpdk-extra "
                           "on whitespace): %r; give '--opt=value' or '--opt', 'value' as separate entries" % arg)
    return " ".join(args)


def key_value(key, value, name=None):
    """The string OVSDB gets for other_config `key`, checked as ovs-vswitchd.conf.db(5) describes the key.

    `name` is the field the value came from (a dedicated option, or other_config.KEY).
    """
    name = name or "other_config.%s" % key
    if key == "dpdk-init":
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
    if key == "dpdk-extra":
        return extra_value(value if isinstance(value, (list, str)) else str(value), name)
    if key == "dpdk-hugepage-dir":
        return hugepage_dir_value(name, value)
    if key == "vhost-sock-dir":
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


def node_problem(wanted, params, nodes):
    """More per-node values (socket-mem, socket-limit) than the host has NUMA nodes: the message, or None.

    `nodes` are the host's node ids ([] without NUMA sysfs: one node, 0); DPDK reads the list by node id.
    """
    nodes = nodes or [0]
    for option, key in (("socket_mem", "dpdk-socket-mem"), ("socket_limit", "dpdk-socket-limit")):
        value = wanted.get(key)
        if value is None:
            continue
        count = len(value.split(","))
        if count > max(nodes) + 1:
            name = option if params.get(option) is not None else "other_config.%s" % key
            return ("%s has %d values (%s), but this host has NUMA node(s) %s: give at most %d, one per node in "
                    "node order" % (name, count, value, ", ".join(str(n) for n in nodes), max(nodes) + 1))
    return None


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


class OvsConfig(PlannedModule):
    diff_header = "Open_vSwitch other_config"

    def __init__(self, module, **kwargs):
        super(OvsConfig, self).__init__(module, **kwargs)
        self.db = self.params.get("db")
        self.ovsdb = OvsDb(self.runner, db=self.db, timeout=max(1, self.params.get("timeout") or 30))
        self.wanted = None
        self.renamed = {}

    def validate(self):
        self.wanted = wanted_keys(self.params)
        problem = node_problem(self.wanted, self.params, node_ids(self.fs))
        if problem:
            raise NfvError(problem)

    def read(self):
        if not self.ovsdb.installed:
            raise NfvError("ovs-vsctl was not found: install Open vSwitch first")
        try:
            rows = list_tables(self.ovsdb, [("Open_vSwitch", ["other_config", "dpdk_initialized",
                                                              "dpdk_version"], None)])[0]
        except CommandError as exc:
            raise NfvError(vsctl_error(exc, self.db), db=self.db) from exc
        if not rows:
            raise NfvError("the Open_vSwitch table at %s has no row: run 'ovs-vsctl init' first"
                           % (self.db or "the default database"))
        row = rows[0]
        return {
            "ovs_version": self.ovsdb.version(),
            "other_config": dict(row.get("other_config") or {}),
            "dpdk_initialized": row.get("dpdk_initialized") is True,
            "dpdk_version": row.get("dpdk_version") or None,
        }

    def plan(self, current):
        wanted, self.renamed = spell_for_version(self.wanted, current["other_config"],
                                                 version_tuple(current["ovs_version"]))
        return plan_config(current["other_config"], wanted)

    def vswitchd_running(self):
        """True/False from the pidfile beside the database socket; None when it cannot be told."""
        rundir = rundir_of(self.db)
        if rundir is None:
            return None
        _pid, alive = daemon_pid(rundir, "ovs-vswitchd")
        return alive

    def apply(self, plan, current):
        args = self.ovsdb.base_args()
        # Wait for ovs-vswitchd to take the change only when it is known to run: otherwise
        # ovs-vsctl would block until its timeout after committing.
        if self.vswitchd_running() is not True:
            args.append("--no-wait")
        try:
            self.runner.run("ovs-vsctl", args + transaction_args(plan))
        except CommandError as exc:
            raise NfvError("Open_vSwitch other_config update failed: %s" % vsctl_error(exc, self.db),
                           cmd=exc.argv, rc=exc.rc) from exc

    def report(self, current, plan):
        after = dict(current["other_config"])
        for change in plan:
            if change.after is None:
                after.pop(change.key, None)
            else:
                after[change.key] = change.after
        if plan.changed and not self.check_mode:
            after = self.read()["other_config"]
            for change in plan:
                if after.get(change.key) != change.after:
                    raise NfvError("other_config:%s reads back as %r, expected %r"
                                   % (change.key, after.get(change.key), change.after))
        keys = restart_keys(plan, current["dpdk_initialized"])
        return {
            "other_config": after,
            "dpdk_initialized": current["dpdk_initialized"],
            "restart_required": bool(keys),
            "restart_keys": keys,
            "vswitchd_running": self.vswitchd_running(),
            "ovs_version": current["ovs_version"],
            "renamed_keys": self.renamed,
        }
