"""vfio passthrough proven inside a guest (issue 30): nested guests, in the vIOMMU guest of vfio_guest.py, that
see a whole NIC and an SR-IOV VF on their own PCI bus.

The vIOMMU guest (q35, intel-iommu, this machine's / over virtio-9p) has an e1000 (GUEST_NIC) and QEMU's igb, an
82576 with SR-IOV, behind a PCIe root port (SRIOV_PF). passthrough_in_guest.py runs there with this machine's
Python and QEMU: nfv.dpdk.pci_driver binds the NIC to vfio-pci, a nested guest started with the argv
nfv.dpdk.qemu_vm writes for `{type: vfio, host: ...}` boots a 168-byte boot sector that scans its PCI bus through
ports 0xCF8/0xCFC and prints each device's ids to its serial port; then nfv.dpdk.sriov_vfs makes a VF with a MAC and
a VLAN, pci_driver binds it and a second nested guest scans that. Nested TCG runs a boot sector in seconds where a
nested Linux would take many minutes.
"""

import base64
import json
import os

import pytest
from vfio_guest import (
    GUEST_MODULES,
    GUEST_NIC,
    GUEST_START,
    HOST_ROOT_DEVICE,
    HOST_ROOT_MODULES,
    HOST_ROOT_MOUNT,
    build_vfio_guest,
    run_vfio_guest,
)

pytestmark = pytest.mark.component

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SRIOV_PF = "0000:01:00.0"
SRIOV_DEVICE = ["-netdev", "user,id=sriov", "-device", "pcie-root-port,id=rp-sriov,chassis=1,addr=7",
                "-device", "igb,netdev=sriov,bus=rp-sriov,romfile="]
VF_MAC, VF_VLAN = "52:54:00:7a:00:01", 100
E1000_IDS, IGB_VF_IDS = "100E8086", "10CA8086"  # config dword 0 as the scan prints it: device id, vendor id
MODULES = GUEST_MODULES + ["dca", "i2c-algo-bit", "igb", "igbvf"] + HOST_ROOT_MODULES
DONE = "pt: done"

INIT = GUEST_START + HOST_ROOT_MOUNT + r"""chroot /host __PYTHON__ __PROGRAM__ __COLLECTIONS__ __PYTHON__ \
  __NIC__ __PF__ __VF_MAC__ __VF_VLAN__
echo "pt: rc $?"
echo "__DONE__"
poweroff -f
"""


def guest_files():
    collections = os.path.join(REPO, ".build", "collections")
    values = {"__PYTHON__": os.path.join(REPO, ".venv", "bin", "python"), "__COLLECTIONS__": collections,
              "__PROGRAM__": os.path.join(REPO, "tests", "component", "passthrough_in_guest.py"),
              "__NIC__": GUEST_NIC, "__PF__": SRIOV_PF, "__VF_MAC__": VF_MAC, "__VF_VLAN__": str(VF_VLAN),
              "__MODULES__": " ".join(MODULES), "__DONE__": DONE}
    init = INIT
    for key, value in values.items():
        init = init.replace(key, value)
    return {"init": init}  # the program is read from this machine's / when the guest runs it


def seen_in_guest(text):
    chunks = [line.split(" ", 1)[1].strip() for line in text.splitlines() if line.startswith("pt-b64: ")]
    assert chunks, "the program printed nothing:\n%s" % text[-4000:]
    return json.loads(base64.b64decode("".join(chunks)))


@pytest.fixture(scope="module")
def seen(tmp_path_factory):
    if os.geteuid() != 0 or not os.path.exists("/usr/bin/qemu-system-x86_64"):
        pytest.skip("needs root and qemu-system-x86_64")
    log = tmp_path_factory.mktemp("passthrough") / "console.log"
    text = run_vfio_guest(build_vfio_guest(guest_files(), MODULES, cache="passthrough-guest"), log,
                          memory="1536", timeout=900, extra=HOST_ROOT_DEVICE + SRIOV_DEVICE, done=DONE)
    assert "pt: rc 0" in text, text[-4000:]
    found = seen_in_guest(text)
    with open(str(log) + ".json", "w") as handle:  # beside the console log, for a reader
        json.dump(found, handle, indent=1)
    return found


def _guest_saw(guest, ids):
    """The nested guest's scan: it ran (its last line) and found `ids` on its bus, apart from QEMU's own devices."""
    assert guest["scan"] and guest["scan"][-1] == "nfv-pci done", guest
    return [line.split()[1] for line in guest["scan"][:-1] if line.split()[2] == ids]


def test_a_whole_nic_on_vfio_pci_is_seen_by_the_guest_it_is_passed_to(seen):
    assert seen["nic_before"]["driver"] == "e1000" and seen["nic_before"]["group_devices"] == [GUEST_NIC]
    assert not seen["bind_nic"].get("failed"), seen["bind_nic"]
    assert seen["nic_bound"]["driver"] == "vfio-pci"
    guest = seen["guest_nic"]
    assert "vfio-pci,host=%s" % GUEST_NIC in guest["argv"], guest["argv"]
    assert len(_guest_saw(guest, E1000_IDS)) == 1, guest  # the guest's own config space: the e1000, once
    assert guest["held_by"] == [guest["qemu_pid"]], guest  # QEMU holds /dev/vfio/GROUP while the guest runs
    assert guest["held_after"] == [], guest


def test_a_vf_with_its_mac_and_vlan_set_before_attach_is_seen_by_its_guest(seen):
    assert not seen["vfs"].get("failed"), seen["vfs"]
    info = seen["vf_info"]
    assert info.get("address") == VF_MAC, info  # set on the PF before any guest has the VF
    assert [entry.get("vlan") for entry in info.get("vlan_list", [])] == [VF_VLAN], info
    assert seen["vf_before"]["driver"] == "igbvf" and seen["vf_before"]["group_devices"] == [seen["vf"]]
    assert not seen["bind_vf"].get("failed"), seen["bind_vf"]
    assert seen["vf_bound"]["driver"] == "vfio-pci" and seen["vf_bound"]["ids"] == "0x8086:0x10ca"
    guest = seen["guest_vf"]
    assert "vfio-pci,host=%s" % seen["vf"] in guest["argv"], guest["argv"]
    assert len(_guest_saw(guest, IGB_VF_IDS)) == 1, guest
    assert guest["held_by"] == [guest["qemu_pid"]] and guest["held_after"] == [], guest


def test_the_devices_go_back_to_the_host_once_the_guests_are_gone(seen):
    assert not seen["release"].get("failed"), seen["release"]
    nic, vf = seen["after"][GUEST_NIC], seen["after"][seen["vf"]]
    assert (nic["driver"], vf["driver"]) == ("e1000", "igbvf"), seen["after"]  # the host's own drivers again
