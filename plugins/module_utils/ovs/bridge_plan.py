# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan for one bridge: the wanted bridge and ports (bridge_validation) against the current state
(bridge_state) -> a Plan of bridge and port changes, which bridge_transaction turns into one ovs-vsctl call."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.core.plan import Plan
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.bond_plan import check_interface_owners, plan_bond
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.bridge_state import describe_port, is_bond
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.port_validation import string_map
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.row_changes import column_updates, map_changes


def port_updates(entry, spec):
    """Column updates that bring an existing single-interface port to spec."""
    return column_updates(entry, spec, ("type", "options", "mtu_request", "tag", "trunks", "vlan_mode"))


def check_port_owners(name, wanted_ports, state):
    conflicts = ["'%s' (on bridge %s)" % (p["name"], state["owner"][p["name"]])
                 for p in wanted_ports
                 if p["name"] in state["owner"] and state["owner"][p["name"]] != name]
    if conflicts:
        raise NfvError("ports already exist on another bridge: %s; remove them there first (OVS port names are "
                       "unique per host)" % ", ".join(conflicts))


def plan_bridge_record(plan, params, bridge):
    """The Bridge row's changes: create it, or its columns (datapath_type, fail_mode) and maps."""
    name = params["name"]
    wanted_other = string_map("other_config", params.get("other_config"), allow_null=True)
    wanted_ext = string_map("external_ids", params.get("external_ids"), allow_null=True)
    if bridge is None:
        settings = {"datapath_type": params.get("datapath_type"), "fail_mode": params.get("fail_mode"),
                    "other_config": dict((k, v) for k, v in wanted_other.items() if v is not None),
                    "external_ids": dict((k, v) for k, v in wanted_ext.items() if v is not None)}
        plan.add("bridge", None, dict([("name", name)] + [(k, v) for k, v in settings.items() if v]),
                 action="create_bridge", settings=settings)
        return
    for column in ("datapath_type", "fail_mode"):
        want = params.get(column)
        if want is not None and bridge[column] != want:
            plan.add("bridge." + column, bridge[column], want, action="bridge_column", column=column)
    for column, wanted_map in (("other_config", wanted_other), ("external_ids", wanted_ext)):
        sets, removes = map_changes(bridge[column], wanted_map)
        if sets or removes:
            plan.add("bridge." + column, dict((k, bridge[column].get(k)) for k in list(sets) + removes),
                     dict((k, sets.get(k)) for k in list(sets) + removes), action="bridge_map",
                     column=column, sets=sets, removes=removes)


def wanted_view(spec):
    """The user-facing after of a port to create: what its rows will hold (null map values left out)."""
    entry = dict(spec)
    if spec["bond"]:
        entry.update(spec["bond"])
        entry["members"] = dict((m["name"], m) for m in spec["bond"]["members"])
    after = describe_port(entry, bond=bool(spec["bond"]))
    for view in [after] + list((after.get("interfaces") or {}).values()):
        for column in ("other_config", "external_ids"):
            view[column] = dict((k, v) for k, v in view[column].items() if v is not None)
    return after


def plan_ports(plan, params, wanted_ports, current_ports):
    """Ports to create, update or replace (a single port that becomes a bond, or back), and with
    purge_ports those not wanted to delete (never the bridge's own)."""
    for spec in wanted_ports:
        entry = current_ports.get(spec["name"])
        key = "ports." + spec["name"]
        if entry is None:
            plan.add(key, None, wanted_view(spec), action="create_port", spec=spec)
        elif (not is_bond(entry, spec["name"])) if spec["bond"] else entry["n_interfaces"] != 1:
            plan.add(key, describe_port(entry), wanted_view(spec), action="replace_port", spec=spec)
        elif spec["bond"]:
            plan_bond(plan, key, entry, spec)
        else:
            updates = port_updates(entry, spec)
            if updates:
                plan.add(key, dict((f, u[0]) for f, u in updates.items()),
                         dict((f, u[1]) for f, u in updates.items()), action="update_port",
                         spec=spec, interface=entry["interface"], updates=updates)
    if params.get("purge_ports"):
        wanted_names = set(spec["name"] for spec in wanted_ports)
        for port_name in sorted(current_ports):
            if port_name not in wanted_names and port_name != params["name"]:
                plan.add("ports." + port_name, describe_port(current_ports[port_name]), None, action="delete_port")


def plan_bridge(params, wanted_ports, state):
    plan = Plan()
    bridge = state["bridge"]
    if params["state"] == "absent":
        if bridge is not None:
            plan.add("bridge", {"name": params["name"], "ports": sorted(state["ports"])}, None,
                     action="delete_bridge")
        return plan
    check_port_owners(params["name"], wanted_ports, state)
    plan_bridge_record(plan, params, bridge)
    plan_ports(plan, params, wanted_ports, state["ports"] if bridge is not None else {})
    check_interface_owners(params["name"], wanted_ports, state, plan)
    return plan


def predicted_ports(plan, state):
    """The bridge's port names once the plan is applied (what check mode reports)."""
    names = set(state["ports"]) if state["bridge"] is not None else set()
    for change in plan:
        if change.action == "create_bridge":
            names.add(change.after["name"])
        elif change.action in ("create_port", "replace_port"):
            names.add(change.key.split(".", 1)[1])
        elif change.action == "delete_port":
            names.discard(change.key.split(".", 1)[1])
    return sorted(names)
