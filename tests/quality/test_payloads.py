# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What each module ships to the host: the module_utils files its imports pull into the AnsiballZ payload.

Read from the imports (as ansible-core's recursive finder does), so a new import that drags a domain
into a module that does not need it fails here instead of slowing every run on every host.
"""

import ast
import os

import pytest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PREFIX = "ansible_collections.nfv.dpdk.plugins.module_utils"
UTILS = os.path.join(TOP, "plugins", "module_utils")
# qemu_vm's own logic (the handler, the command line, the unit, the host checks): no other module ships it
GUEST_LOGIC = {"qemu.vm", "qemu.argv", "qemu.unit_commands", "qemu.unit_text", "qemu.host_checks", "qemu.accel",
               "qemu.leftovers", "qemu.start_check"}


def imported_utils(path):
    """The module_utils a file imports, as package.file (either form: `from PREFIX.pkg import a` or
    `from PREFIX.pkg.a import x`)."""
    with open(path) as handle:
        tree = ast.parse(handle.read(), path)
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(PREFIX + "."):
            package = node.module[len(PREFIX) + 1:]
            if os.path.isfile(os.path.join(UTILS, package.replace(".", "/") + ".py")):
                names.add(package)
            else:
                names.update(package + "." + alias.name for alias in node.names)
    return names


def payload(module):
    """Every module_utils name a module ships, following imports transitively."""
    todo = imported_utils(os.path.join(TOP, "plugins", "modules", module + ".py"))
    seen = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo |= imported_utils(os.path.join(UTILS, name.replace(".", "/") + ".py")) - seen
    return seen


def test_the_reader_ships_no_writer():
    # host_facts runs first on every host, every run: it reads, so no guest, OVS-port or binding logic
    writers = GUEST_LOGIC | {"qemu.unit_helper", "qemu.kvm_probe", "core.plan", "ovs.ovs_bridge", "ovs.ovs_config",
                             "ovs.port_validation", "ovs.bridge_validation", "ovs.bridge_state", "ovs.bridge_plan",
                             "ovs.bridge_transaction", "ovs.bond_validation", "ovs.bond_plan", "ovs.row_changes",
                             "ovs.tunnel_validation", "ovs.tunnel_mtu", "ovs.underlay_validation",
                             "ovs.underlay_plan", "ovs.underlay_kernel", "ovs.underlay_persistence",
                             "ovs.boot_underlay", "ovs.other_config_keys", "ovs.other_config_validation",
                             "ovs.other_config_plan", "pci.pci_driver", "pci.boot_pci_bind", "pci.boot_sriov_vfs",
                             "pci.sriov", "boot.cmdline", "boot.file_backend", "boot.grub", "boot.grub_defaults",
                             "boot.grubby", "boot.kernel_install", "memory.hugepage_pool"}
    assert not payload("host_facts") & writers


def test_the_reader_ships_only_the_cpu_topology():
    # host_facts reports the layout a host runs now: the topology and the pmd-rxq-show parser, not the
    # derivation and checks of a description (nfv.dpdk.cpu_layout's), and no guest code at all
    shipped = payload("host_facts")
    assert sorted(name for name in shipped if name.startswith("cpu.")) == [
        "cpu.cpus", "cpu.kernel_isolation", "cpu.pmd_rxq_show", "cpu.topology"]
    assert not [name for name in shipped if name.startswith("qemu.")]


@pytest.mark.parametrize("module, foreign", [
    ("hugepage_pool", GUEST_LOGIC | {"ovs.ovs_bridge", "pci.pci_driver", "cpu.cpu_layout"}),
    ("ovs_bridge", GUEST_LOGIC | {"pci.pci_driver", "cpu.cpu_layout", "memory.hugepage_pool"}),
    ("ovs_config", GUEST_LOGIC | {"pci.pci_driver", "cpu.cpu_layout", "memory.hugepage_pool"}),
    ("pci_driver", GUEST_LOGIC | {"ovs.ovs_bridge", "cpu.cpu_layout", "memory.hugepage_pool"}),
    ("kernel_cmdline", GUEST_LOGIC | {"ovs.ovs_bridge", "pci.pci_driver", "cpu.cpu_layout", "memory.hugepage_pool"}),
])
def test_a_module_ships_its_own_domain(module, foreign):
    assert not payload(module) & foreign, sorted(payload(module))


def test_the_guest_helper_travels_with_qemu_vm():
    assert "qemu.unit_helper" in payload("qemu_vm")


def test_qemu_vm_ships_all_of_its_logic():
    assert not GUEST_LOGIC - payload("qemu_vm"), sorted(GUEST_LOGIC - payload("qemu_vm"))
