# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan for an existing bond: its Port row's columns, and each member added, removed or changed in place
(one update_bond change, which bridge_transaction writes into the bridge's one transaction); and the check
that no wanted interface is another port's."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.bridge_state import MEMBER_FIELDS, bond_view
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.row_changes import column_updates

BOND_COLUMNS = ("tag", "trunks", "vlan_mode", "bond_mode", "lacp", "bond_updelay", "bond_downdelay")
MEMBER_COLUMNS = ("type", "options", "mtu_request")


def member_view(member):
    return dict((f, member.get(f)) for f in MEMBER_FIELDS)


def plan_bond(plan, key, entry, spec):
    """An update_bond change when the bond's Port row or its members differ from spec."""
    wanted_port = dict(spec, **dict((k, v) for k, v in spec["bond"].items() if k != "members"))
    updates = column_updates(bond_view(entry), wanted_port, BOND_COLUMNS)
    wanted = dict((m["name"], m) for m in spec["bond"]["members"])
    current = entry["members"]
    added = [m for m in spec["bond"]["members"] if m["name"] not in current]
    removed = sorted(name for name in current if name not in wanted)
    member_updates = {}
    for name in sorted(set(wanted) & set(current)):
        changes = column_updates(current[name], wanted[name], MEMBER_COLUMNS)
        if changes:
            member_updates[name] = changes
    if not (updates or added or removed or member_updates):
        return
    before = dict((f, u[0]) for f, u in updates.items())
    after = dict((f, u[1]) for f, u in updates.items())
    if added or removed or member_updates:
        before["interfaces"], after["interfaces"] = {}, {}
        for member in added:
            before["interfaces"][member["name"]] = None
            after["interfaces"][member["name"]] = dict(member_view(member), other_config=dict(
                (k, v) for k, v in member["other_config"].items() if v is not None), external_ids=dict(
                (k, v) for k, v in member["external_ids"].items() if v is not None))
        for name in removed:
            before["interfaces"][name] = member_view(current[name])
            after["interfaces"][name] = None
        for name, changes in member_updates.items():
            before["interfaces"][name] = dict((f, u[0]) for f, u in changes.items())
            after["interfaces"][name] = dict((f, u[1]) for f, u in changes.items())
    plan.add(key, before, after, action="update_bond", spec=spec, updates=updates, added=added,
             removed=[(name, current[name]["uuid"]) for name in removed], member_updates=member_updates)


def check_interface_owners(bridge, wanted_ports, state, plan):
    """Every interface a wanted port names must be free: no interface of another port, unless this plan
    deletes or replaces that port (purge_ports) or takes the member out of its bond first."""
    freed = set()
    for change in plan:
        name = change.key.split(".", 1)[1] if change.key.startswith("ports.") else None
        if change.action in ("delete_port", "replace_port"):
            freed.update(state["ports"][name]["members"])
        elif change.action == "update_bond":
            freed.update(member for member, _uuid in change.data["removed"])
    for index, spec in enumerate(wanted_ports):
        members = spec["bond"]["members"] if spec["bond"] else [spec]
        for number, member in enumerate(members):
            owner = state["iface_owner"].get(member["name"])
            if owner is None or owner == (bridge, spec["name"]) or (owner[0] == bridge and member["name"] in freed):
                continue
            field = "ports[%d].interfaces[%d].name" % (index, number) if spec["bond"] else "ports[%d].name" % index
            hint = (", or set purge_ports to delete port %s in the same transaction" % owner[1]
                    if owner[0] == bridge else "")
            raise NfvError("%s: interface %s already belongs to port %s on bridge %s; remove it there first%s"
                           % (field, member["name"], owner[1], owner[0], hint))
