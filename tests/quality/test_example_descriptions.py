"""The shipped host descriptions (lab and fleet examples) pass the role argument specs,
the same checks roles/host/tasks/validate.yml runs before any change."""

import os

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from module_call import REPO


def spec(role):
    with open(os.path.join(REPO, "roles", role, "meta", "argument_specs.yml")) as handle:
        return yaml.safe_load(handle)["argument_specs"]["main"]["options"]


def load(*parts):
    with open(os.path.join(REPO, *parts)) as handle:
        return yaml.safe_load(handle)


def host_role_errors(description):
    host_vars = dict((k, v) for k, v in description.items() if k.startswith("host_"))
    checks = [("host", host_vars)]
    if description.get("host_hugepages"):
        checks.append(("hugepages", {"hugepages_pools": description["host_hugepages"]}))
    if description.get("host_ovs"):
        checks.append(("ovs_dpdk", {"ovs_dpdk_bridges": description["host_ovs"].get("bridges", [])}))
    if description.get("host_vms"):
        checks.append(("qemu_vms", {"qemu_vms_guests": description["host_vms"]}))
    errors = []
    for role, arguments in checks:
        result = ArgumentSpecValidator(spec(role)).validate(arguments)
        errors += ["%s: %s" % (role, e) for e in result.error_messages]
    return errors


DESCRIPTIONS = {
    "lab": load("inventory", "lab", "host_vars", "nfv-lab.yml"),
    "fleet group": load("inventory", "fleet", "group_vars", "dpdk_hosts.yml"),
    "fleet compute-b1": dict(load("inventory", "fleet", "group_vars", "dpdk_hosts.yml"),
                             **load("inventory", "fleet", "host_vars", "compute-b1.yml")),
}


@pytest.mark.parametrize("name", sorted(DESCRIPTIONS))
def test_example_description_is_valid(name):
    assert host_role_errors(DESCRIPTIONS[name]) == []


def test_a_wrong_field_is_named():
    broken = dict(DESCRIPTIONS["lab"], host_reboot="sometimes")
    assert any("host_reboot" in e for e in host_role_errors(broken))
