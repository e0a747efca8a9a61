# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The management guard's view of the host network, read once in a module's read() phase.

What a NIC may carry beyond its own netdev's addresses:
  - a default route in ANY routing table (VRFs, policy routing), from `ip -j route show table all` (IPv4 and
    IPv6), /proc/net (the main table only) when the host has no `ip`;
  - the ports of an Open vSwitch bridge whose internal port holds the management address or a default route:
    read from OVSDB (bridges joined by patch ports count as one); when OVSDB cannot be read, a netdev whose
    master is the kernel datapath (ovs-system) is refused while management rides a port of that datapath;
  - an upper device (bond, Linux bridge, VLAN; sysfs `master` and `upper_*`) that is up with addresses or
    routes: binding the slave away cuts that upper's traffic, management or not.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import json
import sys

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.core.runner import output_text
from ansible_collections.nfv.dpdk.plugins.module_utils.host import netdev
from ansible_collections.nfv.dpdk.plugins.module_utils.host.pci import NET_ROOT
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.ovsdb import OvsDb, list_tables, vsctl_error
from ansible_collections.nfv.dpdk.plugins.module_utils.pci.pci_guard import is_link_local

ROUTE_QUERIES = (["-j", "route", "show", "table", "all"], ["-j", "-6", "route", "show", "table", "all"])
OVS_DATAPATH = "ovs-system"  # the master of every port of the OVS kernel datapath
OVS_KERNEL_TYPES = ("", "system", "internal")  # OVS interface types that are kernel netdevs


# -- routes ------------------------------------------------------------------------------------------
def route_carries_traffic(dst):
    """A route that says the device is in use: not link-local, not multicast (the kernel adds those)."""
    if dst == "default":
        return True
    try:
        net = ipaddress.ip_network(dst, strict=False)
    except ValueError:
        return True
    return not (net.is_link_local or net.is_multicast)


def parse_routes(text):
    """`ip -j route show table all` -> [(dev, dst, table)] of unicast routes; table None is main.

    Local, broadcast, multicast, unreachable, blackhole... routes are the kernel's bookkeeping, not traffic;
    a multipath route yields one entry per next hop.
    """
    try:
        entries = json.loads(output_text(text) or "[]")
    except ValueError:
        return None
    routes = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or entry.get("type", "unicast") != "unicast" or entry.get("table") == "local":
            continue
        table = entry.get("table")
        table = None if table in (None, "main", "254") else str(table)
        hops = [entry] + [hop for hop in entry.get("nexthops") or [] if isinstance(hop, dict)]
        for dev in sorted(set(hop.get("dev") for hop in hops if hop.get("dev") not in (None, "lo"))):
            routes.append((dev, str(entry.get("dst", "")), table))
    return routes


def proc_routes(fs):
    """[(dev, dst, None)] of the main table from /proc/net (IPv4 and IPv6): the fallback without `ip`."""
    routes = [(dev, "default", None) for dev in sorted(netdev.default_route_interfaces(fs))]
    for line in (fs.read("/proc/net/route") or "").splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 8 and fields[1] != "00000000":
            try:
                packed = int(fields[1], 16).to_bytes(4, sys.byteorder)  # the kernel prints it in host order
                dst = ipaddress.IPv4Network((packed, bin(int(fields[7], 16)).count("1")), strict=False)
            except ValueError:
                continue
            routes.append((fields[0], str(dst), None))
    for line in (fs.read("/proc/net/ipv6_route") or "").splitlines():
        fields = line.split()
        if len(fields) >= 10 and fields[0] != "0" * 32 and fields[9] != "lo":
            try:
                dst = ipaddress.IPv6Network((int(fields[0], 16), int(fields[1], 16)), strict=False)
            except ValueError:
                continue
            routes.append((fields[9], str(dst), None))
    return routes


def read_routes(fs, runner):
    """Unicast routes of every table through `ip` (the main table of /proc/net added); /proc/net alone without ip."""
    routes = proc_routes(fs)
    if not runner.has("ip"):
        return routes
    for args in ROUTE_QUERIES:
        rc, out, _err = runner.run("ip", args, check=False)
        parsed = parse_routes(out) if rc == 0 else None
        routes.extend(parsed or [])
    return routes


def default_routes(routes):
    """{dev: reason} of the devices holding a default route, naming a table other than main."""
    reasons = {}
    for dev, dst, table in routes:
        if dst == "default" and (dev not in reasons or table is None):
            reasons[dev] = "default route" if table is None else "default route (table %s)" % table
    return reasons


# -- Open vSwitch ------------------------------------------------------------------------------------
def ovs_interfaces(runner, db=None):
    """({interface: {bridge, type, peer}}, None) from OVSDB in one transaction, or ({}, why) when it cannot be read."""
    ovsdb = OvsDb(runner, db)
    if not ovsdb.installed:
        return {}, "ovs-vsctl is not installed"
    try:
        bridges, ports, ifaces = list_tables(ovsdb, [("Bridge", ["name", "ports"], None),
                                                     ("Port", ["_uuid", "interfaces"], None),
                                                     ("Interface", ["_uuid", "name", "type", "options"], None)])
    except (NfvError, ValueError, KeyError, TypeError) as exc:
        return {}, " ".join(vsctl_error(exc, db).split())
    port_ifaces = dict((p["_uuid"], as_list(p.get("interfaces"))) for p in ports)
    iface_rows = dict((i["_uuid"], i) for i in ifaces)
    result = {}
    for bridge in bridges:
        for port in as_list(bridge.get("ports")):
            for uuid in port_ifaces.get(port, []):
                row = iface_rows.get(uuid) or {}
                if row.get("name"):
                    result[row["name"]] = {"bridge": bridge["name"], "type": row.get("type") or "",
                                           "peer": (row.get("options") or {}).get("peer")}
    return result, None


def as_list(value):
    """An OVSDB set column with one member comes back as a bare value."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def ovs_bridge_group(interfaces, bridge):
    """The bridges joined to `bridge` by patch ports (it included)."""
    group, pending = {bridge}, [bridge]
    while pending:
        current = pending.pop()
        for info in interfaces.values():
            if info["bridge"] == current and info["type"] == "patch" and info["peer"] in interfaces:
                other = interfaces[info["peer"]]["bridge"]
                if other not in group:
                    group.add(other)
                    pending.append(other)
    return group


def ovs_members(interfaces, name):
    """[(interface, via)] of the kernel netdevs on the OVS bridge(s) of interface `name`."""
    if name not in interfaces:
        return []
    bridge = interfaces[name]["bridge"]
    group = ovs_bridge_group(interfaces, bridge)
    members = []
    for other, info in sorted(interfaces.items()):
        if other != name and info["type"] in OVS_KERNEL_TYPES and info["bridge"] in group:
            via = "OVS bridge %s" % bridge
            if info["bridge"] != bridge:
                via += ", patched to %s" % info["bridge"]
            members.append((other, via))
    return members


# -- the view ----------------------------------------------------------------------------------------
def master_of(fs, name):
    return fs.link_name("%s/%s/master" % (NET_ROOT, name))


def upper_devices(fs, name):
    """Devices stacked directly on `name`: its master (bond, bridge, VRF) and its other uppers (VLAN, macvlan)."""
    uppers = [entry[len("upper_"):] for entry in fs.listdir("%s/%s" % (NET_ROOT, name)) if entry.startswith("upper_")]
    master = master_of(fs, name)
    return ([master] if master and master not in uppers else []) + uppers


def is_up(fs, name):
    """Up: operstate up, or unknown (virtual devices that report none) with IFF_UP set."""
    state = fs.read("%s/%s/operstate" % (NET_ROOT, name))
    flags = fs.read_int("%s/%s/flags" % (NET_ROOT, name), 0, base=16)
    return state == "up" or (state == "unknown" and bool(flags & 1))


def relation(fs, lower, upper):
    if fs.isdir("%s/%s/bridge" % (NET_ROOT, upper)):
        return "a port of bridge %s" % upper
    if fs.isdir("%s/%s/bonding" % (NET_ROOT, upper)):
        return "a slave of bond %s" % upper
    if master_of(fs, lower) == upper:
        return "a slave of %s" % upper
    return "under %s" % upper


class HostNetwork:
    """What the guard reads (addresses, routes of every table, OVSDB) and why a device may not leave its driver."""

    def __init__(self, fs, addresses, routes, ovs, ovs_error, conn_address):
        self.fs = fs
        self.addresses = addresses
        self.routes = routes
        self.ovs = ovs
        self.ovs_error = ovs_error
        self.management = netdev.management_interfaces(fs, addresses, conn_address, default_routes(routes),
                                                       lambda name: ovs_members(ovs, name))

    def traffic(self, name):
        """'addresses A' / 'routes R' a device carries (link-local ones aside), or None."""
        addrs = [a for a in self.addresses.get(name) or [] if not is_link_local(a)]
        if addrs:
            return "addresses %s" % ", ".join(addrs)
        routes = sorted(set(dst + ("" if table is None else " (table %s)" % table)
                            for dev, dst, table in self.routes if dev == name and route_carries_traffic(dst)))
        return ("routes %s" % ", ".join(routes)) if routes else None

    def upper_reasons(self, name):
        """Why the devices stacked on `name` (all the way up) need it: up with addresses or routes."""
        reasons, seen, pending = [], {name}, [(upper, name, None) for upper in upper_devices(self.fs, name)]
        while pending:
            upper, lower, through = pending.pop(0)
            if upper in seen:
                continue
            seen.add(upper)
            traffic = self.traffic(upper)
            if traffic and is_up(self.fs, upper):
                how = relation(self.fs, lower, upper) if through is None else "under %s (through %s)" % (upper, through)
                reasons.append("%s is %s, which is up with %s" % (name, how, traffic))
            pending += [(above, upper, through or upper) for above in upper_devices(self.fs, upper)]
        return reasons

    def ovs_unknown(self, name):
        """The conservative refusal: `name` is on the OVS kernel datapath, management rides one of its ports and
        OVSDB cannot say which bridge is which."""
        if self.ovs_error is None or master_of(self.fs, name) != OVS_DATAPATH:
            return None
        riding = sorted(m for m in self.management if master_of(self.fs, m) == OVS_DATAPATH)
        if not riding:
            return None
        return ("%s is a port of the OVS kernel datapath (master %s) and management traffic rides OVS port %s, but "
                "OVSDB cannot be read (%s), so whether %s is on that bridge is unknown: start ovsdb-server, or "
                "force=true" % (name, OVS_DATAPATH, ", ".join(riding), self.ovs_error, name))

    def reasons(self, device):
        """Why binding `device` away from its kernel driver may cut the host off (empty: safe)."""
        reasons = []
        for name in device.get("netdevs") or []:
            if name in self.management:
                reasons.append("%s carries management traffic: %s" % (name, self.management[name]))
                continue
            unknown = self.ovs_unknown(name)
            if unknown:
                reasons.append(unknown)
            addrs = [a for a in self.addresses.get(name) or [] if not is_link_local(a)]
            if netdev.read_link(self.fs, name).get("operstate") == "up" and addrs:
                reasons.append("%s is up with addresses %s" % (name, ", ".join(addrs)))
            reasons += self.upper_reasons(name)
        return reasons


def read_network(fs, runner, conn_address, ovs_db=None):
    """The guard's reading of the host (read phase): addresses, routes of every table, OVSDB's bridges.

    `ovs_db` is an ovsdb-server remote (unix:/path); the system's by default."""
    addresses = netdev.read_addresses(runner)
    ovs, ovs_error = ovs_interfaces(runner, ovs_db)
    return HostNetwork(fs, addresses, read_routes(fs, runner), ovs, ovs_error, conn_address)
