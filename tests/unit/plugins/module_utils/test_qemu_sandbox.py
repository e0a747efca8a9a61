# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 27, class 4: every guest unit is sandboxed at least as tightly as libvirt's QEMU (qemu_sandbox.py).

systemd-analyze scores the generated units themselves (`security --offline=true`, systemd 252 and later).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import shutil
import subprocess

import pytest

from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.argv import qemu_argv
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.sandbox import MAX_EXPOSURE, SANDBOX
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.spec import guest_spec
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.unit_commands import helper_argv, prestart_commands
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.unit_text import unit_text

TOOLS = {"ip": "/usr/sbin/ip", "ovs-vsctl": "/usr/bin/ovs-vsctl"}
GUESTS = {
    "vhost": {"nics": [{"type": "vhost-user", "socket": "/run/vhost/a.sock"}], "hugepages": {"size": "2M"},
              "numa_node": 0, "vcpus": 2, "vcpu_pins": [2, 3]},
    "tap": {"nics": [{"type": "tap", "ifname": "tap0", "bridge": "br0"}]},
    "user": {"nics": [{"type": "user", "forwards": [{"host_port": 2222, "guest_port": 22}]}]},
    "vfio": {"nics": [{"type": "vfio", "host": "0000:03:00.0"}], "memory": "2G"},
    "disk": {"disks": [{"path": "/var/lib/nfv-lab/disk.qcow2", "format": "qcow2"}], "kernel": None},
}


def unit_of(kind, accel="tcg"):
    params = {"name": kind, "kernel": "/srv/vmlinuz", "memory": "256M"}
    params.update(GUESTS[kind])
    spec = guest_spec(params)
    argv = qemu_argv(spec, "/usr/bin/qemu-system-x86_64", accel)
    python = "/usr/bin/python3"
    text = unit_text(spec, argv, prestart_commands(spec, TOOLS, python), helper_argv(spec, python), accel,
                     vfio_groups=["7"] if kind == "vfio" else None)
    return spec, argv, text


def settings(text, key):
    return [line.split("=", 1)[1] for line in text.splitlines() if line.startswith(key + "=")]


@pytest.mark.parametrize("kind", sorted(GUESTS))
def test_qemu_runs_its_own_seccomp_sandbox(kind):
    argv = unit_of(kind)[1]
    assert argv[argv.index("-sandbox") + 1] == SANDBOX
    assert SANDBOX == "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"


@pytest.mark.parametrize("kind, families, private", [
    ("vhost", "AF_UNIX", True), ("vfio", "AF_UNIX", True), ("disk", "AF_UNIX", True),
    ("tap", "AF_UNIX", False), ("user", "AF_UNIX AF_INET AF_INET6 AF_NETLINK", False)])
def test_only_the_network_the_nics_need(kind, families, private):
    text = unit_of(kind)[2]
    assert settings(text, "RestrictAddressFamilies") == [families]
    assert settings(text, "PrivateNetwork") == (["yes"] if private else [])
    assert settings(text, "IPAddressDeny") == (["any"] if private else [])


def test_memlock_is_sized_to_a_vfio_guest_and_absent_otherwise():
    assert settings(unit_of("vfio")[2], "LimitMEMLOCK") == ["3072M"]  # 2G of RAM + 1 GiB
    assert settings(unit_of("vhost")[2], "LimitMEMLOCK") == []


def test_system_calls_proc_and_mounts_are_confined():
    text = unit_of("vhost")[2]
    assert settings(text, "SystemCallFilter") == [
        "~@clock @cpu-emulation @debug @module @mount @obsolete @privileged @raw-io @reboot @swap"]
    assert settings(text, "SystemCallErrorNumber") == ["EPERM"]
    assert settings(text, "ProtectProc") == ["invisible"]
    assert settings(text, "ProcSubset") == ["pid"]
    assert settings(text, "PrivateMounts") == ["yes"]


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
@pytest.mark.parametrize("kind", sorted(GUESTS))
@pytest.mark.parametrize("accel", ["tcg", "kvm"])
def test_systemd_analyze_scores_every_guest_unit_at_most_2(tmp_path, kind, accel):
    spec, _argv, text = unit_of(kind, accel)
    path = tmp_path / spec["unit"]
    path.write_text(text)
    proc = subprocess.run(["systemd-analyze", "security", "--offline=true", "--no-pager", str(path)],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    score = re.search(r"Overall exposure level for \S+: (\d+\.\d)", proc.stdout)
    assert score, proc.stdout
    assert float(score.group(1)) <= MAX_EXPOSURE, proc.stdout
