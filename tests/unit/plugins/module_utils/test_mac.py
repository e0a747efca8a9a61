# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one MAC validator (module_utils/netdev.py), as qemu_vm's NICs and sriov_vfs' VFs use it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.host.netdev import mac_problem, normalize_mac
from ansible_collections.nfv.dpdk.plugins.module_utils.pci.sriov_vf_settings import normalize_vf
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.spec import guest_spec


def test_normalize_mac():
    assert normalize_mac("52-54-00-AB-CD-EF") == "52:54:00:ab:cd:ef"
    assert normalize_mac(" 52:54:00:ab:cd:ef\t") == "52:54:00:ab:cd:ef"
    for bad in ("52:54:00:ab:cd", "52:54:00:ab:cd:ef\n", "52:54:00:ab:cd:zz", "", None, "5254.00ab.cdef"):
        assert normalize_mac(bad) is None, bad


def test_mac_problem():
    assert mac_problem("52:54:00:ab:cd:ef") is None
    assert "multicast" in mac_problem("01:00:5e:00:00:01")
    assert mac_problem("00:00:00:00:00:00") == "is all zeros"


@pytest.mark.parametrize("mac, message", [
    ("52:54:00:12:34:56\n", "VF 0: invalid MAC"),
    ("01:00:5e:00:00:01", "VF 0: MAC 01:00:5e:00:00:01 is a multicast address"),
    ("00:00:00:00:00:00", "VF 0: MAC 00:00:00:00:00:00 is all zeros; leave mac out to keep the VF's own"),
])
def test_a_vf_and_a_guest_nic_refuse_the_same_macs(mac, message):
    with pytest.raises(NfvError) as info:
        normalize_vf(0, {"index": 0, "mac": mac})
    assert message in info.value.msg
    with pytest.raises(NfvError):
        guest_spec_of(mac)


def guest_spec_of(mac):
    return guest_spec({"name": "vm1", "memory": "256M", "kernel": "/boot/vmlinuz",
                       "nics": [{"type": "user", "mac": mac}]})


def test_a_vf_mac_is_normalized_like_a_guest_nic_mac():
    assert normalize_vf(0, {"index": 0, "mac": "52-54-00-AB-CD-EF"})["mac"] == "52:54:00:ab:cd:ef"
