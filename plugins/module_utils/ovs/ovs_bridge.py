# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One OVS bridge and its ports, declaratively.

read (one ovs-vsctl call, JSON) -> plan (data) -> one ovs-vsctl transaction (argv, many `--`
separated commands) -> ovs-vsctl waits for ovs-vswitchd (cur_cfg) -> read each touched
interface's error/ofport -> ports this run created that OVS rejected are deleted again and the
task fails with OVS's own error text.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.core.plan import Plan, PlannedModule
from ansible_collections.nfv.dpdk.plugins.module_utils.core.runner import CommandError
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.ovsdb import (
    OvsDb,
    daemon_pid,
    list_tables,
    rundir_of,
    vsctl_error,
)
from ansible_collections.nfv.dpdk.plugins.module_utils.runtime.unit_paths import SUN_PATH_MAX

IFNAMSIZ = 16            # names up to 15 bytes
INTERFACE_TYPES = ["system", "internal", "dpdk", "dpdkvhostuser", "dpdkvhostuserclient", "patch",
                   "vxlan", "geneve", "gre", "erspan", "ip6erspan", "ip6gre", "stt", "lisp", "bareudp",
                   "gtpu", "srv6", "tap", "afxdp", "afxdp-nonpmd"]
TUNNEL_TYPES = ("vxlan", "geneve", "gre", "erspan", "ip6erspan", "ip6gre", "stt", "lisp", "gtpu", "srv6")
QUEUE_OPTIONS = (("n_rxq", "n_rxq"), ("n_rxq_desc", "n_rxq_desc"), ("n_txq_desc", "n_txq_desc"))
MAX_QUEUE_DESC = 4096
# Bridge and port names (fullmatch): they become Linux interface names (the bridge's internal port, system
# and tap ports) and bare ovs-vsctl arguments, where ':' separates column and key, '@' names a record of
# the transaction, a leading '-' reads as an option and '/', whitespace or '%' are not valid in netdev names.
NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")

PORT_SPEC = dict(
    name=dict(type="str", required=True),
    type=dict(type="str", default="system", choices=INTERFACE_TYPES),
    options=dict(type="dict", default={}),
    mtu_request=dict(type="int"),
    tag=dict(type="int"),
    trunks=dict(type="list", elements="int", default=[]),
    n_rxq=dict(type="int"),
    n_rxq_desc=dict(type="int"),
    n_txq_desc=dict(type="int"),
    pmd_rxq_affinity=dict(type="str"),
    other_config=dict(type="dict", default={}),
    external_ids=dict(type="dict", default={}),
)

ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    state=dict(type="str", default="present", choices=["present", "absent"]),
    db=dict(type="str"),
    datapath_type=dict(type="str", choices=["system", "netdev"]),
    fail_mode=dict(type="str", choices=["secure", "standalone"]),
    other_config=dict(type="dict", default={}),
    external_ids=dict(type="dict", default={}),
    ports=dict(type="list", elements="dict", default=[], options=PORT_SPEC),
    purge_ports=dict(type="bool", default=False),
    timeout=dict(type="int", default=60),
)

# Columns compared for each port, in report order.
PORT_FIELDS = ("type", "options", "mtu_request", "tag", "trunks", "other_config", "external_ids")


def to_ovs_string(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def string_map(name, values, allow_null):
    result = {}
    for key, value in (values or {}).items():
        if value is None:
            if not allow_null:
                raise NfvError("%s.%s: a value is required (null is not allowed here)" % (name, key))
            result[str(key)] = None
        else:
            result[str(key)] = to_ovs_string(value)
    return result


def as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def optional(value):
    """An OVSDB optional column (a 0/1 set) -> the value or None."""
    values = as_list(value)
    return values[0] if values else None


def check_queue_option(where, key, value, field=None):
    """options.n_rxq (>= 1) and n_rxq_desc/n_txq_desc (a power of two, 1-4096), as ovs-vswitchd.conf.db(5) says."""
    field = field or "options.%s" % key
    text = str(value).strip(" \t")
    number = int(text) if re.fullmatch(r"\d+", text) and not isinstance(value, bool) else None
    if key == "n_rxq":
        if number is None or number < 1:
            raise NfvError("%s: %s must be an integer of at least 1, got %r" % (where, field, value))
    elif number is None or not 1 <= number <= MAX_QUEUE_DESC or number & (number - 1):
        raise NfvError("%s: %s must be a power of two from 1 to %d (queue descriptors), got %r"
                       % (where, field, MAX_QUEUE_DESC, value))
    return str(number)


def normalize_port(port, index=None):
    """One `ports` entry -> the wanted state of that port, validated. Raises NfvError."""
    name = port["name"]
    check_name(name, "port" if index is None else "ports[%d].name" % index)
    where = "port %s" % name
    kind = port.get("type") or "system"
    options = string_map(where + " options", port.get("options"), allow_null=False)
    for option, key in QUEUE_OPTIONS:
        if port.get(option) is not None:
            value = str(port[option])
            if options.get(key, value) != value:
                raise NfvError("%s: %s=%s conflicts with options.%s=%s" % (where, option, value, key, options[key]))
            options[key] = check_queue_option(where, key, port[option], field=option)
        elif key in options:
            options[key] = check_queue_option(where, key, options[key])
    other_config = string_map(where + " other_config", port.get("other_config"), allow_null=True)
    if port.get("pmd_rxq_affinity") is not None:
        value = port["pmd_rxq_affinity"]
        if other_config.get("pmd-rxq-affinity", value) != value:
            raise NfvError("%s: pmd_rxq_affinity conflicts with other_config.pmd-rxq-affinity" % where)
        other_config["pmd-rxq-affinity"] = value
    external_ids = string_map(where + " external_ids", port.get("external_ids"), allow_null=True)
    tag = port.get("tag")
    if tag is not None and not 0 <= tag <= 4095:
        raise NfvError("%s: tag must be a VLAN id 0-4095, got %s" % (where, tag))
    trunks = sorted(set(port.get("trunks") or []))
    for vlan in trunks:
        if not 0 <= vlan <= 4095:
            raise NfvError("%s: trunks must be VLAN ids 0-4095, got %s" % (where, vlan))
    mtu = port.get("mtu_request")
    if mtu is not None and not 68 <= mtu <= 65535:
        raise NfvError("%s: mtu_request must be 68-65535, got %s" % (where, mtu))
    if kind == "dpdkvhostuserclient":
        path = options.get("vhost-server-path")
        if not path:
            raise NfvError("%s: a dpdkvhostuserclient port needs options.vhost-server-path (the socket QEMU "
                           "creates as server)" % where)
        if len(path.encode("utf-8")) > SUN_PATH_MAX:
            raise NfvError("%s: vhost-server-path is %d bytes, longer than the %d a unix socket path can hold: %s"
                           % (where, len(path.encode("utf-8")), SUN_PATH_MAX, path))
        if not path.startswith("/"):
            raise NfvError("%s: vhost-server-path must be absolute: %s" % (where, path))
    if kind == "dpdk" and not options.get("dpdk-devargs"):
        raise NfvError("%s: a dpdk port needs options.dpdk-devargs (a PCI address such as 0000:03:00.0)" % where)
    if kind == "patch" and not options.get("peer"):
        raise NfvError("%s: a patch port needs options.peer" % where)
    if kind in TUNNEL_TYPES and kind != "srv6" and not options.get("remote_ip"):
        raise NfvError("%s: a %s port needs options.remote_ip" % (where, kind))
    return {
        "name": name,
        "type": "" if kind == "system" else kind,
        "options": options,
        "mtu_request": mtu,
        "tag": tag,
        "trunks": trunks,
        "other_config": other_config,
        "external_ids": external_ids,
    }


def check_name(name, what):
    """A bridge or port name: 1-15 bytes of NAME_RE. `what` names the field ('bridge', 'ports[0].name')."""
    label = what if "." in what else "%s name" % what
    if not name:
        raise NfvError("%s cannot be empty" % label)
    if len(name.encode("utf-8")) >= IFNAMSIZ:
        raise NfvError("%s '%s' is %d bytes; Linux interface names hold at most %d"
                       % (label, name, len(name.encode("utf-8")), IFNAMSIZ - 1))
    if not NAME_RE.fullmatch(name) or name in (".", ".."):
        raise NfvError("%s %r may hold only letters, digits, '_', '-' and '.', and start with a letter, digit or "
                       "'_': ovs-vsctl reads ':' and '@' in its arguments, a leading '-' as an option, and Linux "
                       "interface names cannot hold '/' or whitespace" % (label, name))


def validate(params):
    """Everything that can be checked before talking to OVS. Returns the wanted ports in order."""
    check_name(params["name"], "bridge")
    wanted = []
    seen, sockets = {}, {}
    for index, port in enumerate(params.get("ports") or []):
        spec = normalize_port(port, index)
        if spec["name"] in seen:
            raise NfvError("port '%s' is listed more than once" % spec["name"])
        if spec["name"] == params["name"]:
            raise NfvError("port '%s' has the bridge's name: the bridge's own internal port is implicit, "
                           "do not list it" % spec["name"])
        seen[spec["name"]] = spec
        path = spec["options"].get("vhost-server-path") if spec["type"] == "dpdkvhostuserclient" else None
        if path:
            if path in sockets:
                raise NfvError("ports '%s' and '%s' use the same vhost-server-path %s"
                               % (sockets[path], spec["name"], path))
            sockets[path] = spec["name"]
        wanted.append(spec)
    string_map("other_config", params.get("other_config"), allow_null=True)
    string_map("external_ids", params.get("external_ids"), allow_null=True)
    return wanted


# ---- current state -------------------------------------------------------------------------

BRIDGE_COLUMNS = ["_uuid", "name", "ports", "datapath_type", "fail_mode", "other_config", "external_ids"]
PORT_COLUMNS = ["_uuid", "name", "interfaces", "tag", "trunks"]
INTERFACE_COLUMNS = ["_uuid", "name", "type", "options", "mtu_request", "other_config", "external_ids",
                     "error", "ofport"]


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
    state["bridge"] = {
        "name": bridge["name"],
        "datapath_type": bridge.get("datapath_type") or "system",
        "fail_mode": optional(bridge.get("fail_mode")),
        "other_config": dict(bridge.get("other_config") or {}),
        "external_ids": dict(bridge.get("external_ids") or {}),
    }
    for uuid in as_list(bridge.get("ports")):
        port = port_by_uuid.get(uuid)
        if port is None:
            continue
        ifaces = [iface_by_uuid[u] for u in as_list(port.get("interfaces")) if u in iface_by_uuid]
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
        state["ports"][port["name"]] = entry
    return state


def describe_port(entry):
    """The user-facing view of a port's state (diff/return)."""
    return dict((f, entry.get(f)) for f in PORT_FIELDS if f in entry)


# ---- plan ------------------------------------------------------------------------------------

def map_changes(current, wanted):
    """Merge semantics: listed keys are set, null removes, unlisted keys stay. -> (sets, removes)."""
    sets, removes = {}, []
    for key in sorted(wanted):
        value = wanted[key]
        if value is None:
            if key in current:
                removes.append(key)
        elif current.get(key) != value:
            sets[key] = value
    return sets, removes


def port_updates(entry, spec):
    """Column updates that bring an existing port to spec: {field: (before, after, data)}."""
    updates = {}
    for field in ("type", "options", "mtu_request", "tag", "trunks"):
        before = entry.get(field)
        if field == "type":
            before = "" if before in (None, "system") else before
        after = spec[field]
        if before != after:
            updates[field] = (before, after, None)
    for field in ("other_config", "external_ids"):
        current = entry.get(field) or {}
        sets, removes = map_changes(current, spec[field])
        if sets or removes:
            before = dict((k, current.get(k)) for k in list(sets) + removes)
            after = dict((k, sets.get(k)) for k in list(sets) + removes)
            updates[field] = (before, after, {"sets": sets, "removes": removes})
    return updates


def plan_bridge(params, wanted_ports, state):
    plan = Plan()
    name = params["name"]
    bridge = state["bridge"]
    if params["state"] == "absent":
        if bridge is not None:
            plan.add("bridge", {"name": name, "ports": sorted(state["ports"])}, None, action="delete_bridge")
        return plan

    conflicts = ["'%s' (on bridge %s)" % (p["name"], state["owner"][p["name"]])
                 for p in wanted_ports
                 if p["name"] in state["owner"] and state["owner"][p["name"]] != name]
    if conflicts:
        raise NfvError("ports already exist on another bridge: %s; remove them there first (OVS port names are "
                       "unique per host)" % ", ".join(conflicts))

    wanted_other = string_map("other_config", params.get("other_config"), allow_null=True)
    wanted_ext = string_map("external_ids", params.get("external_ids"), allow_null=True)
    if bridge is None:
        settings = {"datapath_type": params.get("datapath_type"), "fail_mode": params.get("fail_mode"),
                    "other_config": dict((k, v) for k, v in wanted_other.items() if v is not None),
                    "external_ids": dict((k, v) for k, v in wanted_ext.items() if v is not None)}
        plan.add("bridge", None, dict([("name", name)] + [(k, v) for k, v in settings.items() if v]),
                 action="create_bridge", settings=settings)
        current_ports = {}
    else:
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
        current_ports = state["ports"]

    wanted_names = set()
    for spec in wanted_ports:
        wanted_names.add(spec["name"])
        entry = current_ports.get(spec["name"])
        if entry is None:
            after = describe_port(dict((k, v) for k, v in spec.items()))
            after["other_config"] = dict((k, v) for k, v in spec["other_config"].items() if v is not None)
            after["external_ids"] = dict((k, v) for k, v in spec["external_ids"].items() if v is not None)
            plan.add("ports." + spec["name"], None, after, action="create_port", spec=spec)
            continue
        if entry["n_interfaces"] != 1:
            raise NfvError("port '%s' has %d interfaces (a bond?); this module manages single-interface ports"
                           % (spec["name"], entry["n_interfaces"]))
        updates = port_updates(entry, spec)
        if updates:
            plan.add("ports." + spec["name"], dict((f, u[0]) for f, u in updates.items()),
                     dict((f, u[1]) for f, u in updates.items()), action="update_port",
                     spec=spec, interface=entry["interface"], updates=updates)
    if params.get("purge_ports"):
        for port_name in sorted(current_ports):
            if port_name not in wanted_names and port_name != name:
                plan.add("ports." + port_name, describe_port(current_ports[port_name]), None, action="delete_port")
    return plan


# ---- ovs-vsctl argv --------------------------------------------------------------------------

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
            args += ["--", "add-br", bridge]
            settings = change.data["settings"]
            columns = []
            for column in ("datapath_type", "fail_mode"):
                if settings.get(column):
                    columns.append("%s=%s" % (column, q(settings[column])))
            for column in ("other_config", "external_ids"):
                if settings.get(column):
                    columns.append("%s=%s" % (column, map_literal(settings[column])))
            if columns:
                args += ["--", "set", "Bridge", bridge] + columns
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


def predicted_ports(plan, state):
    names = set(state["ports"]) if state["bridge"] is not None else set()
    for change in plan:
        if change.action == "create_bridge":
            names.add(change.after["name"])
        elif change.action == "create_port":
            names.add(change.key.split(".", 1)[1])
        elif change.action == "delete_port":
            names.discard(change.key.split(".", 1)[1])
    return sorted(names)


# ---- the module ------------------------------------------------------------------------------

class OvsBridge(PlannedModule):

    def __init__(self, module, **kwargs):
        super(OvsBridge, self).__init__(module, **kwargs)
        self.db = self.params.get("db")
        self.bridge = self.params["name"]
        self.diff_header = "bridge %s" % self.bridge
        self.ovsdb = OvsDb(self.runner, db=self.db, timeout=max(1, self.params.get("timeout") or 60))
        self.wanted = []

    def validate(self):
        self.wanted = validate(self.params) if self.params["state"] == "present" else []

    def read_tables(self):
        try:
            bridges, ports, interfaces = list_tables(self.ovsdb, [
                ("Bridge", BRIDGE_COLUMNS, None), ("Port", PORT_COLUMNS, None),
                ("Interface", INTERFACE_COLUMNS, None)])
        except CommandError as exc:
            raise NfvError(vsctl_error(exc, self.db), db=self.db) from exc
        return index_state(bridges, ports, interfaces, self.bridge)

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
        return state

    def plan(self, current):
        return plan_bridge(self.params, self.wanted, current)

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
        self.vsctl_apply(transaction_args(plan, self.bridge))

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

    def report(self, current, plan):
        result = {"bridge": self.bridge}
        if self.params["state"] == "absent":
            result.update({"ports": [], "interfaces": []})
            return result
        if self.check_mode or not plan.changed:
            state = current
        else:
            state = self.read_tables()
        touched = set(c.key.split(".", 1)[1] for c in plan if c.action in ("create_port", "update_port"))
        if plan.by_action("create_bridge") and not self.check_mode:
            self.check_new_bridge(state)
        interfaces, rejected, warnings = [], [], []
        for spec in self.wanted:
            entry = state["ports"].get(spec["name"])
            if entry is None:
                interfaces.append({"name": spec["name"], "type": spec["type"] or "system", "ofport": None,
                                   "error": None})
                continue
            info = {"name": spec["name"], "type": entry.get("type") or "system", "ofport": entry.get("ofport"),
                    "error": entry.get("error")}
            interfaces.append(info)
            verify = spec["name"] in touched and not self.check_mode
            # After ovs-vsctl's wait ovs-vswitchd has handled the transaction: a touched interface
            # without an ofport (or with -1) was not attached.
            if verify and (info["ofport"] is None or info["ofport"] == -1) and not info["error"]:
                info["error"] = "ovs-vswitchd did not attach the interface (no ofport); see its log"
            if info["error"]:
                if verify:
                    rejected.append(info)
                else:
                    warnings.append("port %s is in error in OVS: %s" % (spec["name"], info["error"]))
        if rejected:
            created = set(c.key.split(".", 1)[1] for c in plan.by_action("create_port"))
            removed = [r["name"] for r in rejected if r["name"] in created]
            if removed:
                self.vsctl_apply([a for n in removed for a in ("--", "del-port", self.bridge, n)])
            for item in rejected:
                item["outcome"] = "removed again" if item["name"] in removed else "left as configured"
            raise NfvError(
                "OVS rejected %d port(s): %s" % (len(rejected), "; ".join(
                    "%s: %s (%s)" % (r["name"], r["error"] or "ofport -1", r["outcome"]) for r in rejected)),
                rejected=rejected, changes=plan.as_list(), changed=True)
        for warning in warnings:
            self.warn(warning)
        result.update({"ports": predicted_ports(plan, current) if self.check_mode else sorted(state["ports"]),
                       "interfaces": interfaces})
        return result
