"""The roles' directories below /run on this machine: decommission (the absent entry points of nfv.dpdk.qemu_vms
and nfv.dpdk.ovs_dpdk, as playbooks/decommission.yml runs them) removes the guests' sockets and the directories
left empty, never recursively: a file the collection did not make survives and its directory stays. A directory
refused on the host (a symbolic link, a world-writable parent) fails the role before it changes anything, and a
directory inside another program's runtime directory fails the role at its first task. nfv.dpdk.host's absent
keeps the SR-IOV settings directory while it holds a file nfv.dpdk.sriov_vfs did not write.

Real directories under /run (named after this test's pid), real AF_UNIX sockets, the real group daemon; Open
vSwitch is not touched (its DPDK build is pointed at a missing path), the boot-time entry and the guests' unit
directory are temporary files.
"""

import grp
import json
import os
import re
import shutil
import socket
import stat
import subprocess

import pytest

from module_call import VENV_BIN, ansible_env, run_module

pytestmark = [pytest.mark.component,
              pytest.mark.skipif(os.geteuid() != 0, reason="creates root-owned directories under /run")]
GROUP = grp.getgrgid(1).gr_name  # daemon
PREFIX = "/run/nfv-test-%d-" % os.getpid()


@pytest.fixture
def run_dirs():
    dirs = {name: PREFIX + name for name in ("vhost", "guests", "qemu", "link", "open")}
    yield dirs
    for path in dirs.values():
        if os.path.islink(path):
            os.unlink(path)
        elif os.path.isdir(path):
            shutil.rmtree(path)


def make_socket(path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(path)
    sock.close()


def decommission(tmp_path, dirs, check=False, vhost_dir=None):
    """The absent entry points of qemu_vms and ovs_dpdk, in the order of playbooks/decommission.yml."""
    names = {"unit_prefix": "nfv-qemu-", "unit_pattern": "nfv-qemu-*.service",
             "kvm_probe_cache": str(tmp_path / "kvm" / "kvm-probe.json")}
    (tmp_path / "units").mkdir(exist_ok=True)
    guests = [{"name": "vm1", "nics": [{"type": "vhost-user", "socket": dirs["vhost"] + "/vm1.sock"}]},
              {"name": "vm2", "nics": [{"type": "vhost-user", "socket": dirs["guests"] + "/vm2.sock"}]}]
    sockets = [nic["socket"] for guest in guests for nic in guest["nics"]]
    play = [{"hosts": "localhost", "connection": "local", "gather_facts": False,
             "vars": {"ansible_python_interpreter": "/usr/bin/python3"},
             "tasks": [
                 {"name": "Guests",
                  "ansible.builtin.include_role": {"name": "nfv.dpdk.qemu_vms", "tasks_from": "absent.yml"},
                  "vars": {"qemu_vms_guests": [], "qemu_vms_unit_dir": str(tmp_path / "units"),
                           "qemu_vms_run_dir": dirs["qemu"], "qemu_vms_helper_dir": str(tmp_path / "helper"),
                           "qemu_vms_group": GROUP}},
                 {"name": "Open vSwitch",
                  "ansible.builtin.include_role": {"name": "nfv.dpdk.ovs_dpdk", "tasks_from": "absent.yml"},
                  "vars": {"ovs_dpdk_vhost_socket_dir": vhost_dir or dirs["vhost"], "ovs_dpdk_guest_sockets": sockets,
                           "ovs_dpdk_vhost_socket_group": GROUP, "ovs_dpdk_vswitchd_alternative": "/nonexistent"}},
             ]}]
    (tmp_path / "play.yml").write_text(json.dumps(play))
    # role-private names pointed at temporary files: this machine's boot-time entry and KVM verdict stay
    (tmp_path / "extra.json").write_text(json.dumps({"__ovs_dpdk_tmpfiles_conf": str(tmp_path / "vhost.conf"),
                                                     "__qemu_vms_names": names}))
    argv = [os.path.join(VENV_BIN, "ansible-playbook"), "-i", "localhost,", "--diff",
            "-e", "@" + str(tmp_path / "extra.json"), str(tmp_path / "play.yml")] + (["--check"] if check else [])
    proc = subprocess.run(argv, env=ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=120, check=False)
    recap = re.search(r"localhost\s+: ok=\d+\s+changed=(\d+)", proc.stdout)
    return proc.returncode, proc.stdout, int(recap.group(1)) if recap else None


def test_decommission_removes_only_what_the_collection_made(tmp_path, run_dirs):
    paths = [{"path": run_dirs["vhost"], "field": "ovs_dpdk_vhost_socket_dir"},
             {"path": run_dirs["guests"], "field": "qemu_vms_socket_dirs[0]"}]
    check = run_module("runtime_dirs", {"paths": paths, "group": GROUP}, check=True)
    assert check["changed"] and not os.path.exists(run_dirs["vhost"])
    made = run_module("runtime_dirs", {"paths": paths, "group": GROUP})
    assert made["changes"] == check["changes"] and len(made["changes"]) == 2
    info = os.lstat(run_dirs["vhost"])
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (0, 1, 0o770)
    assert run_module("runtime_dirs", {"paths": paths, "group": GROUP})["changed"] is False
    # what the guests and systemd leave: the vhost-user sockets, the run directory's parent root:root 0755
    make_socket(run_dirs["vhost"] + "/vm1.sock")
    make_socket(run_dirs["guests"] + "/vm2.sock")
    os.mkdir(run_dirs["qemu"], 0o755)
    with open(run_dirs["vhost"] + "/foreign.txt", "w") as handle:
        handle.write("not the collection's")
    (tmp_path / "vhost.conf").write_text("d %s 0770 root %s -\n" % (run_dirs["vhost"], GROUP))

    rc, output, changed = decommission(tmp_path, run_dirs, check=True)
    assert rc == 0, output
    assert changed > 0 and os.path.exists(run_dirs["vhost"] + "/vm1.sock") and os.path.isdir(run_dirs["guests"])
    assert os.path.isdir(run_dirs["qemu"]) and (tmp_path / "vhost.conf").exists()

    rc, output, changed = decommission(tmp_path, run_dirs)
    assert rc == 0, output
    assert os.listdir(run_dirs["vhost"]) == ["foreign.txt"]  # the guest's socket went, the foreign file stayed
    with open(run_dirs["vhost"] + "/foreign.txt") as handle:
        assert handle.read() == "not the collection's"
    assert not os.path.exists(run_dirs["guests"]) and not os.path.exists(run_dirs["qemu"])
    assert not (tmp_path / "vhost.conf").exists()
    assert ("ovs_dpdk_vhost_socket_dir: %s is left in place: it holds 1 entry the collection did not make "
            "(foreign.txt)" % run_dirs["vhost"]) in " ".join(output.split())

    rc, output, changed = decommission(tmp_path, run_dirs)
    assert rc == 0 and changed == 0, output
    assert os.listdir(run_dirs["vhost"]) == ["foreign.txt"]


@pytest.mark.parametrize("case", ["symlink", "world-writable parent"])
def test_a_directory_refused_on_the_host_fails_decommission_before_any_change(tmp_path, run_dirs, case):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "data").write_text("someone else's")
    if case == "symlink":
        os.symlink(str(elsewhere), run_dirs["link"])
        vhost_dir, expected = run_dirs["link"], "%s is a symbolic link, not a directory" % run_dirs["link"]
    else:
        os.mkdir(run_dirs["open"])
        os.chmod(run_dirs["open"], 0o1777)
        vhost_dir = run_dirs["open"] + "/vhost"
        expected = "%s is below %s, which every user may write in (sticky, like /tmp)" % (vhost_dir, run_dirs["open"])
    (tmp_path / "vhost.conf").write_text("d %s 0770 root %s -\n" % (vhost_dir, GROUP))
    rc, output, _changed = decommission(tmp_path, run_dirs, vhost_dir=vhost_dir)
    assert rc != 0
    assert "ovs_dpdk_vhost_socket_dir: " + expected in " ".join(output.split()), output
    assert (tmp_path / "vhost.conf").exists()  # the role failed before it removed its boot-time entry
    assert (elsewhere / "data").read_text() == "someone else's"


def test_a_socket_dir_of_another_program_fails_the_role_at_its_first_task(tmp_path):
    play = [{"hosts": "localhost", "connection": "local", "gather_facts": False,
             "vars": {"ansible_python_interpreter": "/usr/bin/python3",
                      "ovs_dpdk_vhost_socket_dir": "/run/systemd/vhost"},
             "roles": [{"role": "nfv.dpdk.ovs_dpdk"}]}]
    (tmp_path / "play.yml").write_text(json.dumps(play))
    proc = subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "-i", "localhost,", "--check",
                           str(tmp_path / "play.yml")], env=ansible_env(), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, timeout=120, check=False)
    assert proc.returncode != 0
    output = " ".join(proc.stdout.split())
    assert ("ovs_dpdk_vhost_socket_dir /run/systemd/vhost is inside /run/systemd, the runtime directory of other "
            "software") in output, proc.stdout
    assert "Read the host (its release)" not in output  # nothing after the check ran


def host_absent(tmp_path, check=False):
    """nfv.dpdk.host's absent entry point with its SR-IOV names and CPUAffinity drop-in pointed at temporary paths."""
    extra = {"__host_sriov_names": {"unit": "nfv-test-none.service", "unit_file": str(tmp_path / "none.service"),
                                    "program": str(tmp_path / "none-program"), "conf_dir": str(tmp_path / "sriov.d")},
             "__host_cpu_affinity_dropin": str(tmp_path / "cpu-affinity.conf")}
    (tmp_path / "extra.json").write_text(json.dumps(extra))
    play = [{"hosts": "localhost", "connection": "local", "gather_facts": False,
             "vars": {"ansible_python_interpreter": "/usr/bin/python3"},
             "tasks": [{"name": "Host",
                        "ansible.builtin.include_role": {"name": "nfv.dpdk.host", "tasks_from": "absent.yml"}}]}]
    (tmp_path / "host.yml").write_text(json.dumps(play))
    argv = [os.path.join(VENV_BIN, "ansible-playbook"), "-i", "localhost,", "-e", "@" + str(tmp_path / "extra.json"),
            str(tmp_path / "host.yml")] + (["--check"] if check else [])
    proc = subprocess.run(argv, env=ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout
    return " ".join(proc.stdout.split())


def test_host_absent_keeps_the_sriov_directory_while_it_holds_a_foreign_file(tmp_path):
    conf_dir = tmp_path / "sriov.d"
    conf_dir.mkdir()
    (conf_dir / "notes.txt").write_text("not nfv.dpdk.sriov_vfs'")
    output = host_absent(tmp_path)
    assert (conf_dir / "notes.txt").read_text() == "not nfv.dpdk.sriov_vfs'"
    assert "%s is left in place: it holds notes.txt" % conf_dir in output
    (conf_dir / "notes.txt").unlink()
    assert re.search(r"localhost : ok=\d+ changed=1 ", host_absent(tmp_path, check=True))  # the rmdir, predicted
    assert conf_dir.is_dir()
    host_absent(tmp_path)
    assert not conf_dir.exists()
    assert re.search(r"localhost : ok=\d+ changed=0 ", host_absent(tmp_path))
