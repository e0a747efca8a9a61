# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# Managed by nfv.dpdk.qemu_vm: ExecStop= and ExecStartPost= helper of QEMU guest units.
# usage: nfv-qemu-powerdown QMP_SOCKET TIMEOUT_SECONDS
#   Sends system_powerdown over the QMP unix socket and waits until QEMU closes
#   the connection (the guest powered off) or the timeout passes; then systemd
#   stops whatever is left (SIGTERM, on which QEMU exits cleanly).
# usage: nfv-qemu-powerdown pin QMP_SOCKET TIMEOUT_SECONDS EMULATOR_CPUS VCPU0_CPUS [VCPU1_CPUS ...]
#   Asks QMP (query-cpus-fast) for each vCPU's thread and pins vCPU i to VCPUi_CPUS
#   and every other thread of QEMU to EMULATOR_CPUS ("-": left as they are).
#   Exits non-zero, naming the cause, when a thread cannot be pinned as asked.
# usage: nfv-qemu-powerdown keep-console LOG MAX_BYTES
#   ExecStartPre= as the service user: keeps the previous run's console as LOG.1 (its last MAX_BYTES; QEMU
#   truncates LOG when it starts). A symbolic link at LOG or LOG.1 is left alone, never followed.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
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


def keep_console(argv):
    log, keep = argv[2], int(argv[3])
    try:
        source = os.open(log, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return 0  # no console yet (or a link): nothing to keep
    try:
        size = os.fstat(source).st_size
        os.lseek(source, max(0, size - keep), os.SEEK_SET)
        data = os.read(source, keep)
    finally:
        os.close(source)
    kept = log + ".1"
    try:
        target = os.open(kept + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o640)
        with os.fdopen(target, "wb") as handle:
            handle.write(data)
        os.rename(kept + ".tmp", kept)
    except OSError as exc:
        say(sys.stdout, "nfv-qemu-powerdown: cannot keep the previous console in %s: %s" % (kept, exc))
    return 0


def main(argv):
    if len(argv) > 1 and argv[1] == "pin":
        return pin(argv)
    if len(argv) > 3 and argv[1] == "keep-console":
        return keep_console(argv)
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
