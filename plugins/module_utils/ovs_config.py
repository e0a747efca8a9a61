# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Open_vSwitch table other_config for DPDK: options -> keys, plan, one ovs-vsctl transaction."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible_collections.nfv.dpdk.plugins.module_utils.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.ovsdb import (
    OvsDb,
    daemon_pid,
    list_tables,
    rundir_of,
    vsctl_error,
)
from ansible_collections.nfv.dpdk.plugins.module_utils.plan import Plan, PlannedModule
from ansible_collections.nfv.dpdk.plugins.module_utils.runner import CommandError

# Keys ovs-vswitchd reads only at start (once DPDK is initialized), per ovs-vswitchd.conf.db(5).
START_ONLY_KEYS = frozenset([
    "dpdk-init", "dpdk-lcore-mask", "dpdk-alloc-mem", "dpdk-socket-mem", "dpdk-socket-limit",
    "dpdk-hugepage-dir", "dpdk-extra", "vhost-sock-dir", "vhost-iommu-support",
    "vhost-postcopy-support", "per-port-memory", "hw-offload", "n-offload-threads",
    "userspace-tso-enable", "offload-rebalance",
])

# option name -> (other_config key, converter)
MASK_RE = re.compile(r"(0x)?[0-9a-fA-F]+")  # fullmatch: "$" also matches before a final newline

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


def dpdk_init_value(value):
    if value is None:
        return None
    if isinstance(value, bool):
        return ovs_bool(value)
    text = str(value).strip().lower()
    if text in ("true", "yes", "on", "1"):
        return "true"
    if text in ("false", "no", "off", "0"):
        return "false"
    if text == "try":
        return "try"
    raise NfvError("dpdk_init must be true, false or try, got %r" % (value,))


def check_mask(name, value):
    if value is None:
        return None
    text = str(value).strip(" \t")
    if not MASK_RE.fullmatch(text) or int(text, 16) == 0:
        raise NfvError("%s must be a non-zero hexadecimal CPU mask such as 0x6, got %r" % (name, value))
    return text if text.lower().startswith("0x") else "0x" + text


def per_node_list(name, values):
    if values is None:
        return None
    if not values:
        raise NfvError("%s needs one value (MB) per NUMA node, e.g. [1024, 0]" % name)
    for value in values:
        if value < 0:
            raise NfvError("%s values are MB per NUMA node and cannot be negative: %r" % (name, values))
    return ",".join(str(v) for v in values)


def extra_value(args):
    """EAL arguments as OVS's dpdk-extra string. OVS splits it on whitespace, so none may contain any."""
    if args is None:
        return None
    for arg in args:
        if not arg or re.search(r"\s", arg):
            raise NfvError("extra_args entries cannot be empty or contain whitespace (OVS splits dpdk-extra "
                           "on whitespace): %r; give '--opt=value' or '--opt', 'value' as separate entries" % arg)
    return " ".join(args)


def wanted_keys(params):
    """Module options -> {other_config key: string value or None (remove)}; only managed keys appear."""
    wanted = {}
    for key, value in sorted((params.get("other_config") or {}).items()):
        wanted[str(key)] = None if value is None else to_ovs_string(value)
    typed = {
        "dpdk-init": dpdk_init_value(params.get("dpdk_init")),
        "dpdk-socket-mem": per_node_list("socket_mem", params.get("socket_mem")),
        "dpdk-socket-limit": per_node_list("socket_limit", params.get("socket_limit")),
        "dpdk-lcore-mask": check_mask("lcore_mask", params.get("lcore_mask")),
        "pmd-cpu-mask": check_mask("pmd_cpu_mask", params.get("pmd_cpu_mask")),
        "dpdk-extra": extra_value(params.get("extra_args")),
        "dpdk-hugepage-dir": params.get("hugepage_dir"),
        "vhost-sock-dir": params.get("vhost_sock_dir"),
    }
    for option, key in (("per_port_memory", "per-port-memory"), ("vhost_iommu_support", "vhost-iommu-support"),
                        ("vhost_postcopy_support", "vhost-postcopy-support")):
        if params.get(option) is not None:
            typed[key] = ovs_bool(params[option])
    for key, value in typed.items():
        if value is None:
            continue
        if key in wanted and wanted[key] != value:
            raise NfvError("other_config.%s conflicts with the dedicated option that sets it (%r vs %r)"
                           % (key, wanted[key], value))
        wanted[key] = value
    return wanted


def plan_config(current, wanted):
    """Plan over other_config keys. current: dict of the row's other_config."""
    plan = Plan()
    for key in sorted(wanted):
        value = wanted[key]
        before = current.get(key)
        if value is None:
            if before is not None:
                plan.add(key, before, None, action="remove")
        elif before != value:
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


class OvsConfig(PlannedModule):
    diff_header = "Open_vSwitch other_config"

    def __init__(self, module, **kwargs):
        super(OvsConfig, self).__init__(module, **kwargs)
        self.db = self.params.get("db")
        self.ovsdb = OvsDb(self.runner, db=self.db, timeout=max(1, self.params.get("timeout") or 30))
        self.wanted = None

    def validate(self):
        self.wanted = wanted_keys(self.params)

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
            "other_config": dict(row.get("other_config") or {}),
            "dpdk_initialized": row.get("dpdk_initialized") is True,
            "dpdk_version": row.get("dpdk_version") or None,
        }

    def plan(self, current):
        return plan_config(current["other_config"], self.wanted)

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
        }
