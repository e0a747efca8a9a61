"""nfv.dpdk.qemu_vm's guest vIOMMU (iommu: true) on real QEMU and a real OVS-DPDK (issue 30).

Two guests (tests/guest_image.py, booted with intel_iommu=on) with the vIOMMU the module builds - q35's
intel-iommu with interrupt remapping, caching mode and a device IOTLB, each virtio NIC on a PCIe root port of its
own with iommu_platform=on,ats=on - are started as their units start them (guests.boot_guests) and joined by a
netdev bridge of a private OVS-DPDK with vhost-iommu-support, which the host role requires for such guests.

Proof, from both ends: each guest's kernel has IOMMU groups, its NIC's PCI device is in one, behind a root port,
and interrupts are remapped; its virtio driver negotiated VIRTIO_F_ACCESS_PLATFORM (the NIC's DMA goes through
the vIOMMU); OVS's vhost port reports the same feature; the guests ping each other, and both vhost queues of
each port count IOTLB misses and hits: the DPDK vhost library reached guest memory through the translations
QEMU's vIOMMU serves it (a packet that misses is dropped while QEMU answers, so the first pings may be lost).
"""

import os
import shutil

import pytest

import guest_image
from guests import boot_guests, hugepage_mount, run_root_under_run, serial, wait_for_pings
from guests import report as guest_report
from ovs_lab import ovs_lab_fixture

pytestmark = pytest.mark.component

ovs_lab = ovs_lab_fixture(other_config={"vhost-iommu-support": "true"})

GUESTS = {
    "nfvi-a": {"ip": "10.234.0.1/24", "peer": "10.234.0.2", "port": "vhu-nfvi-a"},
    "nfvi-b": {"ip": "10.234.0.2/24", "peer": "10.234.0.1", "port": "vhu-nfvi-b"},
}
VIRTIO_F_ACCESS_PLATFORM = 33  # a.k.a. VIRTIO_F_IOMMU_PLATFORM


@pytest.fixture(scope="module")
def run_root():
    if os.geteuid() != 0:
        pytest.skip("needs root")
    for tool in ("qemu-system-x86_64", "apt-get", "dpkg"):
        if shutil.which(tool) is None:
            pytest.skip("missing %s" % tool)
    with run_root_under_run("nfvi-") as path:
        yield path


def _mark(log, mark):
    line = next((line for line in serial(log).splitlines() if mark in line), "")
    return line.split(mark, 1)[1].split() if line else []


def test_guests_with_a_viommu_have_iommu_groups_and_ping_over_ovs_dpdk(ovs_lab, run_root, processes):
    guests = dict((name, dict(guest, iommu=True, kernel_args="intel_iommu=on")) for name, guest in GUESTS.items())
    with hugepage_mount(run_root, len(guests)) as mount:
        specs, logs = boot_guests(guests, guest_image.build(), run_root, mount, processes)
        args = ["add-br", "br-nfvi", "--", "set", "Bridge", "br-nfvi", "datapath_type=netdev"]
        for name, guest in guests.items():
            args += ["--", "add-port", "br-nfvi", guest["port"], "--", "set", "Interface", guest["port"],
                     "type=dpdkvhostuserclient", "options:vhost-server-path=%s" % specs[name]["nics"][0]["socket"]]
        ovs_lab.vsctl(*args)
        done = wait_for_pings(logs, processes, run_root)
        report = guest_report(logs)
        for name, guest in guests.items():
            assert guest_image.MARK_PING_OK + " " + guest["peer"] in done.get(name, ""), report
            iommu = dict(zip(*[iter(_mark(logs[name], guest_image.MARK_IOMMU))] * 2))
            assert int(iommu["groups"]) > 0 and iommu["nic-group"], report  # the NIC is in an IOMMU group
            assert int(iommu["irq-remapping"]) > 0, report  # intremap=on: DMAR-IR enabled
            assert not iommu["pci"].startswith("0000:00:"), report  # behind its PCIe root port, not on pcie.0
            features = _mark(logs[name], guest_image.MARK_NIC)[-1]
            assert features[VIRTIO_F_ACCESS_PLATFORM] == "1", report  # the driver maps its DMA through the vIOMMU

        ports = [row for row in ovs_lab.list_table("Interface") if row["name"] in [g["port"] for g in guests.values()]]
        assert len(ports) == 2
        for row in ports:
            status, stats = dict(row["status"][1]), dict(row["statistics"][1])
            assert int(status["features"], 16) >> VIRTIO_F_ACCESS_PLATFORM & 1, status  # the backend's side
            # DPDK's vhost library translated the guest's I/O addresses: misses it asked QEMU about, then hits
            for queue in ("rx_q0", "tx_q0"):
                assert stats[queue + "_iotlb_misses"] > 0 and stats[queue + "_iotlb_hits"] > 0, (row["name"], stats)
        ovs_lab.vsctl("--if-exists", "del-br", "br-nfvi")
