# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ovs_bridge module: one OVS bridge and its ports, declaratively.

validate (bridge_validation, each port: port_validation) -> read (one ovs-vsctl call, JSON: ovsdb, indexed
by bridge_state) -> plan (data: bridge_plan) -> one ovs-vsctl transaction (argv, many `--` separated
commands: bridge_transaction) -> ovs-vsctl waits for ovs-vswitchd (cur_cfg) -> read each touched
interface's error/ofport -> ports this run created that OVS rejected are deleted again and the
task fails with OVS's own error text.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.core.plan import PlannedModule
from ansible_collections.nfv.dpdk.plugins.module_utils.core.runner import CommandError
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.bridge_plan import plan_bridge, predicted_ports
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.bridge_state import (
    BRIDGE_COLUMNS,
    INTERFACE_COLUMNS,
    PORT_COLUMNS,
    index_state,
)
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.bridge_transaction import transaction_args
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.bridge_validation import validate
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.ovsdb import (
    OvsDb,
    daemon_pid,
    list_tables,
    rundir_of,
    vsctl_error,
)
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.port_validation import PORT_SPEC
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.tunnel_mtu import (
    check_tunnel_mtu,
    uplinks_of_state,
    uplinks_of_wanted,
)
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.underlay_kernel import UnderlayKernel
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.underlay_persistence import (
    persist,
    plan_persistence,
    read_persistence,
)
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.underlay_plan import (
    kernel_view,
    plan_underlay,
    recorded,
    recorded_underlays,
    with_underlay_key,
)
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.underlay_validation import (
    UNDERLAY_SPEC,
    validate_underlay,
)

ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    state=dict(type="str", default="present", choices=["present", "absent"]),
    datapath_type=dict(type="str", choices=["system", "netdev"]),
    fail_mode=dict(type="str", choices=["secure", "standalone"]),
    other_config=dict(type="dict", default={}),
    external_ids=dict(type="dict", default={}),
    ports=dict(type="list", elements="dict", default=[], options=PORT_SPEC),
    purge_ports=dict(type="bool", default=False),
    underlay=dict(type="dict", options=UNDERLAY_SPEC),
    timeout=dict(type="int", default=60),
)


# Plan actions after which the port's interfaces are checked in ovs-vswitchd (error, ofport).
TOUCHING = ("create_port", "update_port", "replace_port", "update_bond")
# Plan actions of the underlay's boot unit (pci/boot_unit)
PERSISTENCE_ACTIONS = ("file", "remove", "enable", "disable")


def interface_infos(spec, entry):
    """name, type, ofport and error of each interface of a wanted port (a bond's members, with `bond`)."""
    if spec["bond"]:
        members = (entry or {}).get("members") or {}
        wanted = [(m["name"], m["type"], members.get(m["name"])) for m in spec["bond"]["members"]]
    else:
        wanted = [(spec["name"], spec["type"], entry if entry and entry["n_interfaces"] == 1 else None)]
    infos = []
    for name, kind, row in wanted:
        info = {"name": name, "type": ((row or {}).get("type") if row else kind) or "system",
                "ofport": (row or {}).get("ofport"), "error": (row or {}).get("error")}
        if spec["bond"]:
            info["bond"] = spec["name"]
        infos.append(info)
    return infos


class OvsBridge(PlannedModule):

    def __init__(self, module, **kwargs):
        super(OvsBridge, self).__init__(module, **kwargs)
        self.db = self.params.get("db")
        self.bridge = self.params["name"]
        self.diff_header = "bridge %s" % self.bridge
        self.ovsdb = OvsDb(self.runner, db=self.db, timeout=max(1, self.params.get("timeout") or 60))
        self.wanted = []
        self.underlay = None
        self.kernel = None

    def validate(self):
        if self.params["state"] == "present":
            self.wanted = validate(self.params)
            self.underlay = validate_underlay(self.params)

    def read_tables(self):
        try:
            bridges, ports, interfaces = list_tables(self.ovsdb, [
                ("Bridge", BRIDGE_COLUMNS, None), ("Port", PORT_COLUMNS, None),
                ("Interface", INTERFACE_COLUMNS, None)])
        except CommandError as exc:
            raise NfvError(vsctl_error(exc, self.db), db=self.db) from exc
        state = index_state(bridges, ports, interfaces, self.bridge)
        state["underlays"] = recorded_underlays(bridges)
        state["uplinks"] = uplinks_of_state(bridges, ports, interfaces)
        return state

    def check_vswitchd(self):
        rundir = rundir_of(self.db)
        if rundir is None:
            return
        pid, alive = daemon_pid(rundir, "ovs-vswitchd")
        if not alive:
            why = "pid %s in %s/ovs-vswitchd.pid is gone" % (pid, rundir) if pid else "no pidfile in %s" % rundir
            raise NfvError("ovs-vswitchd is not running (%s): start it (e.g. systemctl start openvswitch-switch); "
                           "nothing was changed" % why, db=self.db)

    def read(self):
        if not self.ovsdb.installed:
            raise NfvError("ovs-vsctl was not found: install Open vSwitch first")
        state = self.read_tables()
        self.check_vswitchd()
        if self.underlay is not None:
            self.kernel = UnderlayKernel(self.runner, self.bridge, rundir_of(self.db))
            state["underlay"] = self.kernel.read()
        if self.underlay is not None or self.bridge in state["underlays"]:
            state["persistence"] = read_persistence(self.fs)
        return state

    def plan_persistence(self, plan, current):
        """The boot unit installed by a call that gives an underlay (persistent), taken away by the call after
        which no bridge records one."""
        if "persistence" not in current:
            return
        if self.underlay is not None:
            mine = recorded(self.underlay)
        else:  # not given: the bridge keeps what it records, unless it goes
            mine = None if self.params["state"] == "absent" else current["underlays"].get(self.bridge)
        if mine and self.underlay is not None and self.params["underlay"]["persistent"]:
            plan_persistence(plan, current["persistence"], self.runner, True)
        elif not mine and not set(current["underlays"]) - set([self.bridge]):
            plan_persistence(plan, current["persistence"], self.runner, False)

    def plan(self, current):
        underlays, uplinks = dict(current["underlays"]), dict(current["uplinks"])
        if self.underlay is not None:
            underlays[self.bridge] = self.underlay
            uplinks[self.bridge] = uplinks_of_wanted(self.wanted) or uplinks.get(self.bridge) or []
        check_tunnel_mtu(self.bridge, self.wanted, underlays, uplinks)
        plan = plan_bridge(with_underlay_key(self.params, self.underlay), self.wanted, current)
        plan_underlay(plan, self.underlay, current.get("underlay"))
        self.plan_persistence(plan, current)
        return plan

    def vsctl_apply(self, args):
        try:
            self.runner.run("ovs-vsctl", self.ovsdb.base_args() + args)
        except CommandError as exc:
            text = vsctl_error(exc, self.db)
            if exc.rc in (-14, 142) or "Alarm clock" in text:
                raise NfvError("ovs-vsctl timed out after %ss waiting for ovs-vswitchd to apply the transaction; it "
                               "was committed to the database but not confirmed by ovs-vswitchd" % self.ovsdb.timeout,
                               db=self.db) from exc
            raise NfvError("OVSDB transaction failed, nothing was changed: %s" % text, cmd=exc.argv,
                           rc=exc.rc) from exc

    def apply(self, plan, current):
        args = transaction_args(plan, self.bridge)
        if args:
            self.vsctl_apply(args)
        if plan.by_action("underlay"):
            self.apply_underlay()
        if any(plan.by_action(action) for action in PERSISTENCE_ACTIONS):
            persist(self.fs, self.runner, plan)

    def apply_underlay(self):
        """The internal port exists once ovs-vswitchd has applied the transaction: set its underlay, then
        check that the kernel holds it and that OVS's route table shows it."""
        now = self.kernel.read()
        if now is None:
            raise NfvError("underlay: the internal port %s of the bridge does not exist in ovs-vswitchd's network "
                           "namespace; ovs-vswitchd's log may say why" % self.bridge)
        self.kernel.apply(now, self.underlay)
        after = self.kernel.read()
        if dict((k, after[k]) for k in ("addresses", "routes")) != dict(
                (k, self.underlay[k]) for k in ("addresses", "routes")):
            raise NfvError("underlay: %s holds %s after the change, not %s" % (self.bridge, after, self.underlay))
        missing = self.kernel.missing_in_ovs(self.underlay)
        if missing:
            raise NfvError("underlay: OVS's route table (ovs-appctl ovs/route/show) lacks %s on %s after the kernel "
                           "got it" % (", ".join(missing), self.bridge), changed=True)

    def check_new_bridge(self, state):
        """A bridge this run created must exist in ovs-vswitchd: its own interface gets an ofport."""
        own = state["ports"].get(self.bridge) or {}
        ofport = own.get("ofport")
        if ofport is not None and ofport != -1 and not own.get("error"):
            return
        self.vsctl_apply(["--", "--if-exists", "del-br", self.bridge])
        raise NfvError("ovs-vswitchd could not create bridge %s (%s); the bridge was removed again from the "
                       "database. ovs-vswitchd's log has the reason (for a netdev bridge, e.g. another OVS "
                       "userspace datapath in the same network namespace)"
                       % (self.bridge, own.get("error") or "its internal interface got no ofport"),
                       changed=False)

    def undo_rejected(self, plan, state, rejected):
        """Ports this run created (or replaced) that OVS rejected are deleted again, and members this run added
        to a bond are taken out again; then the task fails with OVS's error text."""
        created = set(c.key.split(".", 1)[1] for c in plan if c.action in ("create_port", "replace_port"))
        added = dict((m["name"], c.key.split(".", 1)[1]) for c in plan.by_action("update_bond")
                     for m in c.data["added"])
        ports = sorted(set(r.get("bond") or r["name"] for r in rejected) & created)
        args = [a for n in ports for a in ("--", "del-port", self.bridge, n)]
        # a member whose row OVSDB no longer holds (removed meanwhile) has nothing to take out
        held = set(r["name"] for r in rejected if r["name"] in added
                   and r["name"] in ((state["ports"].get(added[r["name"]]) or {}).get("members") or {}))
        members = [r["name"] for r in rejected if r["name"] in held and added[r["name"]] not in created]
        for member in members:
            uuid = state["ports"][added[member]]["members"][member]["uuid"]
            args += ["--", "remove", "Port", added[member], "interfaces", uuid]
        if args:
            self.vsctl_apply(args)
        for item in rejected:
            undone = (item.get("bond") or item["name"]) in ports or item["name"] in members
            gone = item["name"] in added and item["name"] not in held
            item["outcome"] = "removed again" if undone else ("no longer in OVSDB" if gone else "left as configured")
        raise NfvError(
            "OVS rejected %d interface(s): %s" % (len(rejected), "; ".join(
                "%s: %s (%s)" % (r["name"], r["error"] or "ofport -1", r["outcome"]) for r in rejected)),
            rejected=rejected, changes=plan.as_list(), changed=True)

    def report(self, current, plan):
        result = {"bridge": self.bridge}
        if self.params["state"] == "absent":
            result.update({"ports": [], "interfaces": []})
            return result
        if self.check_mode or not plan.changed:
            state = current
        else:
            state = self.read_tables()
        touched = set(c.key.split(".", 1)[1] for c in plan if c.action in TOUCHING)
        if plan.by_action("create_bridge") and not self.check_mode:
            self.check_new_bridge(state)
        interfaces, rejected, warnings = [], [], []
        for spec in self.wanted:
            entry = state["ports"].get(spec["name"])
            for info in interface_infos(spec, entry):
                interfaces.append(info)
                verify = spec["name"] in touched and not self.check_mode and entry is not None
                # After ovs-vsctl's wait ovs-vswitchd has handled the transaction: a touched interface
                # without an ofport (or with -1) was not attached.
                if verify and (info["ofport"] is None or info["ofport"] == -1) and not info["error"]:
                    info["error"] = "ovs-vswitchd did not attach the interface (no ofport); see its log"
                if info["error"]:
                    if verify:
                        rejected.append(info)
                    else:
                        warnings.append("port %s is in error in OVS: %s" % (info["name"], info["error"]))
        if rejected:
            self.undo_rejected(plan, state, rejected)
        for warning in warnings:
            self.warn(warning)
        result.update({"ports": predicted_ports(plan, current) if self.check_mode else sorted(state["ports"]),
                       "interfaces": interfaces})
        if self.underlay is not None:
            change = plan.by_action("underlay")
            result["underlay"] = change[0].after if change else kernel_view(current.get("underlay"))
        return result
