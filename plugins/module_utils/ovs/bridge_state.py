# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The current state of one bridge and its ports, from the Bridge, Port and Interface rows ovsdb lists."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

BRIDGE_COLUMNS = ["_uuid", "name", "ports", "datapath_type", "fail_mode", "other_config", "external_ids"]
PORT_COLUMNS = ["_uuid", "name", "interfaces", "tag", "trunks", "vlan_mode", "bond_mode", "lacp", "bond_updelay",
                "bond_downdelay", "other_config", "external_ids"]
INTERFACE_COLUMNS = ["_uuid", "name", "type", "options", "mtu_request", "other_config", "external_ids",
                     "error", "ofport", "mtu"]

# Columns compared for each port, in report order: a single-interface port's, a bond's (Port row), a member's.
PORT_FIELDS = ("type", "options", "mtu_request", "tag", "trunks", "vlan_mode", "other_config", "external_ids")
BOND_FIELDS = ("tag", "trunks", "vlan_mode", "bond_mode", "lacp", "bond_updelay", "bond_downdelay", "other_config",
               "external_ids")
MEMBER_FIELDS = ("type", "options", "mtu_request", "other_config", "external_ids")


def as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def optional(value):
    """An OVSDB optional column (a 0/1 set) -> the value or None."""
    values = as_list(value)
    return values[0] if values else None


def bridge_entry(bridge):
    return {
        "name": bridge["name"],
        "datapath_type": bridge.get("datapath_type") or "system",
        "fail_mode": optional(bridge.get("fail_mode")),
        "other_config": dict(bridge.get("other_config") or {}),
        "external_ids": dict(bridge.get("external_ids") or {}),
    }


def interface_entry(iface):
    return {
        "uuid": iface["_uuid"],
        "type": iface.get("type") or "",
        "options": dict(iface.get("options") or {}),
        "mtu_request": optional(iface.get("mtu_request")),
        "other_config": dict(iface.get("other_config") or {}),
        "external_ids": dict(iface.get("external_ids") or {}),
        "error": optional(iface.get("error")),
        "ofport": optional(iface.get("ofport")),
    }


def port_entry(port, ifaces):
    """A Port row and its Interface rows -> the port's state: the Port columns (VLAN, bond), each interface
    in `members`, and for a single interface its columns at the top as well."""
    entry = {"name": port["name"], "tag": optional(port.get("tag")),
             "trunks": sorted(as_list(port.get("trunks"))), "vlan_mode": optional(port.get("vlan_mode")),
             "n_interfaces": len(ifaces),
             "bond_mode": optional(port.get("bond_mode")),
             "lacp": optional(port.get("lacp")),
             "bond_updelay": optional(port.get("bond_updelay")) or 0,
             "bond_downdelay": optional(port.get("bond_downdelay")) or 0,
             "port_other_config": dict(port.get("other_config") or {}),
             "port_external_ids": dict(port.get("external_ids") or {}),
             "members": dict((iface["name"], interface_entry(iface)) for iface in ifaces)}
    if len(ifaces) == 1:
        entry.update(interface_entry(ifaces[0]))
        entry["interface"] = ifaces[0]["name"]
    return entry


def is_bond(entry, name=None):
    """A bond: several interfaces, or one whose name is not the port's (a bond left with one member)."""
    return entry["n_interfaces"] > 1 or (entry["n_interfaces"] == 1 and entry["interface"] != (name or entry["name"]))


def bond_view(entry):
    """A bond's Port columns and maps under the names a wanted bond uses."""
    return dict(entry, other_config=entry["port_other_config"], external_ids=entry["port_external_ids"])


def index_state(bridges, ports, interfaces, bridge_name):
    """Rows of the three tables -> {bridge: row or None, ports: {name: port state}, owner: {port: bridge},
    iface_owner: {interface: (bridge, port)}}."""
    iface_by_uuid = dict((row["_uuid"], row) for row in interfaces)
    port_by_uuid = dict((row["_uuid"], row) for row in ports)
    owner, iface_owner = {}, {}
    bridge = None
    for row in bridges:
        for uuid in as_list(row.get("ports")):
            port = port_by_uuid.get(uuid)
            if port is not None:
                owner[port["name"]] = row["name"]
                for iface_uuid in as_list(port.get("interfaces")):
                    if iface_uuid in iface_by_uuid:
                        iface_owner[iface_by_uuid[iface_uuid]["name"]] = (row["name"], port["name"])
        if row["name"] == bridge_name:
            bridge = row
    state = {"bridge": None, "ports": {}, "owner": owner, "iface_owner": iface_owner}
    if bridge is None:
        return state
    state["bridge"] = bridge_entry(bridge)
    for uuid in as_list(bridge.get("ports")):
        port = port_by_uuid.get(uuid)
        if port is None:
            continue
        ifaces = [iface_by_uuid[u] for u in as_list(port.get("interfaces")) if u in iface_by_uuid]
        state["ports"][port["name"]] = port_entry(port, ifaces)
    return state


def describe_port(entry, bond=None):
    """The user-facing view of a port (diff/return); a bond's with its members. `bond` None: a port's state
    (read from OVSDB); True or False: a wanted port, whose other_config and external_ids are already the
    Port's for a bond."""
    if bond is None:
        bond = is_bond(entry)
        entry = bond_view(entry) if bond else entry
    if not bond:
        return dict((f, entry.get(f)) for f in PORT_FIELDS if f in entry)
    view = dict((f, entry.get(f)) for f in BOND_FIELDS)
    view["interfaces"] = dict((name, dict((f, member.get(f)) for f in MEMBER_FIELDS))
                              for name, member in sorted(entry["members"].items()))
    return view
