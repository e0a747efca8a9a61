# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The current state of one bridge and its ports, from the Bridge, Port and Interface rows ovsdb lists."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

BRIDGE_COLUMNS = ["_uuid", "name", "ports", "datapath_type", "fail_mode", "other_config", "external_ids"]
PORT_COLUMNS = ["_uuid", "name", "interfaces", "tag", "trunks"]
INTERFACE_COLUMNS = ["_uuid", "name", "type", "options", "mtu_request", "other_config", "external_ids",
                     "error", "ofport"]

# Columns compared for each port, in report order.
PORT_FIELDS = ("type", "options", "mtu_request", "tag", "trunks", "other_config", "external_ids")


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


def port_entry(port, ifaces):
    """A Port row and its Interface rows -> the port's state; the interface columns only for one interface."""
    entry = {"name": port["name"], "tag": optional(port.get("tag")),
             "trunks": sorted(as_list(port.get("trunks"))), "n_interfaces": len(ifaces)}
    if len(ifaces) == 1:
        iface = ifaces[0]
        entry.update({
            "interface": iface["name"],
            "type": iface.get("type") or "",
            "options": dict(iface.get("options") or {}),
            "mtu_request": optional(iface.get("mtu_request")),
            "other_config": dict(iface.get("other_config") or {}),
            "external_ids": dict(iface.get("external_ids") or {}),
            "error": optional(iface.get("error")),
            "ofport": optional(iface.get("ofport")),
        })
    return entry


def index_state(bridges, ports, interfaces, bridge_name):
    """Rows of the three tables -> {bridge: row or None, ports: {name: port state}, owner: {port: bridge}}."""
    iface_by_uuid = dict((row["_uuid"], row) for row in interfaces)
    port_by_uuid = dict((row["_uuid"], row) for row in ports)
    owner = {}
    bridge = None
    for row in bridges:
        for uuid in as_list(row.get("ports")):
            port = port_by_uuid.get(uuid)
            if port is not None:
                owner[port["name"]] = row["name"]
        if row["name"] == bridge_name:
            bridge = row
    state = {"bridge": None, "ports": {}, "owner": owner}
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


def describe_port(entry):
    """The user-facing view of a port's state (diff/return)."""
    return dict((f, entry.get(f)) for f in PORT_FIELDS if f in entry)
