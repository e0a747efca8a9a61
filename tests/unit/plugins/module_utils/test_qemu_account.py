# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A guest's own account (nfv-qemu-<name>) and its disks: names, refusals, the plan of a define and a removal."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import pwd

import pytest

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu import account as qemu_account
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.spec import USER_RE, guest_account, guest_spec
from ansible_collections.nfv.dpdk.tests.unit.plugins.module_utils import test_qemu_vm
from ansible_collections.nfv.dpdk.tests.unit.plugins.module_utils.test_qemu_vm import SystemctlRunner, actions, make

host = test_qemu_vm.host  # the same fixture: a unit directory and a kernel file in tmp_path


def spec_of(**params):
    base = {"name": "vm1", "state": "started", "memory": "1G", "kernel": "/boot/vmlinuz", "nics": []}
    base.update(params)
    return guest_spec(base)


@pytest.mark.parametrize("name, account", [
    ("vm1", "nfv-qemu-vm1"),
    ("edge_router-7", "nfv-qemu-edge_router-7"),
    ("a" * 22, "nfv-qemu-" + "a" * 22),  # 31 characters: as it is
])
def test_short_lower_case_names_give_the_plain_account(name, account):
    assert guest_account(name) == account


@pytest.mark.parametrize("name", ["a" * 23, "VM1", "Edge-Router", "x" * 48, "9-lives-" + "z" * 40])
def test_other_names_are_shortened_with_a_hash_and_stay_valid(name):
    account = guest_account(name)
    assert len(account) <= 31 and USER_RE.fullmatch(account), account
    assert account.startswith("nfv-qemu-")
    assert guest_account(name) == account  # stable from run to run


def test_names_that_differ_only_in_case_get_different_accounts():
    assert len({guest_account(n) for n in ("vm1", "VM1", "Vm1")}) == 3


def test_the_guest_runs_as_its_own_account_unless_a_user_is_given():
    spec = spec_of()
    assert (spec["own_account"], spec["user"], spec["group"], spec["service_group"]) == (
        True, "nfv-qemu-vm1", "nfv-qemu-vm1", "nfv-qemu")
    shared = spec_of(user="nfv-qemu", group="kvm")
    assert (shared["own_account"], shared["user"], shared["group"]) == (False, "nfv-qemu", "kvm")


def test_sockets_must_be_in_a_directory_named_after_the_guest():
    with pytest.raises(NfvError) as info:
        spec_of(nics=[{"type": "vhost-user", "socket": "/run/vhost/vm1.sock"}])
    assert ("nics[0].socket /run/vhost/vm1.sock must be in a directory of this guest's own, named after it "
            "(like /run/vhost/vm1/vm1.sock)") in info.value.msg
    with pytest.raises(NfvError) as info:  # another guest's directory
        spec_of(nics=[{"type": "vhost-user", "socket": "/run/vhost/vm2/net0.sock"}])
    assert "nics[0].socket /run/vhost/vm2/net0.sock must be in a directory of this guest's own" in info.value.msg
    assert spec_of(nics=[{"type": "vhost-user", "socket": "/run/vhost/vm1/net0.sock"}])["nics"][0]["socket"]


def account(**fields):
    base = {"name": "nfv-qemu-vm1", "exists": True, "ours": True, "uid": 990, "gid": 990,
            "comment": "nfv.dpdk guest vm1", "group_exists": True}
    base.update(fields)
    return base


@pytest.mark.parametrize("fields, message", [
    ({"ours": False, "comment": "Alice"},
     "user nfv-qemu-vm1 exists but is not guest vm1's account (its comment is 'Alice', not 'nfv.dpdk guest vm1')"),
    ({"uid": 0}, "user nfv-qemu-vm1 has uid or gid 0"),
    ({"exists": False, "ours": False, "uid": None, "gid": None},
     "group nfv-qemu-vm1 exists without its user"),
])
def test_an_account_qemu_vm_did_not_create_is_refused(fields, message):
    assert message in qemu_account.account_problem(account(**fields), "vm1")


def test_own_account_and_a_missing_account_are_fine():
    assert qemu_account.account_problem(account(), "vm1") is None
    assert qemu_account.account_problem(account(exists=False, ours=False, group_exists=False), "vm1") is None


def test_the_account_is_a_system_user_without_home_or_shell():
    args = qemu_account.create_args("nfv-qemu-vm1", "vm1")
    assert args[-1] == "nfv-qemu-vm1" and "--system" in args and "--user-group" in args
    assert args[args.index("--shell") + 1] == "/usr/sbin/nologin"
    assert args[args.index("--comment") + 1] == "nfv.dpdk guest vm1"


def test_a_define_creates_the_account_and_gives_it_the_disks(host):
    disk = host / "vm1.img"
    disk.write_bytes(b"\0" * 512)
    os.chmod(str(disk), 0o664)
    runner = SystemctlRunner()
    result = make(host, runner, check_mode=True, user=None, disks=[{"path": str(disk), "format": "raw"}]).run()
    assert actions(result)[:2] == ["create_account", "own_disk"]
    change = next(c for c in result["changes"] if c["action"] == "own_disk")
    assert change["before"] == "root:root 0664" and change["after"] == "nfv-qemu-vm1:nfv-qemu-vm1 0600"
    assert "User=nfv-qemu-vm1" in result["unit_text"] and "SupplementaryGroups=nogroup" in result["unit_text"]
    assert oct(os.stat(str(disk)).st_mode & 0o777) == "0o664"  # check mode changed nothing
    assert not [c for c in runner.calls if c[0] in ("useradd", "userdel")]


def test_a_disk_given_through_a_link_is_refused(host):
    (host / "real.img").write_bytes(b"\0" * 512)
    os.symlink(str(host / "real.img"), str(host / "vm1.img"))
    with pytest.raises(NfvError) as info:
        make(host, SystemctlRunner(), check_mode=True, user=None,
             disks=[{"path": str(host / "vm1.img"), "format": "raw"}]).run()
    assert "disks[0].path %s is a symbolic link" % (host / "vm1.img") in info.value.msg


def test_files_go_back_to_root_when_the_account_goes(tmp_path):
    mine = tmp_path / "mine.img"
    other = tmp_path / "other.img"
    for path in (mine, other):
        path.write_bytes(b"x")
    nobody = pwd.getpwnam("nobody").pw_uid
    os.chown(str(mine), nobody, 0)
    assert qemu_account.owned_files([str(mine), str(other), str(tmp_path / "gone.img")], nobody) == [str(mine)]
    assert qemu_account.disk_owner_changes([str(mine)], "root:root") == [(str(mine), "nobody:root 0644",
                                                                          "root:root 0600")]
    qemu_account.give(str(mine), "root:root")
    assert qemu_account.owner_text(str(mine)) == "root:root 0600"
    assert qemu_account.disk_owner_changes([str(mine)], "root:root") == []
