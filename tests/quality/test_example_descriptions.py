"""The shipped host descriptions (lab and fleet examples, and the README's) pass the role argument specs,
the same checks roles/host/tasks/validate.yml runs before any change."""

import os

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.nfv.dpdk.plugins.filter.merge_by_name import merge_by_name
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
    if description.get("host_ovs_overrides"):
        checks.append(("host", {"host_ovs": merged_ovs(description)}))
    if merged_ovs(description):
        checks.append(("ovs_dpdk", {"ovs_dpdk_bridges": merged_ovs(description).get("bridges", [])}))
    if description.get("host_vms"):
        checks.append(("qemu_vms", {"qemu_vms_guests": description["host_vms"]}))
    errors = []
    for role, arguments in checks:
        result = ArgumentSpecValidator(spec(role)).validate(arguments)
        errors += ["%s: %s" % (role, e) for e in result.error_messages]
    return errors


def readme_yaml(after):
    """The first ```yaml block of README.md after the line holding `after`."""
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as handle:
        text = handle.read()
    block = text[text.index(after):].split("```yaml\n", 1)[1].split("```", 1)[0]
    return yaml.safe_load(block)


def readme_indented(heading):
    """The first indented code block of the README section under `heading`."""
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as handle:
        section = handle.read().split("\n## " + heading + "\n", 1)[1].split("\n## ", 1)[0]
    lines, started = [], False
    for line in section.splitlines():
        if line.startswith("    "):
            started = True
            lines.append(line[4:])
        elif started and line.strip():
            break
        elif started:
            lines.append("")
    return yaml.safe_load("\n".join(lines))


DESCRIPTIONS = {
    "README quick start": readme_yaml("`inventory/host_vars/dpdk1.yml`"),
    "README host description": readme_indented("A host description"),
    "lab": load("inventory", "lab", "host_vars", "nfv-lab.yml"),
    "fleet group": load("inventory", "fleet", "group_vars", "dpdk_hosts.yml"),
    "fleet compute-b1": dict(load("inventory", "fleet", "group_vars", "dpdk_hosts.yml"),
                             **load("inventory", "fleet", "host_vars", "compute-b1.yml")),
}


def merged_ovs(description):
    """host_ovs as nfv.dpdk.host runs it: host_ovs_overrides merged in (roles/host/vars/main.yml)."""
    return merge_by_name(description.get("host_ovs", {}), description.get("host_ovs_overrides", {}))


@pytest.mark.parametrize("name", sorted(DESCRIPTIONS))
def test_example_description_is_valid(name):
    assert host_role_errors(DESCRIPTIONS[name]) == []


def test_fleet_host_vars_change_br_phy_by_overrides():
    bridges = merged_ovs(DESCRIPTIONS["fleet compute-b1"])["bridges"]
    assert [b["name"] for b in bridges] == ["br-phy"]
    assert [(p["name"], p["type"]) for p in bridges[0]["ports"]] == [
        ("vhu-vnf1", "dpdkvhostuserclient"), ("dpdk0", "dpdk")]
    assert bridges[0]["datapath_type"] == "netdev"


def test_a_wrong_field_is_named():
    broken = dict(DESCRIPTIONS["lab"], host_reboot="sometimes")
    assert any("host_reboot" in e for e in host_role_errors(broken))


def test_readme_quick_start_inventory_and_awx_requirements():
    hosts = readme_yaml("`inventory/hosts.yml`")
    assert hosts["dpdk_hosts"]["hosts"]["dpdk1"]["ansible_user"] == "root"
    requirements = load("examples", "collections", "requirements.yml")
    assert requirements["collections"] == [
        {"name": "https://github.com/nfv-dpdk/nfv.dpdk.git", "type": "git", "version": "main"}]


@pytest.mark.parametrize("role", ["host", "hugepages", "vfio", "ovs_dpdk", "qemu_vms"])
def test_role_readme_example_passes_the_role_argument_spec(role):
    with open(os.path.join(REPO, "roles", role, "README.md"), encoding="utf-8") as handle:
        block = handle.read().split("```yaml\n", 1)[1].split("```", 1)[0]
    entry = yaml.safe_load(block)[0]["roles"][0]
    assert entry["role"] == "nfv.dpdk." + role
    result = ArgumentSpecValidator(spec(role)).validate(entry["vars"])
    assert result.error_messages == []
    if role == "host":
        assert host_role_errors(entry["vars"]) == []


@pytest.mark.parametrize("name", ["README host description"])
def test_readme_cpu_layout_has_no_conflict_on_a_two_node_smt_host(name, tmp_path):
    from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.description import Description
    from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.layout import resolve
    from ansible_collections.nfv.dpdk.plugins.module_utils.host.facts import layout_facts
    from ansible_collections.nfv.dpdk.plugins.module_utils.host.hostfs import HostFS
    from ansible_collections.nfv.dpdk.tests.unit.sysfs_tree import two_node_smt_host

    two_node_smt_host(tmp_path)
    d = DESCRIPTIONS[name]
    layout, conflicts = resolve(Description(cpu=d["host_cpu"], kernel_args=d.get("host_kernel_args"),
                                            ovs=d["host_ovs"], vms=d["host_vms"], hugepages=d["host_hugepages"],
                                            dpdk_devices=d.get("host_vfio_devices"), prefix="host_"),
                                layout_facts(HostFS(str(tmp_path))))
    assert conflicts == []
    assert layout["pmd_cpus"] == "1-2,9-10"  # two whole cores on node 0, where the DPDK NIC sits
