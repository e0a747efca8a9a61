# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one reader of Open vSwitch state: ovs-vsctl with JSON output, rows as dicts."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError


def ovsdb_value(value):
    """OVSDB JSON datum to Python: ['map', pairs] -> dict, ['set', items] -> list, ['uuid', u] -> u."""
    if isinstance(value, list) and len(value) == 2 and isinstance(value[0], str):
        kind, payload = value
        if kind == "map":
            return dict((ovsdb_value(k), ovsdb_value(v)) for k, v in payload)
        if kind == "set":
            return [ovsdb_value(item) for item in payload]
        if kind in ("uuid", "named-uuid"):
            return payload
    return value


def parse_table(text):
    """`ovs-vsctl --format=json --data=json list TABLE` -> [row dicts]."""
    document = json.loads(text)
    headings = document["headings"]
    return [dict(zip(headings, (ovsdb_value(cell) for cell in row))) for row in document["data"]]


class OvsDb:
    """Reads OVSDB through ovs-vsctl. `db` is an ovsdb-server remote (unix:/path), default the system one."""

    def __init__(self, runner, db=None, timeout=5):
        self.runner = runner
        self.db = db
        self.timeout = timeout

    @property
    def installed(self):
        return self.runner.has("ovs-vsctl")

    def base_args(self):
        args = ["--timeout=%d" % self.timeout]
        if self.db:
            args.append("--db=%s" % self.db)
        return args

    def vsctl(self, args, check=True):
        return self.runner.run("ovs-vsctl", self.base_args() + list(args), check=check)

    def list_table(self, table, columns=None):
        args = ["--format=json", "--data=json"]
        if columns:
            args.append("--columns=" + ",".join(columns))
        return parse_table(self.vsctl(args + ["list", table])[1])

    def reachable(self):
        """(True, None) when ovsdb-server answers, else (False, why)."""
        rc, _out, err = self.vsctl(["show"], check=False)
        return rc == 0, (err or "").strip() or None

    def version(self):
        rc, out, _err = self.runner.run("ovs-vsctl", ["--version"], check=False)
        first = out.splitlines()[0] if rc == 0 and out else ""
        return first.split()[-1] if first else None

    def facts(self):
        """OVS/DPDK state for host_facts; never fails on a host without OVS."""
        if not self.installed:
            return {"installed": False, "running": False}
        state = {"installed": True, "version": self.version(), "running": False}
        ok, why = self.reachable()
        if not ok:
            state["error"] = why
            return state
        state["running"] = True
        try:
            roots, bridges, port_rows, iface_rows = list_tables(self, FACTS_QUERIES)
            root = roots[0]
            ports = dict((p["_uuid"], p["name"]) for p in port_rows)
            bonds = port_bonds(port_rows, iface_rows)
        except (NfvError, ValueError, IndexError, KeyError, TypeError) as exc:
            state["error"] = str(exc)
            return state
        state.update({
            "ovs_version": root.get("ovs_version"),
            "dpdk_initialized": root.get("dpdk_initialized") is True,
            "dpdk_version": root.get("dpdk_version") or None,
            "other_config": root.get("other_config", {}),
            "bridges": sorted(({
                "name": b["name"],
                "datapath_type": b.get("datapath_type") or "system",
                "ports": sorted(ports.get(u, u) for u in _as_list(b.get("ports"))),
                "bonds": sorted((bonds[u] for u in _as_list(b.get("ports")) if u in bonds),
                                key=lambda bond: bond["name"]),
            } for b in bridges), key=lambda b: b["name"]),
        })
        return state


def _as_list(value):
    """A set column with one member comes back as a bare value."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


# host_facts' one snapshot: the Open_vSwitch row, the bridges, their ports and the interfaces (bond members)
FACTS_QUERIES = [
    ("Open_vSwitch", None, None),
    ("Bridge", ["name", "datapath_type", "ports"], None),
    ("Port", ["_uuid", "name", "interfaces", "bond_mode", "lacp", "bond_active_slave"], None),
    ("Interface", ["_uuid", "name", "type", "link_state", "lacp_current", "mac_in_use", "options"], None),
]


def _optional(value):
    """An optional column: its value, None when unset (an empty set)."""
    return None if value == [] else value


def port_bonds(ports, interfaces):
    """{port uuid: bond facts} of the ports with more than one interface (the Port and Interface rows)."""
    rows = dict((i["_uuid"], i) for i in interfaces)
    bonds = {}
    for port in ports:
        uuids = _as_list(port.get("interfaces"))
        if len(uuids) < 2:
            continue
        members = [rows.get(u) or {"name": u} for u in uuids]
        active_mac = (_optional(port.get("bond_active_slave")) or "").lower()
        active = [m["name"] for m in members
                  if active_mac and (_optional(m.get("mac_in_use")) or "").lower() == active_mac]
        bonds[port["_uuid"]] = {
            "name": port["name"],
            "bond_mode": _optional(port.get("bond_mode")) or "active-backup",
            "lacp": _optional(port.get("lacp")) or "off",
            "lacp_negotiated": any(m.get("lacp_current") is True for m in members),
            "active_member": active[0] if active else None,
            "members": sorted(({
                "name": m["name"],
                "type": m.get("type") or "system",
                "link_state": _optional(m.get("link_state")),
                "lacp_current": _optional(m.get("lacp_current")),
                "dpdk_devargs": (m.get("options") or {}).get("dpdk-devargs"),
            } for m in members), key=lambda m: m["name"]),
        }
    return bonds


# ---- Added for ovs_config / ovs_bridge (append-only) ----------------------------------------

DEFAULT_RUNDIR = "/run/openvswitch"
# the Open_vSwitch other_config keys of the CPU masks: ovs_config sets them, cpu_layout reads them back
LCORE_MASK_KEY = "dpdk-lcore-mask"
PMD_CPU_MASK_KEY = "pmd-cpu-mask"


def list_tables(ovsdb, queries):
    """Several tables in ONE ovs-vsctl call: queries is [(table, columns or None, records or None)].

    Returns one list of row dicts per query, in order (a snapshot from one transaction).
    """
    args = ["--format=json", "--data=json"]
    for table, columns, records in queries:
        args.append("--")
        if columns:
            args.append("--columns=" + ",".join(columns))
        args.append("list")
        args.append(table)
        args.extend(records or [])
    out = ovsdb.vsctl(args)[1]
    if isinstance(out, bytes):
        out = out.decode("utf-8")
    docs = [line for line in out.splitlines() if line.strip()]
    if len(docs) != len(queries):
        raise NfvError("unexpected ovs-vsctl output: %d JSON documents for %d tables" % (len(docs), len(queries)))
    return [parse_table(doc) for doc in docs]


def rundir_of(db):
    """The OVS run directory that holds the pidfiles of the instance behind `db`, or None.

    The system instance (db None) uses OVS_RUNDIR or /run/openvswitch; a `unix:` remote uses
    the directory of its socket (OVS keeps db.sock and the pidfiles side by side). TCP/SSL
    remotes are on another host: None.
    """
    import os
    if not db:
        return os.environ.get("OVS_RUNDIR") or DEFAULT_RUNDIR
    if db.startswith("unix:"):
        return os.path.dirname(db[len("unix:"):]) or None
    return None


def daemon_pid(rundir, daemon):
    """(pid, alive) of an OVS daemon from its pidfile in `rundir`; (None, False) without one."""
    import os
    if not rundir:
        return None, False
    try:
        with open(os.path.join(rundir, daemon + ".pid")) as handle:
            pid = int(handle.read().strip())
    except (IOError, OSError, ValueError):
        return None, False
    try:
        with open("/proc/%d/stat" % pid) as handle:
            state = handle.read().rsplit(") ", 1)[1][:1]
    except (IOError, OSError, IndexError):
        return pid, False
    return pid, state not in ("Z", "X")


def vsctl_error(exc, db):
    """An operator-facing message for a failed ovs-vsctl call (unreachable database first)."""
    text = (getattr(exc, "stderr", None) or "")
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = text.strip() or str(exc)
    if "database connection failed" in text or "Connection refused" in text:
        return "ovsdb-server is not reachable at %s (is it running?): %s" % (db or "the default socket", text)
    return text


def dpdk_ports_of(runner, addresses):
    """{PCI address: 'OVS port NAME'} of the Interfaces whose dpdk-devargs name one of `addresses`; {} without
    OVS or when its database does not answer."""
    ovsdb = OvsDb(runner)
    if not ovsdb.installed:
        return {}
    rc, out, _err = ovsdb.vsctl(["--format=json", "--data=json", "--columns=name,options", "list", "Interface"],
                                check=False)
    if rc != 0:
        return {}
    users = {}
    for row in parse_table(out.decode("utf-8", "replace") if isinstance(out, bytes) else out):
        devargs = (row.get("options") or {}).get("dpdk-devargs", "")
        for address in addresses:
            if devargs.split(",")[0] == address:
                users[address] = "OVS port %s" % row.get("name")
    return users
