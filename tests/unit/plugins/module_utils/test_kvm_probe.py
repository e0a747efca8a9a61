"""kvm_probe: one test per accel decision (no /dev/kvm, not open to the user, starts but hangs, aborts,
works), the payload's layout, the credentials QEMU runs with, and the host-wide cache."""

import grp
import os
import pwd
import stat
import subprocess
import sys

import pytest

from ansible_collections.nfv.dpdk.plugins.module_utils.qemu import kvm_probe

QEMU = "/usr/bin/qemu-system-x86_64"
NOBODY = pwd.getpwnam("nobody")


class FakeStat:
    def __init__(self, uid, gid, mode, rdev=0x0ae8):
        self.st_uid, self.st_gid, self.st_mode, self.st_rdev = uid, gid, stat.S_IFCHR | mode, rdev


def group_with_gid():
    """A group of this machine other than root (stands in for kvm)."""
    return next(g for g in sorted(grp.getgrall(), key=lambda g: g.gr_gid) if g.gr_gid != 0)


class QemuRun:
    """Stands in for running the probe argv: records it and checks the payload QEMU would boot."""

    def __init__(self, rc, err=""):
        self.rc, self.err, self.calls = rc, err, []

    def __call__(self, argv):
        self.calls.append(argv)
        drive = argv[argv.index("-drive") + 1]
        image = drive.split(",")[0][len("file="):]
        with open(image, "rb") as handle:
            assert handle.read() == kvm_probe.payload()
        assert oct(os.stat(image).st_mode & 0o777) == "0o644"  # readable by the service user
        return self.rc, "", self.err


ROOT_ONLY = FakeStat(0, 0, 0o600)


def test_no_device_means_tcg_without_starting_qemu():
    run = QemuRun(kvm_probe.PROBE_EXIT)
    verdict = kvm_probe.probe(run, QEMU, user="nobody", device_stat=None)
    assert verdict["usable"] is False and "/dev/kvm does not exist" in verdict["reason"]
    assert run.calls == [] and kvm_probe.choose_accel("auto", verdict) == "tcg"


def test_device_the_user_cannot_open_means_tcg_without_starting_qemu():
    run = QemuRun(kvm_probe.PROBE_EXIT)
    verdict = kvm_probe.probe(run, QEMU, user="nobody", device_stat=ROOT_ONLY)
    assert verdict["usable"] is False and run.calls == []
    assert "/dev/kvm is root:root 0600" in verdict["reason"] and "uid %d" % NOBODY.pw_uid in verdict["reason"]
    assert kvm_probe.choose_accel("auto", verdict) == "tcg"


def test_guest_that_starts_but_hangs_means_tcg():
    # `timeout` ends QEMU: rc 124 (or 137 after --kill-after)
    for rc in (124, 137):
        verdict = kvm_probe.probe(QemuRun(rc), QEMU, device_stat=ROOT_ONLY)
        assert verdict["usable"] is False
        assert "did not finish the probe payload within %d s" % kvm_probe.PROBE_SECONDS in verdict["reason"]
        assert "hang or crawl" in verdict["reason"] and kvm_probe.choose_accel("auto", verdict) == "tcg"


def test_payload_that_ends_too_late_means_tcg():
    verdict = kvm_probe.judge(kvm_probe.PROBE_EXIT, kvm_probe.PROBE_SECONDS + 0.5, "", "uid 0")
    assert verdict["usable"] is False and "did not finish" in verdict["reason"]


def test_qemu_that_aborts_means_tcg_with_its_error():
    err = ("qemu-system-x86_64: error: failed to set MSR 0x10a to 0xc000069\n"
           "qemu-system-x86_64: kvm.c:3849: kvm_buf_set_msrs: Assertion failed.\n")
    verdict = kvm_probe.probe(QemuRun(134, err), QEMU, device_stat=ROOT_ONLY)
    assert verdict["usable"] is False and kvm_probe.choose_accel("auto", verdict) == "tcg"
    assert verdict["reason"].startswith("QEMU cannot run a KVM guest here as uid 0: ")
    assert "failed to set MSR 0x10a" in verdict["reason"]


def test_working_kvm_as_the_service_user_means_kvm():
    kvm = group_with_gid()
    device = FakeStat(0, kvm.gr_gid, 0o660)
    run = QemuRun(kvm_probe.PROBE_EXIT)
    verdict = kvm_probe.probe(run, QEMU, user="nobody", supplementary=[kvm.gr_name], device_stat=device)
    assert verdict["usable"] is True and "as user nobody" in verdict["reason"]
    assert kvm_probe.choose_accel("auto", verdict) == "kvm"
    argv = run.calls[0]
    assert argv[:3] == ["timeout", "--kill-after=2", str(kvm_probe.PROBE_SECONDS + 1)]
    setpriv = argv[3:argv.index("--")]
    assert setpriv[0] == "setpriv" and "--reuid=%d" % NOBODY.pw_uid in setpriv
    assert "--regid=%d" % NOBODY.pw_gid in setpriv
    groups = next(a for a in setpriv if a.startswith("--groups="))
    assert str(kvm.gr_gid) in groups.split("=")[1].split(",")
    qemu = argv[argv.index("--") + 1:]
    assert qemu[:5] == [QEMU, "-accel", "kvm", "-cpu", "host"]
    assert "isa-debug-exit,iobase=0xf4,iosize=0x04" in qemu
    # the payload image is gone afterwards
    image = qemu[qemu.index("-drive") + 1].split(",")[0][len("file="):]
    assert not os.path.exists(os.path.dirname(image))


def test_same_device_without_the_group_is_refused():
    kvm = group_with_gid()
    device = FakeStat(0, kvm.gr_gid, 0o660)
    assert kvm_probe.device_group(device) == kvm.gr_name
    ok, reason = kvm_probe.device_access(device, NOBODY.pw_uid, [NOBODY.pw_gid])
    assert ok is (NOBODY.pw_gid == kvm.gr_gid) and (ok or "cannot open read-write" in reason)
    assert kvm_probe.device_access(device, NOBODY.pw_uid, [kvm.gr_gid]) == (True, None)
    # root:root, world-rw, group-only-read devices add no group
    assert kvm_probe.device_group(ROOT_ONLY) is None
    assert kvm_probe.device_group(FakeStat(0, kvm.gr_gid, 0o640)) is None
    assert kvm_probe.device_access(FakeStat(0, 0, 0o666), NOBODY.pw_uid, []) == (True, None)
    assert kvm_probe.device_access(ROOT_ONLY, 0, [0]) == (True, None)


def test_payload_layout_matches_its_listing():
    code = kvm_probe.payload()
    assert len(code) == 512 and code[510:] == b"\x55\xaa"
    assert code[0x67:0x69] == bytes.fromhex("31c0")  # the far jump's target, 0x7c67
    assert code[0x5f:0x67] == bytes.fromhex("66ea677c00000800")
    assert code[0xa8:0xb0] == bytes.fromhex("00000000009a2000")  # GDT entry 1: 64-bit code
    assert code[0xb0:0xb6] == bytes.fromhex("0f00a07c0000")  # GDTR at 0x7cb0 -> GDT at 0x7ca0
    assert code[0x2a:0x30] == bytes.fromhex("660f0116b07c")  # lgdt [0x7cb0]
    assert kvm_probe.PROBE_EXIT == 99


def test_cache_keeps_one_verdict_per_credentials(tmp_path):
    path = str(tmp_path / "sub" / "kvm-probe.json")
    key_nobody = kvm_probe.cache_key(QEMU, "nobody", "nogroup", [], ROOT_ONLY)
    key_root = kvm_probe.cache_key(QEMU, "root", "root", [], ROOT_ONLY)
    key_other_device = kvm_probe.cache_key(QEMU, "nobody", "nogroup", [], FakeStat(0, 0, 0o666))
    assert len({key_nobody, key_root, key_other_device}) == 3
    assert kvm_probe.read_cache(path, key_nobody) is None
    kvm_probe.write_cache(path, key_nobody, {"usable": False, "reason": "r1", "cached": False})
    kvm_probe.write_cache(path, key_root, {"usable": True, "reason": "r2"})
    assert kvm_probe.read_cache(path, key_nobody) == {"usable": False, "reason": "r1"}
    assert kvm_probe.read_cache(path, key_root)["usable"] is True


@pytest.mark.parametrize("text", ["", "{", "[]", '{"k": 1}'])
def test_unreadable_cache_is_a_miss(tmp_path, text):
    path = tmp_path / "kvm-probe.json"
    path.write_text(text)
    assert kvm_probe.read_cache(str(path), "k") is None


def test_the_probe_stays_plain_python_for_the_lab_vm_script():
    """scripts/lab_vm.py imports kvm_probe by path, outside any collection: no collection import in it."""
    here = os.path.dirname(kvm_probe.__file__)
    code = "import sys; sys.path.insert(0, %r); import kvm_probe; print(kvm_probe.KVM_DEVICE)" % here
    out = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0 and out.stdout.strip() == "/dev/kvm", out.stderr
