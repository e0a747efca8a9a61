# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 27, class 1: no option of any module may carry a control character (module_utils/fields.py).

The check runs in PlannedModule.run before validate(), so every state-changing module refuses such a value
before it reads the host: the handlers below get a HostFS and a Runner that fail the test on any use.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.nfv.dpdk.plugins.module_utils.boot.cmdline import KernelCmdline
from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.core.fields import control_character_fields
from ansible_collections.nfv.dpdk.plugins.module_utils.memory.hugepage_pool import HugepagePool
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.ovs_bridge import OvsBridge
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.ovs_config import OvsConfig
from ansible_collections.nfv.dpdk.plugins.module_utils.pci.pci_driver import PciDriver
from ansible_collections.nfv.dpdk.plugins.module_utils.pci.sriov import SriovVfs
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.vm import QemuVm


@pytest.mark.parametrize("char", ["\x00", "\n", "\r", "\t", "\x0b", "\x1b", "\x7f", "\x85", "\u2028"])
def test_every_control_character_is_found_with_its_field(char):
    params = {"name": "vm1", "append": "console=ttyS0" + char + "ExecStartPre=/bin/sh",
              "nics": [{"type": "vhost-user", "socket": "/run/vhu/a.sock"},
                       {"type": "tap", "ifname": "tap" + char}],
              "other_config": {"dpdk-init" + char: "true"}, "vcpus": 2, "readonly": True}
    found = control_character_fields(params)
    assert [field for field, _text in found] == ["append", "nics[1].ifname", "other_config (a key)"]


def test_clean_options_pass():
    assert control_character_fields({"append": "console=ttyS0 quiet", "machine": "q35", "socket": "/run/vhu/a",
                                     "nics": [{"mac": "52:54:00:12:34:56"}], "count": 4, "on": None}) == []


class BareModule:
    def __init__(self, params):
        self.params = params
        self.check_mode = False
        self._diff = True

    def warn(self, text):
        raise AssertionError("unexpected warning %r" % text)


class NoHost:
    def __getattr__(self, name):
        raise AssertionError("the host was touched (%s) before the control character was refused" % name)


@pytest.mark.parametrize("handler, params, field", [
    (QemuVm, {"name": "vm1", "kernel": "/srv/vmlinuz", "append": "quiet\x00\nExecStartPre=+/bin/sh -c id"},
     "append"),
    (QemuVm, {"name": "vm1", "machine": "q35\n[Service]"}, "machine"),
    (QemuVm, {"name": "vm1", "initrd": "/srv/initrd\x00"}, "initrd"),
    (QemuVm, {"name": "vm1", "nics": [{"type": "vhost-user", "socket": "/run/vhu/a\u2028.sock"}]}, "nics[0].socket"),
    (KernelCmdline, {"params": [{"key": "iommu", "value": "pt\x1b"}]}, "params[0].value"),
    (HugepagePool, {"size": "2M\x00", "count": 1}, "size"),
    (OvsBridge, {"name": "br-phy", "ports": [{"name": "dpdk0\r"}]}, "ports[0].name"),
    (OvsConfig, {"other_config": {"pmd-cpu-mask\x00": "0x6"}}, "other_config (a key)"),
    (PciDriver, {"devices": ["0000:03:00.0\x7f"]}, "devices[0]"),
    (SriovVfs, {"pf": "ens1f0\t", "count": 2}, "pf"),
])
def test_each_module_refuses_before_reading_the_host(handler, params, field):
    with pytest.raises(NfvError) as err:
        handler(BareModule(params), fs=NoHost(), runner=NoHost()).run()
    assert err.value.details["fields"] == [field]
    assert err.value.msg.startswith(field + " ")
    assert "no option of this module may contain a control character" in err.value.msg
