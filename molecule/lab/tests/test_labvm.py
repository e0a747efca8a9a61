"""What the provisioned lab VM must show, after converge and again after a reboot: the kernel
arguments in effect, per-node pools, NICs on vfio-pci in their own IOMMU groups, an OVS-DPDK
dpdk port on one of them with link up, and refusals for the management NIC and a split group;
SR-IOV VFs with their settings, one VF on vfio-pci and OVS-DPDK, and bad input refused; the PMD on the
NUMA node of the DPDK NIC, and an rxq polled across nodes reported."""

import json
import os
import time

import pytest

BY_ADDRESS = "0000:00:03.0"  # bound by address, the OVS dpdk port
BY_NAME = "0000:00:04.0"  # bound by interface name (enp0s4)
MANAGEMENT = "0000:00:02.0"  # virtio-net, SSH
SPLIT = ("0000:00:06.0", "0000:00:06.1")  # two functions of one e1000, one IOMMU group
NODE_2M = "/sys/devices/system/node/node%d/hugepages/hugepages-2048kB/nr_hugepages"


def wait_for(probe, timeout=300, step=5):
    """The probe's last value, retried until it is truthy (services settle slowly under TCG)."""
    deadline = time.time() + timeout
    value = probe()
    while not value and time.time() < deadline:
        time.sleep(step)
        value = probe()
    return value


def driver(host, address):
    link = host.file("/sys/bus/pci/devices/%s/driver" % address)
    return os.path.basename(link.linked_to) if link.exists else None


def iommu_group(host, address):
    return os.path.basename(host.file("/sys/bus/pci/devices/%s/iommu_group" % address).linked_to)


def test_kernel_arguments_in_effect(host):
    cmdline = host.file("/proc/cmdline").content_string.split()
    for arg in ("intel_iommu=on", "iommu=pt", "hugepagesz=1G", "hugepages=1"):
        assert arg in cmdline, cmdline
    # written by update-grub, so they are there at every boot
    grub = host.file("/boot/grub/grub.cfg").content_string
    assert "intel_iommu=on" in grub and "hugepagesz=1G" in grub


def grub_entries(host):
    """The words of two `linux` lines of /boot/grub/grub.cfg: the first one (the default entry, GRUB_DEFAULT=0)
    and the first one of a recovery menuentry ("... (recovery mode)", id 'gnulinux-VERSION-recovery-UUID');
    None for a line that is not there."""
    default = recovery = None
    in_recovery = False
    for line in host.file("/boot/grub/grub.cfg").content_string.splitlines():
        words = line.split()
        if words and words[0] == "menuentry":
            in_recovery = "(recovery mode)" in line or "-recovery-" in line
        elif words and words[0] == "linux":
            default = words[2:] if default is None else default
            if in_recovery and recovery is None:
                recovery = words[2:]
    return default, recovery


def test_recovery_entry_boots_without_the_collections_arguments(host):
    """The collection's arguments are in GRUB_CMDLINE_LINUX_DEFAULT, which Debian's GRUB gives the normal entries
    only: the default entry has them, the first "(recovery mode)" entry none (issue 27), so a reservation that
    does not boot can be booted around."""
    dropin = host.file("/etc/default/grub.d/99-nfv-dpdk.cfg").content_string
    line = dropin.strip().splitlines()[-1]
    assert line.startswith('GRUB_CMDLINE_LINUX_DEFAULT="$GRUB_CMDLINE_LINUX_DEFAULT '), dropin
    assert "GRUB_CMDLINE_LINUX=" not in dropin, dropin
    ours = line.split('"')[1].split()[1:]
    default, recovery = grub_entries(host)
    assert default is not None and recovery is not None, (default, recovery)
    for arg in ("hugepagesz=1G", "hugepages=1", "intel_iommu=on", "isolcpus=domain,managed_irq,1"):
        assert arg in ours and arg in default, (arg, ours, default)
    assert not [w for w in recovery if w.split("=")[0] in ("hugepagesz", "hugepages", "default_hugepagesz")], recovery
    assert not set(ours) & set(recovery), (ours, recovery)


def test_two_numa_nodes_with_their_pools(host):
    for node in (0, 1):
        assert host.file("/sys/devices/system/node/node%d/cpulist" % node).content_string.strip() == str(node)
        assert int(host.file(NODE_2M % node).content_string) == 256
    assert int(host.file("/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages").content_string) == 1
    mounts = host.check_output("findmnt -n -t hugetlbfs -o OPTIONS")
    assert "pagesize=2M" in mounts and "pagesize=1024M" in mounts, mounts


@pytest.mark.parametrize("address", [BY_ADDRESS, BY_NAME])
def test_nic_bound_to_vfio_in_its_own_group(host, address):
    assert driver(host, address) == "vfio-pci"
    group = iommu_group(host, address)
    members = host.check_output("ls /sys/kernel/iommu_groups/%s/devices" % group).split()
    assert members == [address]
    assert host.run("test -c /dev/vfio/%s" % group).rc == 0, "no /dev/vfio/%s" % group
    # persistent: the binding is an override that udev applies at boot
    assert host.file("/etc/driverctl.d/pci-%s" % address).exists or \
        address in host.check_output("driverctl list-overrides")


def test_other_nics_stay_with_the_kernel(host):
    assert driver(host, MANAGEMENT) == "virtio-pci"
    assert [driver(host, a) for a in SPLIT] == ["e1000", "e1000"]
    assert iommu_group(host, SPLIT[0]) == iommu_group(host, SPLIT[1])


def test_dpdk_port_on_vfio_nic_is_up(host):
    assert host.service("openvswitch-switch").is_enabled
    assert wait_for(lambda: host.run("ovs-vsctl get Open_vSwitch . dpdk_initialized").stdout.strip() == "true")
    row = json.loads(host.check_output(
        "ovs-vsctl --format=json --data=json --columns=type,error,link_state,options list Interface dpdk-p0"))
    assert row["data"][0][0] == "dpdk"
    assert row["data"][0][1] == ["set", []], row  # no Interface.error
    assert wait_for(lambda: host.run("ovs-vsctl get Interface dpdk-p0 link_state").stdout.strip() == "up")
    assert host.check_output("ovs-vsctl get Bridge br-phy datapath_type") == "netdev"


def refusal(host, address, driver="vfio-pci"):
    """Bind one device to a driver for real (no check mode) and return the module's message. testinfra
    raises on a failed result only when the result says `failed` (its --tree output may not), so the
    refusal is judged by the message and by the drivers, which the callers check."""
    try:
        result = host.ansible("nfv.dpdk.pci_driver", "devices=%s driver=%s" % (address, driver), check=False)
    except host.ansible.AnsibleException as failure:
        result = failure.result
    assert not result.get("changed"), result
    return result.get("msg", "")


def test_management_nic_refused_without_force(host):
    msg = refusal(host, MANAGEMENT)
    assert "management" in msg, msg
    assert driver(host, MANAGEMENT) == "virtio-pci"


def test_split_group_refused(host):
    msg = refusal(host, SPLIT[0])
    assert "not viable" in msg and SPLIT[1] in msg, msg
    assert [driver(host, a) for a in SPLIT] == ["e1000", "e1000"]


def test_nic_ovs_holds_not_handed_back_to_the_kernel(host):
    """ovs-vswitchd holds the dpdk port's vfio group: the kernel's unbind would wait for it, so it is refused."""
    msg = refusal(host, BY_ADDRESS, driver="kernel")
    assert "%s: IOMMU group %s (/dev/vfio/%s) is open by ovs-vswitchd" % (
        BY_ADDRESS, iommu_group(host, BY_ADDRESS), iommu_group(host, BY_ADDRESS)) in msg, msg
    assert driver(host, BY_ADDRESS) == "vfio-pci"


def test_cpu_layout_of_host_cpu_in_effect(host):
    """host_cpu {housekeeping_cores: {0: 1, 1: 0}, pmd_cores: 1}: CPU 0 housekeeping, CPU 1 the PMD."""
    cmdline = host.file("/proc/cmdline").content_string.split()
    for arg in ("isolcpus=domain,managed_irq,1", "nohz_full=1", "rcu_nocbs=1", "irqaffinity=0"):
        assert arg in cmdline, cmdline
    assert host.file("/sys/devices/system/cpu/isolated").content_string.strip() == "1"
    assert host.file("/sys/devices/system/cpu/nohz_full").content_string.strip() == "1"
    dropin = host.file("/etc/systemd/system.conf.d/60-nfv-dpdk-cpu-affinity.conf").content_string
    assert "CPUAffinity=0" in dropin.splitlines()
    status = host.file("/proc/1/status").content_string
    assert "Cpus_allowed_list:\t0" in status.splitlines()
    assert host.check_output("ovs-vsctl get Open_vSwitch . other_config:pmd-cpu-mask").strip('"') == "0x2"
    assert host.check_output("ovs-vsctl get Open_vSwitch . other_config:dpdk-lcore-mask").strip('"') == "0x1"
    rxq = wait_for(lambda: "dpdk-p0" in host.run("ovs-appctl dpif-netdev/pmd-rxq-show").stdout
                   and host.run("ovs-appctl dpif-netdev/pmd-rxq-show").stdout)
    assert "core_id 1:" in rxq and "dpdk-p0" in rxq, rxq


NODE1_NIC = "0000:81:00.0"  # e1000e behind a PCIe expander bridge on NUMA node 1, the OVS dpdk port dpdk-n1


def running_layout(host):
    """nfv.dpdk.cpu_layout's running check: OVS's PMDs with their rxqs, each port's node, the findings."""
    return host.ansible("nfv.dpdk.cpu_layout", "check_running=true", check=False)["running"]


def pmd_polling(running, port):
    """(NUMA node, CPU) of the PMD that polls the port's queue 0, or None."""
    for pmd in running["pmds"]:
        if any(rxq["port"] == port and rxq["queue"] == 0 for rxq in pmd["rxqs"]):
            return pmd["numa"], pmd["core"]
    return None


def wait_for_pmd(host, port, where):
    """The running check once the port's queue 0 is polled by the PMD at `where` (node, CPU), or the last one."""
    seen = []

    def polled():
        seen.append(running_layout(host))
        return pmd_polling(seen[-1], port) == where
    wait_for(polled, timeout=120)
    return seen[-1]


def test_pmd_on_the_numa_node_of_the_dpdk_nic(host):
    """dpdk-n1's NIC sits on node 1: OVS reads that node, the PMD of host_cpu (CPU 1, node 1) polls it and the
    running check finds no rxq polled across nodes."""
    assert host.file("/sys/bus/pci/devices/%s/numa_node" % NODE1_NIC).content_string.strip() == "1"
    assert driver(host, NODE1_NIC) == "vfio-pci"
    assert host.check_output("ovs-vsctl get Interface dpdk-n1 status:numa_id").strip('"') == "1"
    running = wait_for_pmd(host, "dpdk-n1", (1, 1))
    assert pmd_polling(running, "dpdk-n1") == (1, 1), running["pmds"]
    assert running["port_nodes"]["dpdk-n1"] == 1
    assert running["conflicts"] == [], running["conflicts"]


def test_rxq_polled_across_numa_nodes_is_reported(host):
    """The PMD moved by hand to CPU 0 (node 0): OVS polls dpdk-n1's queue from the other node, and the running
    check names the port, its node and the PMD's. The mask is set back."""
    try:
        host.check_output("ovs-vsctl set Open_vSwitch . other_config:pmd-cpu-mask=0x1")
        running = wait_for_pmd(host, "dpdk-n1", (0, 0))
        assert pmd_polling(running, "dpdk-n1") == (0, 0), running["pmds"]
        finding = "port dpdk-n1 queue 0 sits on NUMA node 1 but is polled by the PMD on CPU 0 of node 0"
        assert any(c.startswith(finding) for c in running["conflicts"]), running["conflicts"]
    finally:
        host.check_output("ovs-vsctl set Open_vSwitch . other_config:pmd-cpu-mask=0x2")
    running = wait_for_pmd(host, "dpdk-n1", (1, 1))
    assert pmd_polling(running, "dpdk-n1") == (1, 1), running["pmds"]


# -- SR-IOV (issue 16) ------------------------------------------------------------------------------
PF = "0000:01:00.0"  # igb (82576), enp1s0
VFS = ["0000:01:10.0", "0000:01:10.2", "0000:01:10.4"]  # QEMU's igb: VF offset 0x80, stride 2


def vf_settings(host):
    return json.loads(host.check_output("ip -d -j link show dev enp1s0"))[0]["vfinfo_list"]


def numvfs(host):
    return int(host.file("/sys/bus/pci/devices/%s/sriov_numvfs" % PF).content_string)


def test_sriov_vfs_created_with_their_settings(host):
    assert numvfs(host) == 3
    links = [os.path.basename(host.file("/sys/bus/pci/devices/%s/virtfn%d" % (PF, i)).linked_to) for i in range(3)]
    assert links == VFS
    vfs = vf_settings(host)
    assert [vf["address"] for vf in vfs] == ["52:54:00:4e:01:00", "52:54:00:4e:01:01", "52:54:00:4e:01:02"]
    assert vfs[0]["vlan_list"] == [{"vlan": 100, "qos": 3}] and vfs[0]["trust"] is True
    assert vfs[0]["spoofchk"] is False
    assert vfs[1]["trust"] is False and vfs[1]["vlan_list"] in ([{}], [])
    assert vfs[2]["vlan_list"] == [{"vlan": 200}] or vfs[2]["vlan_list"] == [{"vlan": 200, "qos": 0}]
    # replayed at boot by the unit (after the reboot side effect this proves the persistence)
    assert host.service("nfv-dpdk-sriov.service").is_enabled
    assert host.file("/etc/nfv-dpdk/sriov.d/%s.conf" % PF).contains("^numvfs 3$")


def test_vf_on_vfio_in_its_own_group_and_on_ovs_dpdk(host):
    vf = VFS[1]
    assert driver(host, vf) == "vfio-pci"
    group = iommu_group(host, vf)
    assert host.check_output("ls /sys/kernel/iommu_groups/%s/devices" % group).split() == [vf]
    assert [driver(host, a) for a in (VFS[0], VFS[2])] == ["igbvf", "igbvf"]
    assert wait_for(lambda: host.run("ovs-vsctl get Interface dpdk-vf1 error").stdout.strip() == "[]"), \
        host.run("ovs-vsctl get Interface dpdk-vf1 error").stdout
    status = host.check_output("ovs-vsctl get Interface dpdk-vf1 status")
    assert "net_e1000_igb_vf" in status, status


def test_host_facts_name_each_vfs_pf_and_index(host):
    nics = host.ansible("nfv.dpdk.host_facts", check=False)["ansible_facts"]["nfv_dpdk"]["nics"]
    by_address = dict((nic["address"], nic) for nic in nics)
    assert by_address[PF]["vfs"] == VFS and by_address[PF]["sriov_totalvfs"] == 7
    assert [(by_address[vf]["physfn"], by_address[vf]["vf_index"]) for vf in VFS] == [(PF, 0), (PF, 1), (PF, 2)]


def sriov_refusal(host, args):
    """The module's message for a real (not check mode) run that must fail and change nothing (testinfra's
    result may lack `failed`, see refusal(): the message and the VFs read before and after decide)."""
    before = (numvfs(host), vf_settings(host))
    try:
        result = host.ansible("nfv.dpdk.sriov_vfs", json.dumps(args), check=False)
    except host.ansible.AnsibleException as failure:
        result = failure.result
    assert result.get("msg") and not result.get("changed"), result
    assert (numvfs(host), vf_settings(host)) == before
    return result.get("msg", "")


@pytest.mark.parametrize("args, message", [
    ({"pf": "enp1s0", "count": 8}, "supports at most 7 VFs (sriov_totalvfs); count 8 is more"),
    ({"pf": "0000:01:00.5", "count": 1}, "unknown PF: no PCI device at 0000:01:00.5"),
    ({"pf": "enp0s4x", "count": 1}, "unknown PF: no network interface enp0s4x"),
    ({"pf": "0000:00:06.0", "count": 1}, "has no SR-IOV capability"),
    ({"pf": "enp1s0", "count": 3, "vfs": [{"index": 3, "trust": True}]}, "VF index 3 is out of range"),
    ({"pf": "enp1s0", "count": 3, "vfs": [{"index": 0, "mac": "01:00:5e:00:00:01"}]}, "multicast"),
])
def test_sriov_bad_input_fails_and_changes_nothing(host, args, message):
    msg = sriov_refusal(host, args)
    assert message in msg, msg


def test_sriov_count_change_refused_while_a_vf_is_in_use(host):
    msg = sriov_refusal(host, {"pf": "enp1s0", "count": 2})
    assert "VF 1 (0000:01:10.2)" in msg and "OVS port dpdk-vf1" in msg and "ovs-vswitchd" in msg, msg


def test_sriov_unsupported_setting_quotes_the_driver_and_sets_back(host):
    """igb has no VF link state: VF 0's VLAN is set first, then VF 2's link state fails and VF 0 gets its VLAN back."""
    msg = sriov_refusal(host, {"pf": "enp1s0", "count": 3,
                               "vfs": [{"index": 0, "vlan": 300}, {"index": 2, "link_state": "enable"}]})
    assert "VF 2 link_state enable on enp1s0 failed" in msg and "Operation not supported" in msg, msg
    assert "set back: vf 0 vlan" in msg, msg
