# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A netdev bridge's underlay in the kernel: the addresses and routes of its internal port (a tap device
ovs-vswitchd creates), read and set with `ip` in the network namespace ovs-vswitchd runs in, and checked in
OVS's own route table (`ovs-appctl ovs/route/show`), which ovs-vswitchd fills from the kernel's.

The routes this collection sets carry the routing protocol number ROUTE_PROTOCOL, so that it only ever
removes its own; every global address of the internal port is the underlay's (the bridge is the owner's).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import json
import os
import time

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.core.runner import CommandError
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.ovsdb import daemon_pid

# rtnetlink's protocol field of the routes nfv.dpdk sets (186-189 and 192 are BGP, IS-IS, OSPF, RIP, EIGRP).
ROUTE_PROTOCOL = "190"
# Bridge external_ids key holding the wanted underlay (JSON), for the checks of other bridges and for drift.
UNDERLAY_KEY = "nfv-dpdk-underlay"
ROUTE_WAIT = 5.0  # seconds ovs-vswitchd gets to mirror a kernel route into its own table


def output_text(data):
    return data.decode("utf-8", "replace") if isinstance(data, bytes) else (data or "")


def netns_prefix(rundir):
    """nsenter arguments into ovs-vswitchd's network namespace when it is not ours (a lab, a container)."""
    pid, alive = daemon_pid(rundir, "ovs-vswitchd")
    if not alive:
        return []
    try:
        theirs, ours = os.readlink("/proc/%d/ns/net" % pid), os.readlink("/proc/self/ns/net")
    except OSError:
        return []
    return [] if theirs == ours else ["--net=/proc/%d/ns/net" % pid, "--"]


class UnderlayKernel:
    """`ip` and `ovs-appctl` for one bridge's internal port."""

    def __init__(self, runner, bridge, rundir):
        self.runner = runner
        self.bridge = bridge
        self.rundir = rundir
        self.prefix = netns_prefix(rundir)

    def ip(self, args, check=True):
        if self.prefix:
            return self.runner.run("nsenter", self.prefix + ["ip"] + args, check=check)
        return self.runner.run("ip", args, check=check)

    def ip_json(self, args):
        rc, out, err = self.ip(["-j"] + args, check=False)
        if rc != 0:
            return None, output_text(err).strip()
        text = output_text(out).strip()
        return json.loads(text) if text else [], ""

    def read(self):
        """{up, addresses, routes} of the internal port, or None when the device does not exist (yet)."""
        links, _err = self.ip_json(["addr", "show", "dev", self.bridge])
        if not links:
            return None
        addresses = sorted("%s/%s" % (a["local"], a["prefixlen"]) for a in links[0].get("addr_info") or []
                           if a.get("scope") == "global" and a.get("family") in ("inet", "inet6"))
        routes = []
        for family in ("-4", "-6"):
            rows, _err = self.ip_json([family, "route", "show", "table", "main", "dev", self.bridge,
                                       "proto", ROUTE_PROTOCOL])
            for row in rows or []:
                dest = row.get("dst")
                if dest == "default":
                    dest = "0.0.0.0/0" if family == "-4" else "::/0"
                elif "/" not in dest:
                    dest += "/32" if family == "-4" else "/128"
                routes.append({"dest": dest, "gateway": row.get("gateway")})
        return {"up": "UP" in (links[0].get("flags") or []), "addresses": addresses,
                "routes": sorted(routes, key=lambda r: r["dest"])}

    def apply(self, current, wanted):
        """Bring the internal port from `current` to `wanted`; raise NfvError naming the step that failed."""
        current = current or {"up": False, "addresses": [], "routes": []}
        steps = []
        if wanted["addresses"] and not current["up"]:
            steps.append(["link", "set", "dev", self.bridge, "up"])
        for address in current["addresses"]:
            if address not in wanted["addresses"]:
                steps.append(["addr", "del", address, "dev", self.bridge])
        for address in wanted["addresses"]:
            if address not in current["addresses"]:
                steps.append(["addr", "add", address, "dev", self.bridge])
        wanted_dests = dict((r["dest"], r["gateway"]) for r in wanted["routes"])
        for route in current["routes"]:
            if route["dest"] not in wanted_dests:
                steps.append(["route", "del", route["dest"], "dev", self.bridge, "proto", ROUTE_PROTOCOL])
        for route in wanted["routes"]:
            if route not in current["routes"]:
                steps.append(["route", "replace", route["dest"], "via", route["gateway"], "dev", self.bridge,
                              "proto", ROUTE_PROTOCOL])
        for step in steps:
            try:
                self.ip(step)
            except CommandError as exc:
                raise NfvError("underlay of bridge %s: `ip %s` failed: %s; a rerun converges what is left"
                               % (self.bridge, " ".join(step), output_text(exc.stderr).strip() or exc.rc),
                               cmd=exc.argv, rc=exc.rc) from exc

    def ovs_routes(self):
        """The lines of OVS's route table (ovs-appctl ovs/route/show)."""
        target = os.path.join(self.rundir, "ovs-vswitchd.ctl") if self.rundir else None
        args = ["-t", target] if target and os.path.exists(target) else []
        rc, out, err = self.runner.run("ovs-appctl", args + ["ovs/route/show"], check=False,
                                       env={"OVS_RUNDIR": self.rundir} if self.rundir else None)
        if rc != 0:
            raise NfvError("ovs-appctl ovs/route/show failed: %s" % output_text(err or out).strip())
        return output_text(out).splitlines()

    def missing_in_ovs(self, wanted):
        """What of `wanted` OVS's route table does not show (yet) for this bridge."""
        missing = []
        deadline = time.time() + ROUTE_WAIT
        while True:
            lines = [line.split(":", 1)[-1].split() for line in self.ovs_routes()]
            entries = [(words[0], words[words.index("GW") + 1] if "GW" in words else None)
                       for words in lines if len(words) > 2 and words[1:3] == ["dev", self.bridge]]
            subnets = [str(ipaddress.ip_interface(a).network) for a in wanted["addresses"]]
            missing = (["%s (subnet of the underlay)" % s for s in subnets if (s, None) not in entries]
                       + ["%s via %s" % (r["dest"], r["gateway"]) for r in wanted["routes"]
                          if (r["dest"], r["gateway"]) not in entries])
            if not missing or time.time() > deadline:
                return missing
            time.sleep(0.2)
