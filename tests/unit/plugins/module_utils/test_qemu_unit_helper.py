# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The guest units' helper (module_utils/qemu_unit_helper.py): its pure parts, and the program as the unit runs it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import grp
import io
import os
import socket
import subprocess
import sys
import threading

import pytest

from ansible_collections.nfv.dpdk.plugins.module_utils.qemu import unit_helper as helper
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.spec import guest_spec
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.unit_commands import helper_text, prestart_commands


def test_pin_plan():
    # vCPU i -> its pins; every other thread of QEMU -> emulator CPUs
    plan, problems = helper.pin_plan({0: 976, 1: 977}, [971, 973, 975, 976, 977], [[0], [1]], [0])
    assert problems == []
    assert plan == {976: [0], 977: [1], 971: [0], 973: [0], 975: [0]}
    # no emulator CPUs: only the vCPU threads are moved
    plan, problems = helper.pin_plan({0: 976, 1: 977}, [971, 976, 977], [[2, 3], [4]], None)
    assert plan == {976: [2, 3], 977: [4]} and problems == []
    # single-threaded TCG: two vCPUs on one thread cannot have CPUs of their own
    _plan, problems = helper.pin_plan({0: 976, 1: 976}, [971, 976], [[0], [1]], None)
    assert problems == ["vCPUs share thread 976 (single-threaded TCG?): vCPU 1 cannot have CPUs of its own"]
    # QEMU and the unit disagree on the vCPUs
    _plan, problems = helper.pin_plan({0: 976}, [971, 976], [[0], [1]], None)
    assert problems == ["QEMU reports vCPUs 0, the unit pins vCPUs 0-1"]
    assert helper.parse_cpulist("0,2-4") == [0, 2, 3, 4]


def installed(tmp_path):
    """The helper as qemu_vm writes it to the host: the tree's file behind a shebang of this Python."""
    path = tmp_path / "nfv-qemu-powerdown"
    text = helper_text(sys.executable)
    with open(helper.__file__) as handle:
        assert text == "#!%s\n%s" % (sys.executable, handle.read())
    path.write_text(text)
    path.chmod(0o755)
    return str(path)


def fake_qemu(path, replies):
    """A QMP server on a unix socket that greets, answers each command in turn and then closes; the commands
    it received are returned by the thread's result list."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    received = []

    def serve():
        conn, _addr = server.accept()
        with conn, conn.makefile("rwb") as stream:
            stream.write(b'{"QMP": {"version": {}}}\n')
            stream.flush()
            for reply in replies:
                line = stream.readline()
                if not line:
                    break
                received.append(line.decode().strip())
                stream.write(reply.encode() + b"\n")
                stream.flush()
        server.close()

    thread = threading.Thread(target=serve, daemon=True)  # a failed test must not hang on accept()
    thread.start()
    return thread, received


def test_powerdown_without_a_guest_says_so_and_lets_systemd_go_on(tmp_path):
    out = subprocess.run([installed(tmp_path), str(tmp_path / "missing.sock"), "1"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=30,
                         check=False)
    assert out.returncode == 0
    assert "cannot connect to %s" % (tmp_path / "missing.sock") in out.stdout and "guest not running" in out.stdout


def test_powerdown_sends_system_powerdown_and_waits_for_qemu_to_close(tmp_path):
    sock = str(tmp_path / "qmp.sock")
    thread, received = fake_qemu(sock, ['{"return": {}}', '{"return": {}}'])
    out = subprocess.run([installed(tmp_path), sock, "20"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=30,
                         check=False)
    thread.join(10)
    assert out.returncode == 0, out.stdout
    assert received == ['{"execute": "qmp_capabilities"}', '{"execute": "system_powerdown"}']
    assert "system_powerdown sent" in out.stdout and "QEMU exited" in out.stdout


def test_pin_fails_naming_the_socket_when_qemu_never_answers(tmp_path):
    out = subprocess.run([installed(tmp_path), "pin", str(tmp_path / "none.sock"), "0.5", "-", "0"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=30,
                         check=False)
    assert out.returncode == 1
    assert out.stderr.startswith("nfv-qemu-pin: QMP %s: " % (tmp_path / "none.sock")), out.stderr


def test_pin_moves_this_process_to_the_cpus_it_already_has(tmp_path):
    # query-cpus-fast names this test's own thread as vCPU 0: the helper pins it to the CPUs it may run on
    cpus = sorted(os.sched_getaffinity(0))
    cpulist = ",".join(str(c) for c in cpus)
    sock = str(tmp_path / "qmp.sock")
    reply = '{"return": [{"cpu-index": 0, "thread-id": %d}]}' % os.getpid()
    thread, received = fake_qemu(sock, ['{"return": {}}', reply])
    out = subprocess.run([installed(tmp_path), "pin", sock, "20", "-", cpulist],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=30,
                         check=False)
    thread.join(10)
    assert out.returncode == 0, out.stderr
    assert received == ['{"execute": "qmp_capabilities"}', '{"execute": "query-cpus-fast"}']
    assert out.stdout.strip() == "nfv-qemu-pin: vCPU 0 thread %d -> CPUs %s" % (os.getpid(), cpulist)
    assert sorted(os.sched_getaffinity(0)) == cpus


# ---- mkdir: the guest's hugepage and socket directories, made root:<group> 0770 only where nothing is --------

def mkdir_step(tmp_path, *dirs):
    """The unit's ExecStartPre=+ mkdir step (prestart_commands) of a guest with vhost-user sockets in `dirs`, its
    helper installed in tmp_path: the program exactly as the unit runs it."""
    installed(tmp_path)
    spec = guest_spec({"name": "vm1", "memory": "256M", "kernel": "/boot/vmlinuz", "user": "nobody",
                       "group": "nogroup", "helper_dir": str(tmp_path),
                       "nics": [{"type": "vhost-user", "socket": "/run/vhost-%d/vm1/s.sock" % i}
                                for i in range(len(dirs))]})
    for nic, directory in zip(spec["nics"], dirs):
        nic["socket"] = os.path.join(str(directory), "s.sock")  # the same step on a private tree
    cmds = prestart_commands(spec, {}, sys.executable)
    assert len(cmds) == 1 and cmds[0][1] is False  # privileged, and its failure fails the start
    assert cmds[0][0][2:4] == ["mkdir", "nogroup"]
    return cmds[0][0]


def run_step(argv, umask=0o022):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          timeout=30, check=False, umask=umask)


def mode_owner(path):
    info = os.lstat(str(path))
    return info.st_mode & 0o7777, info.st_uid, info.st_gid


@pytest.mark.skipif(os.geteuid() != 0, reason="making a directory root:<group> needs root, as ExecStartPre=+ has")
def test_mkdir_creates_missing_directories_and_leaves_existing_ones(tmp_path):
    gid = grp.getgrnam("nogroup").gr_gid
    new, old = tmp_path / "new", tmp_path / "old"
    old.mkdir()
    os.chmod(str(old), 0o755)
    os.chown(str(old), 0, 0)
    step = mkdir_step(tmp_path, new, old)
    for _round in range(2):  # a second start changes nothing
        out = run_step(step)
        assert out.returncode == 0 and out.stdout == out.stderr == "", out
        assert mode_owner(new) == (0o770, 0, gid)
        assert mode_owner(old) == (0o755, 0, 0)  # not re-owned, not re-moded
    # a path taken by a file or a link (dangling too) is left alone, never followed; QEMU reports the problem
    os.rmdir(str(new))
    new.write_text("x")
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "elsewhere")
    assert run_step(mkdir_step(tmp_path, new, link)).returncode == 0
    assert new.read_text() == "x" and link.is_symlink() and not (tmp_path / "elsewhere").exists()
    # missing parents are made root 0755 whatever the unit's UMask=0077: the guest must reach its own directory
    own = tmp_path / "parent" / "vhost" / "vm1"
    assert run_step(mkdir_step(tmp_path, own), umask=0o077).returncode == 0
    for parent in (tmp_path / "parent", tmp_path / "parent" / "vhost"):
        assert mode_owner(parent) == (0o755, 0, 0)
    assert mode_owner(own) == (0o770, 0, gid)


def test_mkdir_fails_naming_the_directory_it_cannot_make(tmp_path):
    (tmp_path / "file").write_text("not a directory\n")
    wanted = tmp_path / "file" / "vm1"
    out = run_step(mkdir_step(tmp_path, wanted))
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr == "nfv-qemu-mkdir: cannot create the directory %s: Not a directory\n" % wanted
    # the next directories are not tried: the start fails on the first one
    later = tmp_path / "later"
    step = mkdir_step(tmp_path, later)
    out = run_step(step[:4] + [str(wanted)] + step[4:])
    assert out.returncode == 1 and str(wanted) in out.stderr and not later.exists()


def test_mkdir_refuses_a_group_that_does_not_exist_and_a_malformed_command_line(tmp_path):
    step = mkdir_step(tmp_path, tmp_path / "vm1")
    out = run_step(step[:3] + ["nfv-no-such-group"] + step[4:])
    assert out.returncode == 1 and not (tmp_path / "vm1").exists()
    assert out.stderr == "nfv-qemu-mkdir: group nfv-no-such-group does not exist; %s not created\n" % (tmp_path / "vm1")
    out = run_step(step[:4])
    assert out.returncode == 2 and out.stderr.startswith("nfv-qemu-mkdir: usage: mkdir GROUP DIR")


def keep_console(tmp_path, log, keep):
    return subprocess.run([installed(tmp_path), "keep-console", str(log), str(keep)], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, timeout=30, check=False)


def test_the_previous_console_is_kept_bounded_to_its_last_bytes(tmp_path):
    log = tmp_path / "vm1.log"
    log.write_bytes(b"boot 1\n" + b"x" * 5000 + b"\nlast line of run 1\n")
    out = keep_console(tmp_path, log, 100)
    assert out.returncode == 0, out.stdout
    kept = (tmp_path / "vm1.log.1").read_bytes()
    assert len(kept) == 100 and kept.endswith(b"last line of run 1\n")
    assert (tmp_path / "vm1.log.1").stat().st_mode & 0o777 == 0o640  # as the console writer makes LOG
    assert log.exists()  # left in place: the console writer of ExecStart= empties it when it starts
    assert not (tmp_path / "vm1.log.1.tmp").exists()


def test_no_console_yet_keeps_nothing(tmp_path):
    assert keep_console(tmp_path, tmp_path / "vm1.log", 100).returncode == 0
    assert not (tmp_path / "vm1.log.1").exists()


def test_links_planted_by_the_guest_user_are_never_followed(tmp_path):
    """The log directory belongs to the service user: a link at LOG or at LOG.1 must not make the step read or
    write another file."""
    secret = tmp_path / "secret"
    secret.write_text("not the console\n")
    log = tmp_path / "vm1.log"
    log.symlink_to(secret)
    assert keep_console(tmp_path, log, 100).returncode == 0
    assert not (tmp_path / "vm1.log.1").exists()
    log.unlink()
    log.write_text("console\n")
    (tmp_path / "vm1.log.1.tmp").symlink_to(secret)
    out = keep_console(tmp_path, log, 100)
    assert out.returncode == 0 and "cannot keep the previous console" in out.stdout
    assert secret.read_text() == "not the console\n"


# ---- console: the current run's serial console, bounded, ending with the latest output ------------

def test_the_console_log_never_passes_its_bound_and_ends_with_the_latest_output(tmp_path):
    path = tmp_path / "vm1.log"
    path.write_bytes(b"the previous run\n")  # truncated at start, as QEMU's file chardev did
    journal = io.StringIO()
    log = helper.ConsoleLog(str(path), 100, journal)
    assert path.read_bytes() == b"" and path.stat().st_mode & 0o777 == 0o640
    written = b""
    for n in range(40):
        chunk = b"line %02d\n" % n
        log.write(chunk)
        written += chunk
        held = path.read_bytes()
        assert len(held) <= 100 and written.endswith(held)
        assert len(held) >= min(len(written), 50)  # rotation keeps the last MAX/2 bytes
    log.write(b"x" * 70 + b"crash\n")  # a chunk beyond MAX/2: only its end stays
    assert path.read_bytes() == (b"x" * 70 + b"crash\n")[-50:]
    log.close()
    assert sorted(os.listdir(str(tmp_path))) == ["vm1.log"] and journal.getvalue() == ""


def test_the_console_log_follows_no_link_and_says_once_why_output_is_lost(tmp_path):
    secret = tmp_path / "secret"
    secret.write_bytes(b"not the console\n")
    (tmp_path / "vm1.log").symlink_to(secret)
    journal = io.StringIO()
    log = helper.ConsoleLog(str(tmp_path / "vm1.log"), 100, journal)
    log.write(b"a" * 500)
    assert journal.getvalue().startswith("nfv-qemu-console: cannot open %s: " % (tmp_path / "vm1.log"))
    assert journal.getvalue().count("\n") == 1 and "discarded" in journal.getvalue()
    (tmp_path / "vm1.log").unlink()
    (tmp_path / "vm1.log.tmp").symlink_to(secret)  # rotation must not write through a link either
    journal = io.StringIO()
    log = helper.ConsoleLog(str(tmp_path / "vm1.log"), 100, journal)
    for _n in range(10):
        log.write(b"b" * 30)
    assert (tmp_path / "vm1.log").read_bytes() == b"b" * 90 and secret.read_bytes() == b"not the console\n"
    assert journal.getvalue().count("\n") == 1 and "cannot write %s" % (tmp_path / "vm1.log") in journal.getvalue()


FAKE_QEMU = r'''
import os, sys
record, total, code = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
pid = os.getpid()
children = "/proc/%d/task/%d/children" % (pid, pid)
with open("/proc/self/cmdline", "rb") as handle:
    cmdline = handle.read().decode().split("\0")[:-1]
with open(record, "w") as handle:
    handle.write(repr((pid, open(children).read().split() if os.path.exists(children) else None, cmdline)))
out = b"".join(b"serial line %07d\n" % n for n in range(total // 20))[:total - 18] + b"\nEND OF THE CRASH\n"
if total <= 1024 * 1024:
    with open(record + ".sent", "wb") as handle:
        handle.write(out)
view = memoryview(out)
while view:
    view = view[os.write(1, view[:4096]):]
sys.exit(code)
'''


def fake_console(tmp_path, log, limit, total, code=0, file_size=None):
    """The helper's console subcommand around a fake QEMU (writes `total` bytes to stdout, exits `code`); the run
    returns when the writer is done too (it keeps the helper's stderr open until the end of the pipe).
    `file_size`: the helper's RLIMIT_FSIZE, so that a write of the log fails (EFBIG) beyond it."""
    fake = tmp_path / "fake-qemu.py"
    fake.write_text(FAKE_QEMU)
    qemu = [sys.executable, str(fake), str(tmp_path / "record"), str(total), str(code)]
    argv = [installed(tmp_path), "console", str(log), str(limit), "--"] + qemu
    if file_size:  # set in a process that then execs the helper: the PID stays the helper's
        argv = [sys.executable, "-c", "import os, resource, sys; resource.setrlimit(resource.RLIMIT_FSIZE, (%d, %d)); "
                "os.execv(sys.argv[1], sys.argv[1:])" % (file_size, file_size)] + argv
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True)
    out, err = proc.communicate(timeout=60)
    pid, children, cmdline = ast.literal_eval((tmp_path / "record").read_text())
    return proc, out + err, pid, children, cmdline, qemu


def test_console_execs_qemu_in_its_own_process_and_bounds_the_log_it_writes(tmp_path):
    log = tmp_path / "vm1.log"
    limit = 64 * 1024
    proc, said, pid, children, cmdline, qemu = fake_console(tmp_path, log, limit, 3 * limit, code=3)
    assert proc.returncode == 3 and said == ""
    assert pid == proc.pid and cmdline == qemu  # exec, not a child: the unit's MainPID and cmdline are QEMU's
    assert children in ([], None)  # the writer was forked twice: QEMU has no child to reap
    data = log.read_bytes()
    sent = (tmp_path / "record.sent").read_bytes()
    assert len(sent) == 3 * limit and data.endswith(b"\nEND OF THE CRASH\n")
    assert limit // 2 <= len(data) <= limit and sent.endswith(data)  # the latest output, byte for byte
    assert log.stat().st_mode & 0o777 == 0o640
    assert sorted(os.listdir(str(tmp_path))) == ["fake-qemu.py", "nfv-qemu-powerdown", "record", "record.sent",
                                                 "vm1.log"]


def test_console_keeps_draining_when_the_log_cannot_be_written(tmp_path):
    # writes beyond 8 KiB fail (EFBIG, as a full disk would fail them): the fake QEMU still writes all of its
    # 2 MiB (32 times a pipe's buffer) and exits, it never blocks; the journal gets one line naming the cause
    log = tmp_path / "vm1.log"
    proc, said, pid, _children, _cmdline, _qemu = fake_console(tmp_path, log, 64 * 1024, 2 * 1024 * 1024,
                                                               file_size=8192)
    assert proc.returncode == 0 and pid == proc.pid
    assert said.startswith("nfv-qemu-console: cannot write %s: [Errno 27] File too large" % log), said
    assert said.count("\n") == 1 and log.stat().st_size <= 8192
    # a link at LOG: nothing is written through it, everything is drained
    secret = tmp_path / "secret"
    secret.write_bytes(b"not the console\n")
    log.unlink()
    log.symlink_to(secret)
    proc, said, _pid, _children, _cmdline, _qemu = fake_console(tmp_path, log, 64 * 1024, 2 * 1024 * 1024)
    assert proc.returncode == 0 and said.startswith("nfv-qemu-console: cannot open %s: " % log), said
    assert secret.read_bytes() == b"not the console\n"


def test_console_refuses_a_malformed_command_line(tmp_path):
    out = subprocess.run([installed(tmp_path), "console", str(tmp_path / "vm1.log"), "4M", "--", "/bin/true"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=30,
                         check=False)
    assert out.returncode == 2 and out.stdout.startswith("nfv-qemu-console: usage: console LOG MAX_BYTES --")
    assert not (tmp_path / "vm1.log").exists()
