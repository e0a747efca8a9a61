"""Per-vCPU pinning on a real QEMU: the unit's ExecStartPost= pin step, then the post-converge check.

This machine has no systemd as PID 1, so the test does what systemd does with the unit nfv.dpdk.qemu_vm
writes: QEMU runs with the unit's exact ExecStart= argv as the unprivileged service user (nobody/nogroup),
with the unit's CPUAffinity= as its starting affinity; then the unit's exact ExecStartPost= argv (the helper's
`pin` subcommand, under the system python3, as the same user) pins the threads over QMP. The guest boots from
an empty disk (the firmware keeps looking for a boot device): its vCPU threads run, which is all pinning needs.

What is read back is the kernel's: Cpus_allowed_list of every thread in /proc/PID/task. The check
`running_guest_conflicts` is the one nfv.dpdk.cpu_layout's check_running runs for each guest (there with the
unit's MainPID from systemd), over the same readers (kernel.read_cpus_allowed, kernel.read_task_names).
"""

import grp
import os
import pwd
import shutil
import subprocess
import tempfile
import time

import pytest

from ansible_collections.nfv.dpdk.plugins.module_utils.core.programs import system_python
from ansible_collections.nfv.dpdk.plugins.module_utils.core.systemd_unit import unescape_exec
from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.cpus import format_cpulist, parse_cpulist
from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.running_check import running_guest_conflicts
from ansible_collections.nfv.dpdk.plugins.module_utils.cpu.topology import Topology
from ansible_collections.nfv.dpdk.plugins.module_utils.host import kernel
from ansible_collections.nfv.dpdk.plugins.module_utils.host.facts import layout_facts
from ansible_collections.nfv.dpdk.plugins.module_utils.host.hostfs import HostFS
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.argv import qemu_argv
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.spec import guest_spec
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.unit_commands import helper_argv, helper_text
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.unit_reader import unit_exec_start
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.unit_text import unit_text

pytestmark = pytest.mark.component

SERVICE_USER, SERVICE_GROUP = "nobody", "nogroup"
with open("/sys/devices/system/cpu/online") as _handle:
    ONLINE = parse_cpulist(_handle.read().strip())


class Which:
    def find(self, name):
        return shutil.which(name, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")


def unit_lines(text, key):
    return [line.split("=", 1)[1] for line in text.splitlines() if line.startswith(key + "=")]


def read(path):
    with open(path, errors="replace") as handle:
        return handle.read()


def threads_of(pid):
    """{tid: (name, cpus)} of a process, read from /proc."""
    fs = HostFS()
    names = kernel.read_task_names(fs, pid)
    return dict((tid, (name, kernel.read_cpus_allowed(fs, "%d/task/%s" % (pid, tid)))) for tid, name in names.items())


@pytest.fixture
def run_root():
    if os.geteuid() != 0 or shutil.which("qemu-system-x86_64") is None:
        pytest.skip("needs root and qemu-system-x86_64")
    if len(ONLINE) < 2:
        pytest.skip("needs two online CPUs")
    path = tempfile.mkdtemp(prefix="nfvpin-", dir="/run")
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_vcpu_threads_pinned_by_the_unit_and_checked_after_converge(run_root, processes):
    vcpu_cpus, emulator = ONLINE[:2], ONLINE[0]
    uid, gid = pwd.getpwnam(SERVICE_USER).pw_uid, grp.getgrnam(SERVICE_GROUP).gr_gid
    disk = os.path.join(run_root, "empty.raw")
    with open(disk, "wb") as handle:
        handle.truncate(1 << 20)
    vm = {"name": "nfvpin", "vcpus": 2, "vcpu_pins": list(vcpu_cpus), "emulator_cpus": str(emulator)}
    spec = guest_spec(dict(vm, state="started", memory="64M", disks=[{"path": disk, "readonly": True}],
                           user=SERVICE_USER, group=SERVICE_GROUP, run_dir=run_root,
                           helper_dir=os.path.join(run_root, "libexec")))
    python = system_python(Which(), "the guest unit's helper")  # the interpreter the unit's helper lines use
    qemu = Which().find("qemu-system-x86_64")
    argv = qemu_argv(spec, qemu, "tcg")
    text = unit_text(spec, argv, [], helper_argv(spec, python), "tcg")
    assert unit_exec_start(text) == argv
    affinity = parse_cpulist(unit_lines(text, "CPUAffinity")[0])
    assert affinity == sorted(set(vcpu_cpus) | {emulator})
    post = unescape_exec(unit_lines(text, "ExecStartPost")[0])

    # what systemd provides: the helper file (written by the module), RuntimeDirectory= of the service user
    os.makedirs(spec["helper_dir"])
    helper = os.path.join(spec["helper_dir"], "nfv-qemu-powerdown")
    with open(helper, "w") as handle:
        handle.write(helper_text(python))
    os.chmod(helper, 0o755)
    os.makedirs(spec["run_subdir"], 0o750)
    os.chown(spec["run_subdir"], uid, gid)
    serial = os.path.join(spec["run_subdir"], "serial.log")
    started = time.monotonic()
    with open(os.path.join(run_root, "qemu.out"), "w") as out:
        # CPUAffinity=: the affinity QEMU starts with (taskset execs QEMU: same pid); User=, Group=, UMask=
        taskset = [Which().find("taskset"), "-c", format_cpulist(affinity)]
        processes.append(subprocess.Popen(taskset + qemu_argv(spec, qemu, "tcg", serial=serial), user=uid,
                                          group=gid, umask=0o007, stdin=subprocess.DEVNULL, stdout=out,
                                          stderr=subprocess.STDOUT))
    pid = processes[0].pid
    # ExecStartPost=: right after the start, as the service user (it waits for the QMP socket itself)
    pin = subprocess.run(post, user=uid, group=gid, capture_output=True, text=True, timeout=60, check=False)
    assert pin.returncode == 0, (pin.stdout, pin.stderr, read(os.path.join(run_root, "qemu.out")))
    pinned_after = time.monotonic() - started
    assert processes[0].poll() is None

    threads = threads_of(pid)
    vcpus = dict((name, (tid, cpus)) for tid, (name, cpus) in threads.items() if name.startswith("CPU "))
    assert sorted(vcpus) == ["CPU 0/TCG", "CPU 1/TCG"], threads
    assert vcpus["CPU 0/TCG"][1] == [vcpu_cpus[0]] and vcpus["CPU 1/TCG"][1] == [vcpu_cpus[1]], threads
    others = dict((tid, cpus) for tid, (name, cpus) in threads.items() if not name.startswith("CPU "))
    assert len(others) >= 2 and all(cpus == [emulator] for cpus in others.values()), threads
    assert "vCPU 0 thread %s -> CPUs %d" % (vcpus["CPU 0/TCG"][0], vcpu_cpus[0]) in pin.stdout

    # the post-converge check (nfv.dpdk.cpu_layout check_running's per-guest part) finds nothing
    topo = Topology.from_facts(layout_facts(HostFS()))
    guest = {"pid": pid, "threads": dict((tid, cpus) for tid, (_name, cpus) in threads.items())}
    names = dict((tid, name) for tid, (name, _cpus) in threads.items())
    assert running_guest_conflicts(vm, guest, names, [], topo) == []

    # someone moves vCPU 1's thread onto vCPU 0's CPU: the check names the guest and the vCPU
    tid = vcpus["CPU 1/TCG"][0]
    os.sched_setaffinity(int(tid), [vcpu_cpus[0]])
    threads = threads_of(pid)
    guest = {"pid": pid, "threads": dict((t, cpus) for t, (_name, cpus) in threads.items())}
    found = running_guest_conflicts(vm, guest, names, [], topo)
    assert found == ["guest nfvpin vCPU 1 (thread %s) runs on CPUs %d, not its vcpu_pins[1] %d (restart the guest "
                     "to pin it again)" % (tid, vcpu_cpus[0], vcpu_cpus[1])]
    print("pinned %.1f s after start; %d threads" % (pinned_after, len(threads)))

    # a pin step QEMU cannot satisfy fails (systemd then fails the start) and names the cause
    wrong = subprocess.run(post + [str(vcpu_cpus[0])], user=uid, group=gid, capture_output=True, text=True,
                           timeout=60, check=False)
    assert wrong.returncode == 1 and "QEMU reports vCPUs 0,1, the unit pins vCPUs 0-2" in wrong.stderr, wrong
