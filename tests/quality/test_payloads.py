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


def imported_utils(path):
    """The module_utils names a file imports (either form: `from PREFIX import a, b` or `from PREFIX.a import x`)."""
    with open(path) as handle:
        tree = ast.parse(handle.read(), path)
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == PREFIX:
                names.update(alias.name for alias in node.names)
            elif node.module.startswith(PREFIX + "."):
                names.add(node.module[len(PREFIX) + 1:].split(".")[0])
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
        todo |= imported_utils(os.path.join(UTILS, name + ".py")) - seen
    return seen


def test_the_reader_ships_no_writer():
    # host_facts runs first on every host, every run: it reads, so no guest, OVS-port or binding logic
    writers = {"qemu_vm", "qemu_unit_helper", "kvm_probe", "plan", "ovs_bridge", "ovs_config", "pci_driver",
               "boot_pci_bind", "boot_sriov_vfs",
               "sriov", "cmdline", "hugepage_pool"}
    assert not payload("host_facts") & writers


@pytest.mark.parametrize("module, foreign", [
    ("hugepage_pool", {"qemu_vm", "ovs_bridge", "pci_driver", "cpu_layout"}),
    ("ovs_bridge", {"qemu_vm", "pci_driver", "cpu_layout", "hugepage_pool"}),
    ("ovs_config", {"qemu_vm", "pci_driver", "cpu_layout", "hugepage_pool"}),
    ("pci_driver", {"qemu_vm", "ovs_bridge", "cpu_layout", "hugepage_pool"}),
    ("kernel_cmdline", {"qemu_vm", "ovs_bridge", "pci_driver", "cpu_layout", "hugepage_pool"}),
])
def test_a_module_ships_its_own_domain(module, foreign):
    assert not payload(module) & foreign, sorted(payload(module))


def test_the_guest_helper_travels_with_qemu_vm():
    assert "qemu_unit_helper" in payload("qemu_vm")
