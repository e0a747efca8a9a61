# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Assembles host_facts from the per-domain readers."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.core.runner import output_text
from ansible_collections.nfv.dpdk.plugins.module_utils.core.systemd_unit import Systemd
from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.pmd_rxq_show import parse_pmd_rxq_show
from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.topology import current_layout
from ansible_collections.nfv.dpdk.plugins.module_utils.host import hugepages, kernel, netdev, numa, pci, release
from ansible_collections.nfv.dpdk.plugins.module_utils.host.packages import read_packages
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.ovsdb import OvsDb, rundir_of
from ansible_collections.nfv.dpdk.plugins.module_utils.pci.mgmt_guard import default_routes, read_network


def nic_facts(fs, devices, addresses, management, routes=None):
    """Network-class PCI devices with their interface state and management role.

    `routes`: the interfaces with a default route in any table (mgmt_guard); the main table's by default."""
    routes = netdev.default_route_interfaces(fs) if routes is None else routes
    nics = []
    for device in devices:
        if not device["is_network"]:
            continue
        nic = dict((k, v) for k, v in device.items() if k not in ("is_network", "is_bridge"))
        names = device["netdevs"]
        nic["interface"] = names[0] if names else None
        link = netdev.read_link(fs, names[0]) if names else {}
        nic["operstate"] = link.get("operstate")
        nic["link"] = link.get("operstate") == "up" or (link.get("carrier") == 1)
        nic["mac"] = link.get("mac")
        nic["addresses"] = sorted(a for name in names for a in addresses.get(name, []))
        nic["default_route"] = any(name in routes for name in names)
        reasons = [management[name] for name in names if name in management]
        nic["connection"] = any(r.startswith("ansible connection") for r in reasons)
        nic["management"] = bool(reasons)
        nic["management_reason"] = "; ".join(reasons) or None
        nics.append(nic)
    return nics


def layout_facts(fs):
    """The part of the facts a CPU layout is checked against: CPUs, NUMA nodes, PCI devices, pools."""
    return {
        "cpu": kernel.read_cpu(fs),
        "numa": {"nodes": numa.read_nodes(fs)},
        "nics": [d for d in pci.read_devices(fs) if d["is_network"]],
        "hugepages": {"pools": hugepages.read_pools(fs)},
    }


def running_layout(fs, runner, guests, ovs_db=None):
    """Where OVS polls (pmd-rxq-show, each port's NUMA node) and where the guests' threads may run.

    `guests` is [(name, unit)]; a guest without a running unit is left out.
    """
    state = {"pmds": [], "port_nodes": {}, "guests": {}, "notes": []}
    ovsdb = OvsDb(runner, db=ovs_db)
    if ovsdb.installed and ovsdb.reachable()[0] and runner.has("ovs-appctl"):
        rundir = rundir_of(ovs_db)
        # a fixed control socket (--unixctl) first, else the one named by ovs-vswitchd's pidfile
        target = rundir + "/ovs-vswitchd.ctl" if rundir and fs.exists(rundir + "/ovs-vswitchd.ctl") else "ovs-vswitchd"
        rc, out, err = runner.run("ovs-appctl", ["-t", target, "dpif-netdev/pmd-rxq-show"], check=False,
                                  env={"OVS_RUNDIR": rundir} if rundir else None)
        out, err = output_text(out), output_text(err)
        if rc == 0:
            state["pmds"] = parse_pmd_rxq_show(out)
        else:
            state["notes"].append("ovs-appctl dpif-netdev/pmd-rxq-show failed: %s" % (err or out).strip())
        nodes = dict((d["address"], d["numa_node"]) for d in pci.read_devices(fs))
        try:
            rows = ovsdb.list_table("Interface", ["name", "status", "options"])
        except (NfvError, ValueError) as exc:
            rows = []
            state["notes"].append("Interface table not read: %s" % exc)
        for row in rows:
            status, options = row.get("status") or {}, row.get("options") or {}
            node = status.get("numa_id")
            if node not in (None, "", "-1") and str(node).isdigit():
                state["port_nodes"][row["name"]] = int(node)
            elif options.get("dpdk-devargs"):
                address = pci.normalize_address(str(options["dpdk-devargs"]).split(",", maxsplit=1)[0])
                if nodes.get(address) is not None:
                    state["port_nodes"][row["name"]] = nodes[address]
    else:
        state["notes"].append("Open vSwitch is not running here: no PMD to check")
    systemd = Systemd(runner)
    if guests and not systemd.available()[0]:
        state["notes"].append("no systemd here: guests' threads not checked")
        guests = []
    for name, unit in guests:
        pid = systemd.state(unit)["main_pid"]
        if not pid:
            continue
        threads = dict((tid, kernel.read_cpus_allowed(fs, "%d/task/%s" % (pid, tid)))
                       for tid in fs.listdir("/proc/%d/task" % pid) if tid.isdigit())
        state["guests"][name] = {"pid": pid, "threads": threads}
    return state


def gather(fs, runner, connection_address=None, ovs_db=None):
    params = kernel.parse_cmdline(fs.read("/proc/cmdline", ""))
    network = read_network(fs, runner, connection_address, ovs_db)  # the management guard's reading
    addresses, management = network.addresses, network.management
    nodes = numa.read_nodes(fs)
    default_kb = hugepages.default_size_kb(fs)
    cpu = kernel.read_cpu(fs)
    result = {
        "os": release.read_os(fs),
        "packages": read_packages(fs),
        "numa": {"available": bool(nodes), "nodes": nodes},
        "hugepages": {
            "sizes": [hugepages.kb_to_label(s) for s in hugepages.supported_sizes_kb(fs)],
            "default_size": hugepages.kb_to_label(default_kb) if default_kb else None,
            "pools": hugepages.read_pools(fs),
            "mounts": hugepages.read_mounts(fs),
        },
        "nics": nic_facts(fs, pci.read_devices(fs), addresses, management, set(default_routes(network.routes))),
        "management_interfaces": sorted(management),
        "iommu": kernel.read_iommu(fs, params, cpu["vendor"]),
        "kernel": {"cmdline": fs.read("/proc/cmdline", ""), "params": params,
                   "release": fs.read("/proc/sys/kernel/osrelease")},
        "cpu": cpu,
        "kvm": {"device": kernel.kvm_available(fs)},
        "ovs": OvsDb(runner, db=ovs_db).facts(),
    }
    result["cpu_layout"] = current_layout(result, params)
    return result
