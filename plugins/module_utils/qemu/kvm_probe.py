# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decide KVM or TCG from a guest that really ran code under KVM, as the user that will run it.

Starting QEMU with ``-accel kvm`` proves little: on some hosts QEMU aborts at once
(``failed to set MSR``), on others it starts and a guest then hangs or crawls (a
Linux kernel prints nothing). So the probe boots a 512-byte payload (PAYLOAD_LISTING:
real mode -> long mode with paging, fifty million loop iterations with a memory store,
a checked sum, then a write to QEMU's isa-debug-exit port) and KVM counts only when
QEMU exits with the payload's code within PROBE_SECONDS (TCG needs about 0.2 s).

Before QEMU runs at all, /dev/kvm must exist and be readable and writable by the
credentials of the unit (user, group, the user's groups and SupplementaryGroups=).
The probe runs QEMU with exactly those credentials (setpriv).

Plain Python (no collection imports), so that scripts/lab_vm.py uses the same probe.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import hashlib
import json
import os
import pwd
import shutil
import stat
import tempfile
import time

KVM_DEVICE = "/dev/kvm"
PROBE_SECONDS = 10
PROBE_EXIT = (0x31 << 1) | 1  # isa-debug-exit: QEMU exits with (value << 1) | 1
DEFAULT_CACHE = "/run/nfv-dpdk/kvm-probe.json"

# The boot sector, loaded by the BIOS at 0x7c00 (hex bytes, instruction).
PAYLOAD_LISTING = (
    ("fa", "cli"),
    ("31c0 8ed8 8ec0 8ed0", "xor ax,ax; mov ds,ax; mov es,ax; mov ss,ax"),
    ("bc007c", "mov sp,0x7c00"),
    ("bf0010 b90018 6631c0 fc f3ab", "zero 0x1000-0x3fff (page tables): rep stosw"),
    ("c7060010 0320", "PML4[0] = 0x2003"),
    ("c7060020 0330", "PDPT[0] = 0x3003"),
    ("c7060030 8300", "PD[0] = 0x83: first 2 MiB identity-mapped"),
    ("660f0116 b07c", "lgdt [0x7cb0]"),
    ("0f20e0 6683c820 0f22e0", "cr4 |= PAE"),
    ("66b8 00100000 0f22d8", "cr3 = 0x1000"),
    ("66b9 800000c0 0f32 660d 00010000 0f30", "EFER.LME via rdmsr/wrmsr 0xc0000080"),
    ("0f20c0 660d 01000080 0f22c0", "cr0 |= PG | PE"),
    ("66ea 677c0000 0800", "jmp 0x08:0x7c67 (64-bit code)"),
    ("31c0 b980f0fa02", "0x67: eax = 0; ecx = 50000000"),
    ("4801c8 48890425 00500000 ffc9 75f1", "loop: rax += rcx; [0x5000] = rax; dec ecx; jnz loop"),
    ("48bb 4098754fde700400", "rbx = 1250000025000000 (the sum)"),
    ("4839d8 750e 483b1c25 00500000 7504", "if rax != rbx or [0x5000] != rbx: halt"),
    ("b031 e6f4", "out 0xf4, 0x31: QEMU exits with 99"),
    ("f4 ebfd 8d7600", "halt: hlt; jmp halt (then padding)"),
    ("0000000000000000 00000000009a2000", "0xa0: GDT: null, 64-bit code segment"),
    ("0f00 a07c0000", "0xb0: GDTR: limit 15, base 0x7ca0"),
)


def payload():
    """The 512-byte boot sector of PAYLOAD_LISTING."""
    code = bytes.fromhex("".join(entry[0] for entry in PAYLOAD_LISTING).replace(" ", ""))
    return code.ljust(510, b"\0") + b"\x55\xaa"


def probe_argv(qemu, image, accel="kvm"):
    """QEMU booting the payload image; the same -accel/-cpu pair that guest units use."""
    return [qemu, "-accel", accel, "-cpu", "host" if accel == "kvm" else "max", "-machine", "pc",
            "-m", "32", "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
            "-drive", "file=%s,format=raw,if=floppy,readonly=on" % image,
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]


def credentials(user, group=None, supplementary=()):
    """(uid, gid, [gids]) that systemd gives a unit with User=, Group= and SupplementaryGroups=."""
    entry = pwd.getpwnam(user)
    gid = grp.getgrnam(group).gr_gid if group else entry.pw_gid
    gids = set(os.getgrouplist(user, gid))
    gids.update(grp.getgrnam(name).gr_gid for name in supplementary)
    return entry.pw_uid, gid, sorted(gids)


def _mode_text(st):
    """'user:group mode' of /dev/kvm (this file stays plain Python: scripts/lab_vm.py imports it by path)."""
    def name(lookup, ident):
        try:
            return lookup(ident)[0]
        except KeyError:
            return str(ident)
    return "%s:%s %04o" % (name(pwd.getpwuid, st.st_uid), name(grp.getgrgid, st.st_gid), stat.S_IMODE(st.st_mode))


def device_group(st):
    """The group name to add as SupplementaryGroups= for a root:GROUP 0660 /dev/kvm, else None."""
    if st is None or st.st_gid == 0 or (st.st_mode & 0o060) != 0o060:
        return None
    try:
        return grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        return None


def opens_read_write(st, uid, gids):
    """Can a process with uid and gids open the file of stat `st` read-write (its mode bits)?"""
    if uid == 0:
        return True
    mode = st.st_mode
    if st.st_uid == uid:
        bits = (mode >> 6) & 6
    elif st.st_gid in gids:
        bits = (mode >> 3) & 6
    else:
        bits = mode & 6
    return bits == 6


def device_access(st, uid, gids):
    """(ok, reason): can a process with uid and gids open the device read-write?"""
    if st is None:
        return False, "%s does not exist (no KVM in this kernel, or no virtualization extensions)" % KVM_DEVICE
    if opens_read_write(st, uid, gids):
        return True, None
    return False, ("%s is %s, which uid %d (groups %s) cannot open read-write; make it root:kvm 0660 "
                   "(udev rule) so that the unit's SupplementaryGroups=kvm opens it"
                   % (KVM_DEVICE, _mode_text(st), uid, ",".join(str(g) for g in gids) or "none"))


def judge(rc, seconds, stderr, who, accel="kvm"):
    """The verdict on one boot of the payload: {'usable', 'reason', 'seconds'}."""
    seconds = round(seconds, 2)
    if rc == PROBE_EXIT and seconds <= PROBE_SECONDS:
        return {"usable": True, "seconds": seconds,
                "reason": "a %s guest ran the probe payload to its end in %.2f s as %s"
                          % (accel.upper(), seconds, who)}
    if rc in (124, 137) or rc == PROBE_EXIT:
        return {"usable": False, "seconds": seconds,
                "reason": "QEMU started under KVM, but the guest did not finish the probe payload within %d s "
                          "(TCG needs well under 1 s): guests hang or crawl under KVM on this host"
                          % PROBE_SECONDS}
    lines = [line for line in (stderr or "").strip().splitlines() if line.strip()]
    detail = lines[0] if lines else "QEMU exited with rc=%s before the payload ended" % rc
    return {"usable": False, "seconds": seconds,
            "reason": "QEMU cannot run a KVM guest here as %s: %s" % (who, detail)}


def probe(run, qemu, user=None, group=None, supplementary=(), device_stat=None, accel="kvm"):
    """Boot the payload once; run(argv) -> (rc, stdout, stderr) executes an argv list.

    With user, QEMU runs through setpriv with the unit's credentials (the caller is root).
    device_stat is os.stat of /dev/kvm or None when it is absent (only checked for accel kvm).
    """
    if user:
        uid, gid, gids = credentials(user, group, supplementary)
        who = "user %s" % user
    else:
        uid, gid, gids = os.getuid(), os.getgid(), sorted(set(os.getgroups()))
        who = "uid %d" % uid
    if accel == "kvm":
        ok, reason = device_access(device_stat, uid, gids)
        if not ok:
            return {"usable": False, "reason": reason, "seconds": None}
    workdir = tempfile.mkdtemp(prefix="nfv-kvm-probe-")
    try:
        os.chmod(workdir, 0o755)
        image = os.path.join(workdir, "payload.img")
        with open(image, "wb") as handle:
            handle.write(payload())
        os.chmod(image, 0o644)
        argv = ["timeout", "--kill-after=2", str(PROBE_SECONDS + 1)]
        if user:
            argv += ["setpriv", "--reuid=%d" % uid, "--regid=%d" % gid,
                     "--groups=%s" % ",".join(str(g) for g in gids) if gids else "--clear-groups", "--"]
        argv += probe_argv(qemu, image, accel)
        started = time.monotonic()
        rc, _out, err = run(argv)
        seconds = time.monotonic() - started
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if isinstance(err, bytes):
        err = err.decode("utf-8", "replace")
    return judge(rc, seconds, err, who, accel)


def cache_key(qemu, user, group, supplementary, device_stat):
    """What the verdict depends on: QEMU's binary, the kernel, /dev/kvm and the credentials."""
    try:
        st = os.stat(qemu)
        ident = "%s:%d:%d" % (qemu, st.st_size, int(st.st_mtime))
    except OSError:
        ident = qemu
    try:
        with open("/proc/sys/kernel/osrelease") as handle:
            release = handle.read().strip()
    except (IOError, OSError):
        release = ""
    device = None
    if device_stat is not None:
        device = "%d:%d:%o:%d" % (device_stat.st_uid, device_stat.st_gid, device_stat.st_mode, device_stat.st_rdev)
    text = json.dumps([ident, release, device, user, group, sorted(supplementary or [])])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def read_cache(path, key):
    try:
        with open(path) as handle:
            entry = json.load(handle).get(key)
    except (IOError, OSError, ValueError, AttributeError):
        return None
    return entry if isinstance(entry, dict) and "usable" in entry else None


def write_cache(path, key, result):
    """Add one verdict to the host's cache file (atomically; a cache only, errors ignored)."""
    try:
        with open(path) as handle:
            entries = json.load(handle)
        if not isinstance(entries, dict):
            entries = {}
    except (IOError, OSError, ValueError):
        entries = {}
    entries[key] = dict((k, v) for k, v in result.items() if k != "cached")
    try:
        directory = os.path.dirname(path)
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o755)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".kvm-probe-")
        with os.fdopen(fd, "w") as handle:
            json.dump(entries, handle, sort_keys=True)
        os.chmod(tmp, 0o644)
        os.rename(tmp, path)
    except (IOError, OSError):
        pass


def stat_or_none(path=KVM_DEVICE):
    try:
        return os.stat(path)
    except OSError:
        return None


def cached_verdict(runner, qemu, user, group, cache_path, device):
    """The KVM verdict for a guest's credentials, from the host's cache or a real probe (runner: the module's
    Runner, whose run(name, args, check) starts the probe's QEMU).

    The cache is written in check mode too: it is not state a module manages, and a probe
    that boots a guest should run once per host, not once per check run.
    """
    supplementary = [g for g in [device_group(device)] if g]
    key = cache_key(qemu, user, group, supplementary, device)
    cached = read_cache(cache_path, key)
    if cached is not None:
        cached["cached"] = True
        return cached
    try:
        result = probe(lambda argv: runner.run(argv[0], argv[1:], check=False), qemu,
                       user=user, group=group, supplementary=supplementary, device_stat=device)
    except KeyError as exc:  # the service user or group does not exist yet
        return {"usable": False, "seconds": None, "cached": False,
                "reason": "cannot probe KVM as %s:%s, which does not exist yet (%s)" % (user, group, exc)}
    write_cache(cache_path, key, result)
    result["cached"] = False
    return result


def choose_accel(requested, verdict):
    """kvm or tcg as asked; for auto, kvm only when the verdict says a guest really ran under it."""
    if requested in ("kvm", "tcg"):
        return requested
    return "kvm" if verdict and verdict.get("usable") else "tcg"
