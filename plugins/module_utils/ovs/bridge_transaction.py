# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A bridge plan (bridge_plan) as the ovs-vsctl arguments of ONE transaction: many `--` separated
commands, every value an OVSDB atom in JSON string syntax, no shell involved."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json


def q(text):
    """An OVSDB string atom in ovs-vsctl syntax (JSON string): safe for any content, no shell involved."""
    return json.dumps(text)


def map_literal(values):
    return "{%s}" % ",".join("%s=%s" % (q(k), q(v)) for k, v in sorted(values.items()))


def column_args(table, record, column, value):
    """set/clear commands for one column value (None/empty -> clear)."""
    if value is None or value == {} or value == [] or value == "":
        if column == "type":
            return ["--", "set", table, record, 'type=""']
        return ["--", "clear", table, record, column]
    if isinstance(value, dict):
        literal = map_literal(value)
    elif isinstance(value, list):
        literal = "[%s]" % ",".join(str(v) for v in value)
    elif isinstance(value, int):
        literal = str(value)
    else:
        literal = q(value)
    return ["--", "set", table, record, "%s=%s" % (column, literal)]


def map_key_args(table, record, column, sets, removes):
    args = []
    if sets:
        args += ["--", "set", table, record] + ["%s:%s=%s" % (column, q(k), q(v)) for k, v in sorted(sets.items())]
    if removes:
        args += ["--", "remove", table, record, column] + [q(k) for k in removes]
    return args


def create_bridge_args(bridge, settings):
    args = ["--", "add-br", bridge]
    columns = []
    for column in ("datapath_type", "fail_mode"):
        if settings.get(column):
            columns.append("%s=%s" % (column, q(settings[column])))
    for column in ("other_config", "external_ids"):
        if settings.get(column):
            columns.append("%s=%s" % (column, map_literal(settings[column])))
    if columns:
        args += ["--", "set", "Bridge", bridge] + columns
    return args


def interface_columns(spec):
    """The Interface row's columns of a port or bond member, as `set Interface` arguments."""
    iface = []
    if spec["type"]:
        iface.append("type=%s" % q(spec["type"]))
    if spec["options"]:
        iface.append("options=%s" % map_literal(spec["options"]))
    if spec["mtu_request"] is not None:
        iface.append("mtu_request=%d" % spec["mtu_request"])
    for column in ("other_config", "external_ids"):
        values = dict((k, v) for k, v in spec[column].items() if v is not None)
        if values:
            iface.append("%s=%s" % (column, map_literal(values)))
    return iface


def port_columns(spec):
    """The Port row's columns: VLAN settings, and for a bond its settings and maps."""
    port = []
    if spec["tag"] is not None:
        port.append("tag=%d" % spec["tag"])
    if spec["trunks"]:
        port.append("trunks=[%s]" % ",".join(str(v) for v in spec["trunks"]))
    if spec.get("vlan_mode"):
        port.append("vlan_mode=%s" % q(spec["vlan_mode"]))
    bond = spec.get("bond")
    if bond:
        for column in ("bond_mode", "lacp"):
            if bond[column]:
                port.append("%s=%s" % (column, q(bond[column])))
        for column in ("bond_updelay", "bond_downdelay"):
            if bond[column]:
                port.append("%s=%d" % (column, bond[column]))
        for column in ("other_config", "external_ids"):
            values = dict((k, v) for k, v in spec[column].items() if v is not None)
            if values:
                port.append("%s=%s" % (column, map_literal(values)))
    return port


def create_port_args(bridge, spec):
    name = spec["name"]
    members = spec["bond"]["members"] if spec.get("bond") else [spec]
    if spec.get("bond"):
        args = ["--", "add-bond", bridge, name] + [m["name"] for m in members]
    else:
        args = ["--", "add-port", bridge, name]
    for member in members:
        iface = interface_columns(member)
        if iface:
            args += ["--", "set", "Interface", member["name"]] + iface
    port = port_columns(spec)
    if port:
        args += ["--", "set", "Port", name] + port
    return args


def row_update_args(table, record, updates):
    """One row's column updates (column_updates' result) as set/clear/remove commands."""
    args = []
    for field, (_before, after, data) in sorted(updates.items()):
        if data is not None:
            args += map_key_args(table, record, field, data["sets"], data["removes"])
        else:
            args += column_args(table, record, field, after)
    return args


def update_port_args(change):
    name = change.key.split(".", 1)[1]
    iface = change.data["interface"]
    args = []
    for field, update in sorted(change.data["updates"].items()):
        table, record = ("Port", name) if field in ("tag", "trunks", "vlan_mode") else ("Interface", iface)
        args += row_update_args(table, record, {field: update})
    return args


def update_bond_args(change, bond_number):
    """A bond's Port columns, its changed members, and its new members (created and added to the Port row);
    the members it loses are taken out before (bond_member_removals). bond_number keeps the new rows' ids
    unique when several bonds gain members in one transaction."""
    name = change.key.split(".", 1)[1]
    args = row_update_args("Port", name, change.data["updates"])
    for member, updates in sorted(change.data["member_updates"].items()):
        args += row_update_args("Interface", member, updates)
    for number, member in enumerate(change.data["added"]):
        ref = "@bond%d_member%d" % (bond_number, number)
        args += ["--", "--id=%s" % ref, "create", "Interface", "name=%s" % q(member["name"])]
        args += interface_columns(member)
        args += ["--", "add", "Port", name, "interfaces", ref]
    return args


def bond_member_removals(change):
    name = change.key.split(".", 1)[1]
    return [a for _member, uuid in change.data["removed"] for a in ("--", "remove", "Port", name, "interfaces", uuid)]


def transaction_args(plan, bridge):
    """The whole plan as ovs-vsctl arguments for ONE transaction (after the global options)."""
    args = []
    for change in plan:
        if change.action == "delete_bridge":
            args += ["--", "del-br", bridge]
        elif change.action == "create_bridge":
            args += create_bridge_args(bridge, change.data["settings"])
        elif change.action == "bridge_column":
            args += column_args("Bridge", bridge, change.data["column"], change.after)
        elif change.action == "bridge_map":
            args += map_key_args("Bridge", bridge, change.data["column"], change.data["sets"],
                                 change.data["removes"])
    # Deletions before creations: a purged or replaced port, or a member taken out of its bond, frees its
    # name and socket for a new one.
    for change in plan:
        if change.action in ("delete_port", "replace_port"):
            args += ["--", "del-port", bridge, change.key.split(".", 1)[1]]
        elif change.action == "update_bond":
            args += bond_member_removals(change)
    bonds = 0
    for change in plan:
        if change.action in ("create_port", "replace_port"):
            args += create_port_args(bridge, change.data["spec"])
        elif change.action == "update_port":
            args += update_port_args(change)
        elif change.action == "update_bond":
            args += update_bond_args(change, bonds)
            bonds += 1
    return args
