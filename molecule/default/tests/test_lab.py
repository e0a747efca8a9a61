"""What the provisioned lab must show: guests running, OVS ports up and carrying
packets, the guests' pings answered, the pools reserved as described."""

import json
import os
import time

import pytest

GUESTS = {"vm1": "vhu-vm1", "vm2": "vhu-vm2"}
PING_OK = "nfv-guest: ping ok"


def ovs_get(host, table, record, column):
    return host.check_output("ovs-vsctl --format=json get %s %s %s" % (table, record, column))


# what each release the scenario runs on has (scripts/test runs it with NFV_LAB_SUITE=trixie and =bookworm)
RELEASES = {
    "trixie": {"version_id": "13", "ovs": "3.5.", "dpdk": "DPDK 24.11.", "libs": "25", "idle_key": "pmd-sleep-max"},
    "bookworm": {"version_id": "12", "ovs": "3.1.", "dpdk": "DPDK 22.11.", "libs": "23", "idle_key": "pmd-maxsleep"},
}
SUITE = os.environ.get("NFV_LAB_SUITE") or "trixie"


def test_the_lab_runs_the_release_under_test(host):
    release = RELEASES[SUITE]
    os_release = host.file("/etc/os-release").content_string
    assert 'VERSION_ID="%s"' % release["version_id"] in os_release
    assert "VERSION_CODENAME=%s" % SUITE in os_release
    assert json.loads(ovs_get(host, "Open_vSwitch", ".", "ovs_version")).startswith(release["ovs"])
    assert json.loads(ovs_get(host, "Open_vSwitch", ".", "dpdk_version")).startswith(release["dpdk"])
    for library in ("librte-mempool-ring", "librte-net-vhost"):
        assert host.package(library + release["libs"]).is_installed
    # the lab description's pmd-maxsleep, under the name this OVS reads; the other name is not left behind
    idle = dict((key, host.check_output("ovs-vsctl --if-exists get Open_vSwitch . other_config:%s" % key).strip('"'))
                for key in ("pmd-maxsleep", "pmd-sleep-max"))
    assert idle == dict({"pmd-maxsleep": "", "pmd-sleep-max": ""}, **{release["idle_key"]: "10000"}), idle
    qemu = host.check_output("qemu-system-x86_64 --version").splitlines()[0]
    assert "version 10." in qemu, qemu


def test_ovs_dpdk_initialized(host):
    assert host.service("openvswitch-switch").is_enabled
    assert host.check_output("ovs-vsctl get Open_vSwitch . dpdk_initialized") == "true"
    assert host.check_output("ovs-vsctl get Bridge br-lab datapath_type") == "netdev"


@pytest.mark.parametrize("guest", sorted(GUESTS))
def test_guest_unit_active(host, guest):
    service = host.service("nfv-qemu-%s.service" % guest)
    assert service.is_running
    assert service.is_enabled


@pytest.mark.parametrize("guest", sorted(GUESTS))
def test_guest_pinged_its_peer(host, guest):
    log = host.file("/var/log/nfv-qemu/%s/serial.log" % guest)
    deadline = time.time() + 240
    while time.time() < deadline and not (log.exists and PING_OK in log.content_string):
        time.sleep(5)
    assert log.exists, "no serial log for %s" % guest
    assert PING_OK in log.content_string, log.content_string[-2000:]


@pytest.mark.parametrize("port", sorted(GUESTS.values()))
def test_vhost_port_up_with_traffic(host, port):
    assert host.check_output("ovs-vsctl get Interface %s link_state" % port) == "up"
    assert host.check_output("ovs-vsctl get Interface %s error" % port) in ("[]", '""')
    stats = json.loads(host.check_output("ovs-vsctl --format=json --data=json --columns=statistics list Interface %s"
                                         % port))["data"][0][0][1]
    stats = dict(stats)
    assert stats["rx_packets"] > 0 and stats["tx_packets"] > 0, stats


def test_hugepages_reserved(host):
    assert int(host.file("/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages").content_string) == 640
    mounts = host.check_output("findmnt -n -t hugetlbfs -o TARGET,OPTIONS")
    assert "/dev/hugepages2M" in mounts and "pagesize=2M" in mounts


def _lab_description():
    import os

    import yaml

    path = os.path.join(os.path.dirname(__file__), "..", "..", "..", "inventory", "lab", "host_vars", "nfv-lab.yml")
    with open(path) as handle:
        return yaml.safe_load(handle)


def test_vcpu_pins_applied_by_the_unit(host):
    """vm1's unit starts QEMU on CPUs 0-1; its ExecStartPost= pin step moved every thread to CPU 0."""
    pid = host.check_output("systemctl show -P MainPID nfv-qemu-vm1.service")
    tids = host.check_output("ls /proc/%s/task" % pid).split()
    seen = {}
    for tid in tids:
        name = host.check_output("cat /proc/%s/task/%s/comm" % (pid, tid))
        cpus = host.check_output("awk '/^Cpus_allowed_list/ {print $2}' /proc/%s/task/%s/status" % (pid, tid))
        seen[tid] = (name, cpus)
    assert any(name.startswith("CPU 0/") for name, _cpus in seen.values()), seen
    assert all(cpus == "0" for _name, cpus in seen.values()), seen
    assert "ExecStartPost=" in host.file("/etc/systemd/system/nfv-qemu-vm1.service").content_string


def test_cpu_layout_post_converge_check_finds_no_conflict(host):
    """nfv.dpdk.cpu_layout check_running: no rx queue across NUMA nodes, no guest thread off its CPUs or pins."""
    desc = _lab_description()
    args = {"ovs": desc["host_ovs"], "vms": desc["host_vms"], "hugepages": desc["host_hugepages"],
            "field_prefix": "host_", "check_running": True}
    result = host.ansible("nfv.dpdk.cpu_layout", json.dumps(args), check=True)
    running = result["running"]
    assert running["conflicts"] == [], running
    assert sorted(running["guests"]) == ["vm1", "vm2"], running
    assert running["pmds"] and sorted(q["port"] for p in running["pmds"] for q in p["rxqs"]) == sorted(
        GUESTS.values()), running
    vm1 = running["guests"]["vm1"]
    assert list(vm1["vcpus"].values()) == [0] and all(vm1["threads"][t] == [0] for t in vm1["vcpus"]), vm1
