# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ovs_config module: the Open_vSwitch table's other_config for DPDK.

validate (other_config_validation: options -> keys, as other_config_keys describes them) -> read the row
(ovsdb) -> plan (other_config_plan) -> one ovs-vsctl transaction -> read back; restart_required names the
changed keys ovs-vswitchd reads only at start.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.core.plan import PlannedModule
from ansible_collections.nfv.dpdk.plugins.module_utils.core.runner import CommandError
from ansible_collections.nfv.dpdk.plugins.module_utils.host.numa import node_ids
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.other_config_plan import (
    plan_config,
    restart_keys,
    spell_for_version,
    transaction_args,
    version_tuple,
)
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.other_config_validation import node_problem, wanted_keys
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.ovsdb import (
    OvsDb,
    daemon_pid,
    list_tables,
    rundir_of,
    vsctl_error,
)

ARGUMENT_SPEC = dict(
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
