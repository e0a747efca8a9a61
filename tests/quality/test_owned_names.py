# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One owner for every name the collection leaves on a host.

A path, unit name or OVS key a module writes is defined in its module_utils and reaches roles and playbooks
through the lookup nfv.dpdk.host_names; one a role writes itself is a private variable in its vars/main.yml.
Spelled again anywhere else in code (a task's argument, a playbook's variable, another module_utils' string),
a rename in the owner would leave the copy behind: decommission would miss what the module now writes.
Prose (task names, comments, docstrings, role defaults and argument specs, which document a role's public
parameters) is not code and may name them.
"""

import ast
import glob
import os
import re

import pytest
import yaml

from ansible_collections.nfv.dpdk.plugins.lookup.host_names import names

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
UTILS = os.path.join(TOP, "plugins", "module_utils")
# systemd's unit directory and the QEMU package's binary (read, not written); the kernel's parameter names
NOT_OURS = {"/etc/systemd/system", "/usr/bin/qemu-system-x86_64"}
NOT_OURS_FIELDS = {"kernel_keys"}
# names too generic to be told apart from prose tokens in code (a key list is checked as the list)
SHORT = re.compile(r"^[a-z]+$")


def module_owned():
    """{name: owner} of every name the lookup returns."""
    owned = {}
    for domain, table in names().items():
        for field, value in table.items():
            if field in NOT_OURS_FIELDS:
                continue
            for name in value if isinstance(value, list) else [value]:
                if name not in NOT_OURS and not SHORT.match(name):
                    owned[name] = "module_utils of " + domain
    return owned


def role_owned():
    """{name: owner} of the private role variables that hold a path or a unit name, and their definition files."""
    owned, homes = {}, {}
    for path in sorted(glob.glob(os.path.join(TOP, "roles", "*", "vars", "main.yml"))):
        with open(path) as handle:
            variables = yaml.safe_load(handle) or {}
        for key, value in variables.items():
            if not isinstance(value, str) or value in NOT_OURS or "{{" in value:
                continue
            if re.match(r"^(/\S+|[\w.@-]+\.(service|mount))$", value):
                owned[value] = "%s in %s" % (key, os.path.relpath(path, TOP))
                homes[value] = path
    return owned, homes


def token_re(name):
    return re.compile(r"(?<![\w./-])%s(?![\w.-])" % re.escape(name))


def yaml_strings(node, key=None):
    """Every string value of a parsed YAML document, but task and play names."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from yaml_strings(v, k)
    elif isinstance(node, list):
        for v in node:
            yield from yaml_strings(v, key)
    elif isinstance(node, str) and key != "name":
        yield node


def python_strings(path):
    """Every string constant of a Python file, but docstrings."""
    with open(path) as handle:
        tree = ast.parse(handle.read(), path)
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(getattr(first, "value", None), ast.Constant):
                docstrings.add(id(first.value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node.value


def code_files():
    yaml_files = [p for pattern in ("roles/*/tasks/*.yml", "roles/*/vars/*.yml", "roles/*/handlers/*.yml",
                                    "playbooks/*.yml", "playbooks/*/*.yml")
                  for p in glob.glob(os.path.join(TOP, pattern))]
    python_files = glob.glob(os.path.join(UTILS, "**", "*.py"), recursive=True)
    return sorted(yaml_files), sorted(python_files)


def strings_of(path):
    if path.endswith(".py"):
        return list(python_strings(path))
    strings = []
    with open(path) as handle:
        for document in yaml.safe_load_all(handle):
            strings.extend(yaml_strings(document))
    return strings


def owner_file(owner):
    """The module_utils file allowed to spell a module-owned name: the owner of the constant."""
    domain = owner.split()[-1]
    return {"sriov_vfs": ["pci/sriov_persistence.py"], "qemu_vm": ["qemu/spec.py", "qemu/vm.py", "qemu/kvm_probe.py"],
            "ovs_config": ["ovs/other_config_keys.py", "ovs/ovsdb.py"], "pci_driver": ["pci/pci_driver_persistence.py"],
            "cpu_layout": ["cpu/tuned.py", "cpu/kernel_isolation.py"],
            # the boot program runs without the collection: it spells the key and protocol (a unit test compares)
            "ovs_bridge": ["ovs/underlay_persistence.py", "ovs/underlay_kernel.py", "ovs/boot_underlay.py"]}[domain]


def test_the_tables_are_not_empty():
    assert "/usr/local/sbin/nfv-dpdk-sriov" in module_owned()
    assert "dpdk-socket-mem" in module_owned()
    assert "/etc/udev/rules.d/70-nfv-dpdk-vfio.rules" in role_owned()[0]


def test_no_owned_name_is_spelled_again_in_code():
    module_names = module_owned()
    role_names, homes = role_owned()
    yaml_files, python_files = code_files()
    copies = []
    for path in yaml_files + python_files:
        rel = os.path.relpath(path, TOP)
        for text in strings_of(path):
            for name, owner in list(module_names.items()) + list(role_names.items()):
                if not token_re(name).search(text):
                    continue
                if owner.startswith("module_utils") and path.endswith(".py") and \
                        os.path.relpath(path, UTILS) in owner_file(owner):
                    continue
                if homes.get(name) == path:
                    continue
                copies.append("%s spells %s (owned by %s)" % (rel, name, owner))
    assert not copies, "\n".join(sorted(set(copies)))


@pytest.mark.parametrize("role", sorted(os.listdir(os.path.join(TOP, "roles"))))
def test_every_role_has_an_absent_entry_point(role):
    with open(os.path.join(TOP, "roles", role, "meta", "argument_specs.yml")) as handle:
        specs = yaml.safe_load(handle)["argument_specs"]
    assert "absent" in specs
    assert os.path.exists(os.path.join(TOP, "roles", role, "tasks", "absent.yml"))


def test_decommission_composes_the_roles_absent_entry_points():
    with open(os.path.join(TOP, "playbooks", "decommission.yml")) as handle:
        plays = yaml.safe_load(handle)
    included = [task["ansible.builtin.include_role"] for task in plays[-1]["tasks"]
                if "ansible.builtin.include_role" in task]
    assert [(i["name"], i["tasks_from"]) for i in included] == [
        ("nfv.dpdk.qemu_vms", "absent.yml"), ("nfv.dpdk.ovs_dpdk", "absent.yml"), ("nfv.dpdk.vfio", "absent.yml"),
        ("nfv.dpdk.hugepages", "absent.yml"), ("nfv.dpdk.host", "absent.yml")]
    assert "vars_files" not in plays[-1]  # no role's private variables loaded from outside
