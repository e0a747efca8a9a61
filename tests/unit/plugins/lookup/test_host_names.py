"""host_names: the names a module leaves on a host, read from the module_utils constants that define them."""

import pytest
from ansible.errors import AnsibleLookupError

from ansible_collections.nfv.dpdk.plugins.lookup.host_names import LookupModule
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs import other_config_keys
from ansible_collections.nfv.dpdk.plugins.module_utils.pci import pci_driver_persistence, sriov_persistence


def lookup(*terms):
    return LookupModule().run(list(terms))


def test_each_domain_names_what_its_module_writes():
    sriov_names, pci_names = lookup("sriov_vfs", "pci_driver")
    assert sriov_names == {"unit": sriov_persistence.UNIT_NAME, "unit_file": sriov_persistence.UNIT_FILE,
                           "program": sriov_persistence.SCRIPT, "conf_dir": sriov_persistence.CONF_DIR}
    assert pci_names["program"] == pci_driver_persistence.BIND_SCRIPT
    assert pci_names["conf"] == pci_driver_persistence.CONF_FILE


def test_the_ovs_keys_are_those_of_the_typed_options():
    keys = lookup("ovs_config")[0]["other_config_keys"]
    assert keys == [key for _option, key in other_config_keys.OPTION_KEYS]
    assert "dpdk-socket-mem" in keys and "pmd-cpu-mask" in keys


def test_the_guest_unit_pattern_matches_the_prefix():
    names = lookup("qemu_vm")[0]
    assert names["unit_pattern"] == names["unit_prefix"] + "*.service" == "nfv-qemu-*.service"


def test_an_unknown_domain_names_the_known_ones():
    with pytest.raises(AnsibleLookupError) as err:
        lookup("sriov")
    assert ("unknown domain 'sriov' (one of cpu_layout, ovs_bridge, ovs_config, pci_driver, qemu_vm, sriov_vfs)"
            in str(err.value))
