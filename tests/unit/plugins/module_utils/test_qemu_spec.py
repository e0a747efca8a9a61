# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 27, class 1, in the guest's own options: `machine` is a machine type name, CPU lists are bounded before
they are expanded (module_utils/qemu_spec.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.spec import guest_spec


def spec_of(**params):
    return guest_spec(dict({"name": "vm1", "kernel": "/srv/vmlinuz", "memory": "256M"}, **params))


@pytest.mark.parametrize("machine", ["q35", "pc", "pc-q35-9.2", "pc-i440fx-8.2", "microvm"])
def test_machine_type_names_are_taken(machine):
    assert spec_of(machine=machine)["machine"] == machine


@pytest.mark.parametrize("machine", ["q35,kernel-irqchip=split", "q35 -device foo", "Q35", "", "-q35", "q35=on",
                                     "pc/../q35", "x" * 65])
def test_machine_options_are_refused(machine):
    with pytest.raises(NfvError) as err:
        spec_of(machine=machine)
    assert err.value.details["problems"] == [
        "machine %r is not a QEMU machine type name (like q35 or pc-q35-9.2; machine options are not taken)"
        % (machine,)]


@pytest.mark.parametrize("field, value", [("cpu_affinity", "0-4000000000"), ("cpu_affinity", [1, 99999]),
                                          ("emulator_cpus", "9000")])
def test_cpu_lists_beyond_any_host_are_refused_before_expansion(field, value):
    params = {field: value}
    if field == "emulator_cpus":
        params["vcpu_pins"] = [1]
    with pytest.raises(NfvError) as err:
        spec_of(**params)
    assert "%s %r is not a CPU list" % (field, value) in err.value.msg
    assert "above 8191, the highest CPU number a host can have" in err.value.msg


def test_a_pin_beyond_any_host_says_why():
    with pytest.raises(NfvError) as err:
        spec_of(vcpus=2, vcpu_pins=[1, "2-100000"])
    assert err.value.details["problems"] == [
        "vcpu_pins[1] '2-100000' is not a host CPU or CPU list (examples: 2, '2-3'): CPU 100000 is above 8191, "
        "the highest CPU number a host can have"]
