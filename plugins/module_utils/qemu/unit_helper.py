# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# Managed by nfv.dpdk.qemu_vm: ExecStop=, ExecStartPre=, ExecStart= and ExecStartPost= helper of QEMU guest units.
# usage: nfv-qemu-powerdown QMP_SOCKET TIMEOUT_SECONDS
#   Sends system_powerdown over the QMP unix socket and waits until QEMU closes
#   the connection (the guest powered off) or the timeout passes; then systemd
#   stops whatever is left (SIGTERM, on which QEMU exits cleanly).
# usage: nfv-qemu-powerdown pin QMP_SOCKET TIMEOUT_SECONDS EMULATOR_CPUS VCPU0_CPUS [VCPU1_CPUS ...]
#   Asks QMP (query-cpus-fast) for each vCPU's thread and pins vCPU i to VCPUi_CPUS
#   and every other thread of QEMU to EMULATOR_CPUS ("-": left as they are).
#   Exits non-zero, naming the cause, when a thread cannot be pinned as asked.
# usage: nfv-qemu-powerdown mkdir GROUP DIR [DIR ...]
#   ExecStartPre=+ as root: creates each missing DIR root:GROUP mode 0770 (a missing parent root:root 0755,
#   whatever the unit's UMask=) and leaves one that exists (a directory of an earlier start or anyone else's,
#   a file, a symbolic link) exactly as it is. Exits non-zero, naming the directory, when one cannot be made.
# usage: nfv-qemu-powerdown keep-console LOG MAX_BYTES
#   ExecStartPre= as the service user: keeps the previous run's console as LOG.1 (its last MAX_BYTES; the
#   console writer of ExecStart= empties LOG when it starts), replaced as the writer replaces LOG (temp file +
#   rename, mode 0640). A symbolic link at LOG or LOG.1 is left alone, never followed.
# usage: nfv-qemu-powerdown console LOG MAX_BYTES -- QEMU_ARGV...
#   ExecStart= (libvirt's virtlogd in small): forks a writer (twice, so QEMU never has a child to reap), then
#   this process puts the write end of a pipe on stdout and execs QEMU_ARGV, so the unit's main PID is QEMU's
#   and its /proc cmdline is QEMU_ARGV; QEMU's serial console is its stdout (-chardev stdio). The writer reads
#   the pipe until QEMU exits and writes LOG (truncated at start, mode 0640, never through a link); before LOG
#   would pass MAX_BYTES it replaces LOG (temp file + rename) by its last MAX_BYTES/2 bytes, so LOG never
#   exceeds MAX_BYTES and ends with the latest output. A write that fails is said once in the journal; the
#   writer keeps draining the pipe (QEMU never blocks on it) and ignores SIGTERM until QEMU's last bytes.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import grp
import json
import os
import signal
import socket
import sys
import time


def say(stream, line):
    """One line of the unit's journal (systemd keeps the helper's stdout and stderr)."""
    stream.write(line + "\n")
    stream.flush()


def parse_cpulist(text):
    cpus = set()
    for part in text.split(","):
        low, _sep, high = part.partition("-")
        cpus.update(range(int(low), int(high or low) + 1))
    return sorted(cpus)


def qmp_connect(path, timeout):
    """A connected QMP stream; retries while QEMU has not created the socket yet."""
    deadline = time.monotonic() + timeout
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(5)
        try:
            sock.connect(path)
            # QEMU greets once its main loop runs, after preallocating guest memory: wait up to the deadline
            sock.settimeout(max(1.0, deadline - time.monotonic()))
            return sock, sock.makefile("rwb")
        except OSError:
            sock.close()
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.2)


def qmp_command(stream, name):
    stream.write(json.dumps({"execute": name}).encode() + b"\n")
    stream.flush()
    while True:
        line = stream.readline()
        if not line:
            return None
        reply = json.loads(line.decode())
        if "return" in reply or "error" in reply:
            return reply


def pin_plan(vcpu_threads, tasks, pins, emulator):
    """{tid: cpus} to apply, and the problems: vcpu_threads {index: tid} from query-cpus-fast, tasks the tids
    of QEMU, pins one CPU list per vCPU, emulator the CPUs of every other thread (None: leave them)."""
    problems = []
    if sorted(vcpu_threads) != list(range(len(pins))):
        problems.append("QEMU reports vCPUs %s, the unit pins vCPUs 0-%d"
                        % (",".join(str(i) for i in sorted(vcpu_threads)) or "none", len(pins) - 1))
    plan = {}
    for index in sorted(vcpu_threads):
        tid = vcpu_threads[index]
        if index >= len(pins):
            continue
        if tid in plan and plan[tid] != pins[index]:
            problems.append("vCPUs share thread %d (single-threaded TCG?): vCPU %d cannot have CPUs of its own"
                            % (tid, index))
        plan[tid] = pins[index]
    if emulator:
        for tid in tasks:
            plan.setdefault(tid, emulator)
    return plan, problems


def pin(argv):
    path, timeout, emulator = argv[2], float(argv[3]), argv[4]
    pins = [parse_cpulist(a) for a in argv[5:]]
    emulator = None if emulator == "-" else parse_cpulist(emulator)
    try:
        sock, stream = qmp_connect(path, timeout)
        with sock:
            stream.readline()  # greeting
            qmp_command(stream, "qmp_capabilities")
            reply = qmp_command(stream, "query-cpus-fast")
    except (OSError, ValueError) as exc:
        say(sys.stderr, "nfv-qemu-pin: QMP %s: %s" % (path, exc))
        return 1
    if not reply or "return" not in reply:
        say(sys.stderr, "nfv-qemu-pin: query-cpus-fast failed: %s" % json.dumps(reply))
        return 1
    vcpu_threads = dict((cpu["cpu-index"], cpu["thread-id"]) for cpu in reply["return"])
    pid = qemu_pid(vcpu_threads)
    tasks = sorted(int(t) for t in os.listdir("/proc/%d/task" % pid)) if pid else []
    plan, problems = pin_plan(vcpu_threads, tasks, pins, emulator)
    for tid, cpus in sorted(plan.items()):
        try:
            os.sched_setaffinity(tid, cpus)
        except OSError as exc:
            problems.append("thread %d to CPUs %s: %s" % (tid, ",".join(str(c) for c in cpus), exc))
    for problem in problems:
        say(sys.stderr, "nfv-qemu-pin: %s" % problem)
    if problems:
        return 1
    done = ["vCPU %d thread %d -> CPUs %s" % (i, t, ",".join(str(c) for c in pins[i]))
            for i, t in sorted(vcpu_threads.items()) if i < len(pins)]
    if emulator:
        done.append("%d other thread(s) -> CPUs %s"
                    % (len(plan) - len(vcpu_threads), ",".join(str(c) for c in emulator)))
    say(sys.stdout, "nfv-qemu-pin: %s" % "; ".join(done))
    return 0


def qemu_pid(vcpu_threads):
    """The QEMU process (Tgid of a vCPU thread), None when unknown."""
    for tid in vcpu_threads.values():
        try:
            with open("/proc/%d/status" % tid) as handle:
                for line in handle:
                    if line.startswith("Tgid:"):
                        return int(line.split()[1])
        except OSError:
            continue
    return None


DIR_MODE = 0o770  # a guest's own hugepage or socket directory: root:<the guest's group>
PARENT_MODE = 0o755  # a missing parent of one: root:root, as install -d and systemd-tmpfiles make it


def make_dirs(argv):
    if len(argv) < 4:
        say(sys.stderr, "nfv-qemu-mkdir: usage: mkdir GROUP DIR [DIR ...], got %s" % " ".join(argv[1:]))
        return 2
    group, dirs = argv[2], argv[3:]
    try:
        gid = grp.getgrnam(group).gr_gid
    except KeyError:
        say(sys.stderr, "nfv-qemu-mkdir: group %s does not exist; %s not created" % (group, ", ".join(dirs)))
        return 1
    for path in dirs:
        try:
            make_dir(path, 0, gid, DIR_MODE)
        except OSError as exc:
            say(sys.stderr, "nfv-qemu-mkdir: cannot create the directory %s: %s" % (path, exc.strerror or exc))
            return 1
    return 0


def make_dir(path, uid, gid, mode):
    """`path` created uid:gid `mode` when nothing is there (not even a link), its missing parents root 0755;
    anything already there is left as it is."""
    if os.path.lexists(path):
        return
    parent = os.path.dirname(path)
    if parent != path:
        make_dir(parent, 0, 0, PARENT_MODE)
    try:
        os.mkdir(path, 0o700)  # nobody else's until it is the guest's group's
    except FileExistsError:
        return  # made meanwhile (by another guest's start): left as it is
    os.chown(path, uid, gid, follow_symlinks=False)
    os.chmod(path, mode)  # not the unit's UMask=


def keep_console(argv):
    log, keep = argv[2], int(argv[3])
    try:
        source = os.open(log, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return 0  # no console yet (or a link): nothing to keep
    try:
        data = last_bytes(source, os.fstat(source).st_size, keep)
    finally:
        os.close(source)
    kept = log + ".1"
    try:
        os.close(replace_file(kept, data))
    except OSError as exc:
        say(sys.stdout, "nfv-qemu-powerdown: cannot keep the previous console in %s: %s" % (kept, exc))
    return 0


class ConsoleLog:
    """LOG of the current run: at most `limit` bytes, ending with the latest output; after a failed write
    (said once) the output is discarded."""

    def __init__(self, path, limit, stream=sys.stderr):
        self.path, self.limit, self.stream = path, limit, stream
        self.keep = max(1, limit // 2)
        self.size = 0
        self.fd = None
        try:
            self.fd = open_log(path)
        except OSError as exc:
            self.fail("cannot open %s" % path, exc)

    def fail(self, what, exc):
        say(self.stream, "nfv-qemu-console: %s: %s; the guest's console output is discarded from now on"
            % (what, exc))
        if self.fd is not None:
            os.close(self.fd)
        self.fd = None

    def write(self, data):
        if self.fd is None or not data:
            return
        try:
            if self.size + len(data) > self.limit:
                self.rotate(data)
            else:
                write_all(self.fd, data)
                self.size += len(data)
        except OSError as exc:
            self.fail("cannot write %s" % self.path, exc)

    def rotate(self, data):
        """LOG replaced, atomically, by the last `keep` bytes of what it holds followed by `data`."""
        tail = last_bytes(self.fd, self.size, max(0, self.keep - len(data))) + data
        tail = tail[len(tail) - min(len(tail), self.keep):]
        fresh = replace_file(self.path, tail)
        os.close(self.fd)
        self.fd, self.size = fresh, len(tail)

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def open_log(path):
    """`path` emptied (or created) mode 0640 for reading and writing; never through a symbolic link."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o640)
    with contextlib.suppress(OSError):  # not the service user's file: its mode stays, and so does the console
        os.fchmod(fd, 0o640)  # a LOG of QEMU's file chardev was 0660
    return fd


def replace_file(path, data):
    """`path` replaced, atomically, by a file holding `data` (written as `path`.tmp by open_log, then renamed):
    the new file's descriptor, open for reading and writing. Raises OSError, leaving `path` as it was."""
    fresh = open_log(path + ".tmp")
    try:
        write_all(fresh, data)
        os.rename(path + ".tmp", path)
    except OSError:
        os.close(fresh)
        raise
    return fresh


def last_bytes(fd, size, count):
    """The last `count` bytes (at most) of the first `size` bytes of the file open as `fd`."""
    count = min(size, count)
    return os.pread(fd, count, size - count) if count > 0 else b""


def write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def drain(source, log):
    """Copies the pipe `source` into `log` until end of file (every writer gone: QEMU exited)."""
    while True:
        data = os.read(source, 65536)
        if not data:
            log.close()
            return
        log.write(data)


def console(argv):
    if len(argv) < 6 or argv[4] != "--" or not argv[3].isdigit() or int(argv[3]) < 2:
        say(sys.stderr, "nfv-qemu-console: usage: console LOG MAX_BYTES -- QEMU_ARGV... (MAX_BYTES >= 2), got %s"
            % " ".join(argv[1:6]))
        return 2
    log, limit, qemu = argv[2], int(argv[3]), argv[5:]
    try:
        source, sink = os.pipe()
        middle = os.fork()
    except OSError as exc:
        say(sys.stderr, "nfv-qemu-console: cannot start the console writer: %s" % exc)
        return 1
    if middle == 0:  # forks the writer and exits at once: the writer is reparented, QEMU gets no child
        status = 1
        try:
            os.close(sink)
            if os.fork() == 0:
                signal.signal(signal.SIGTERM, signal.SIG_IGN)  # systemd stops QEMU and us together: drain first
                drain(source, ConsoleLog(log, limit))
            status = 0
        except BaseException as exc:  # a forked child ends here, never returns into main()
            say(sys.stderr, "nfv-qemu-console: console writer: %s" % exc)
        os._exit(status)
    os.close(source)
    if os.waitpid(middle, 0)[1] != 0:
        return 1  # the writer did not start (said above): no QEMU whose console would be lost
    os.dup2(sink, 1)
    os.close(sink)
    for sig in (signal.SIGPIPE, signal.SIGXFSZ):  # python ignores them; QEMU starts as systemd would start it
        signal.signal(sig, signal.SIG_DFL)
    try:
        os.execv(qemu[0], qemu)
    except OSError as exc:
        say(sys.stderr, "nfv-qemu-console: cannot run %s: %s" % (qemu[0], exc))
    return 127


def main(argv):
    if len(argv) > 1 and argv[1] == "pin":
        return pin(argv)
    if len(argv) > 1 and argv[1] == "mkdir":
        return make_dirs(argv)
    if len(argv) > 3 and argv[1] == "keep-console":
        return keep_console(argv)
    if len(argv) > 1 and argv[1] == "console":
        return console(argv)
    path = argv[1]
    timeout = float(argv[2]) if len(argv) > 2 else 60.0
    deadline = time.monotonic() + timeout
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(5)
    try:
        sock.connect(path)
    except OSError as exc:
        say(sys.stdout, "nfv-qemu-powerdown: cannot connect to %s: %s (guest not running)" % (path, exc))
        return 0
    stream = sock.makefile("rwb")
    try:
        stream.readline()  # greeting
        qmp_command(stream, "qmp_capabilities")
        reply = qmp_command(stream, "system_powerdown")
        say(sys.stdout, "nfv-qemu-powerdown: system_powerdown sent: %s" % json.dumps(reply))
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                say(sys.stdout, "nfv-qemu-powerdown: guest still running after %ss" % timeout)
                return 0
            sock.settimeout(left)
            if not stream.readline():
                say(sys.stdout, "nfv-qemu-powerdown: QEMU exited")
                return 0
    except (OSError, ValueError) as exc:
        say(sys.stdout, "nfv-qemu-powerdown: %s" % exc)
        return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
