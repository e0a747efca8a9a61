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


def create_port_args(bridge, spec):
    name = spec["name"]
    args = ["--", "add-port", bridge, name]
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
    if iface:
        args += ["--", "set", "Interface", name] + iface
    port = []
    if spec["tag"] is not None:
        port.append("tag=%d" % spec["tag"])
    if spec["trunks"]:
        port.append("trunks=[%s]" % ",".join(str(v) for v in spec["trunks"]))
    if port:
        args += ["--", "set", "Port", name] + port
    return args


def update_port_args(change):
    name = change.key.split(".", 1)[1]
    iface = change.data["interface"]
    args = []
    for field, (_before, after, data) in sorted(change.data["updates"].items()):
        if field in ("tag", "trunks"):
            args += column_args("Port", name, field, after)
        elif data is not None:
            args += map_key_args("Interface", iface, field, data["sets"], data["removes"])
        else:
            args += column_args("Interface", iface, field, after)
    return args


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
    # Deletions before creations: a purged port frees its name and socket for a new one.
    for change in plan.by_action("delete_port"):
        args += ["--", "del-port", bridge, change.key.split(".", 1)[1]]
    for change in plan:
        if change.action == "create_port":
            args += create_port_args(bridge, change.data["spec"])
        elif change.action == "update_port":
            args += update_port_args(change)
    return args
