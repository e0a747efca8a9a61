"""nfv.dpdk.kernel_cmdline through ansible-playbook on this machine.

This machine boots without GRUB, grubby or kernel-install configuration, so
the file backends are exercised on temporary roots (the module's `root` option,
meant for images) with update_bootloader false; reboot_required is computed
against this machine's real /proc/cmdline. Real GRUB reboots are proven in the
lab VM scenario.
"""

import os
import subprocess

import pytest

from module_call import run_module

pytestmark = pytest.mark.component

HOST_FILES = ("/etc/default/grub.d/99-nfv-dpdk.cfg", "/etc/kernel/cmdline")
HP = ["default_hugepagesz=1G", "hugepagesz=1G", "hugepages=2", "hugepagesz=2M", "hugepages=0:512"]


def running_words():
    with open("/proc/cmdline") as handle:
        return handle.read().split()


def grub_sees(root):
    """(GRUB_CMDLINE_LINUX, GRUB_CMDLINE_LINUX_DEFAULT) as update-grub computes them: /etc/default/grub, then the
    drop-ins. Debian's /etc/grub.d/10_linux gives the normal entries both, the recovery entries only the first."""
    script = ('. "$1/etc/default/grub"; for f in "$1"/etc/default/grub.d/*.cfg; do [ -f "$f" ] && . "$f"; done; '
              'echo "$GRUB_CMDLINE_LINUX"; echo "$GRUB_CMDLINE_LINUX_DEFAULT"')
    out = subprocess.run(["/bin/sh", "-c", script, "sh", root], stdout=subprocess.PIPE, universal_newlines=True,
                         check=True).stdout.split("\n")
    return out[0].split(), out[1].split()


@pytest.fixture
def grub_root(tmp_path):
    root = tmp_path / "image"
    (root / "etc/default/grub.d").mkdir(parents=True)
    (root / "etc/default/grub").write_text('GRUB_CMDLINE_LINUX_DEFAULT="quiet"\nGRUB_CMDLINE_LINUX="console=ttyS0"\n')
    return root


@pytest.fixture(autouse=True)
def host_untouched():
    before = dict((path, os.path.exists(path)) for path in HOST_FILES)
    yield
    assert dict((path, os.path.exists(path)) for path in HOST_FILES) == before


def test_grub_dropin_check_mode_apply_idempotence_and_absent(grub_root):
    args = {"params": HP, "backend": "grub", "root": str(grub_root), "update_bootloader": False}
    dropin = grub_root / "etc/default/grub.d/99-nfv-dpdk.cfg"
    predicted = run_module("kernel_cmdline", args, check=True)
    assert predicted["changed"] is True and not dropin.exists(), predicted
    assert predicted["reboot_required"] is True  # this kernel runs without 1G pages on its command line

    applied = run_module("kernel_cmdline", args)
    assert applied["changed"] is True and applied["changes"] == predicted["changes"], applied
    assert applied["diff"]["after"] == {"/etc/default/grub.d/99-nfv-dpdk.cfg": " ".join(HP)}
    # the normal entries get the words, the recovery entries (GRUB_CMDLINE_LINUX only) do not
    assert grub_sees(str(grub_root)) == (["console=ttyS0"], ["quiet"] + HP)
    assert applied["next_boot"] == " ".join(["console=ttyS0", "quiet"] + HP)
    words = running_words()
    assert applied["running"].split() == (words[:words.index("--")] if "--" in words else words)

    assert run_module("kernel_cmdline", args)["changed"] is False

    # a stale pair is replaced, not duplicated; the order of the block is kept
    swapped = dict(args, params=["hugepagesz=2M", "hugepages=1024", "hugepagesz=1G", "hugepages=4"])
    result = run_module("kernel_cmdline", swapped)
    assert result["changed"] is True
    assert grub_sees(str(grub_root)) == (["console=ttyS0"], ["quiet", "default_hugepagesz=1G", "hugepagesz=2M",
                                                             "hugepages=1024", "hugepagesz=1G", "hugepages=4"])

    removed = run_module("kernel_cmdline", dict(args, params=["hugepagesz", "hugepages", "default_hugepagesz"],
                                                state="absent"))
    assert removed["changed"] is True and not dropin.exists(), removed
    assert grub_sees(str(grub_root)) == (["console=ttyS0"], ["quiet"])
    assert run_module("kernel_cmdline", dict(args, params=["hugepages"], state="absent"))["changed"] is False


def test_an_old_dropin_is_rewritten_then_the_rerun_changes_nothing(grub_root):
    """Versions before issue 27 appended to GRUB_CMDLINE_LINUX, which the recovery entries take too."""
    dropin = grub_root / "etc/default/grub.d/99-nfv-dpdk.cfg"
    dropin.write_text('# Managed by Ansible (nfv.dpdk.kernel_cmdline): kernel parameters appended to\n'
                      '# GRUB_CMDLINE_LINUX. Edits here are overwritten; run update-grub after changes.\n'
                      'GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX intel_iommu=on iommu=pt"\n')
    assert grub_sees(str(grub_root)) == (["console=ttyS0", "intel_iommu=on", "iommu=pt"], ["quiet"])
    args = {"params": ["intel_iommu=on", "iommu=pt"], "backend": "grub", "root": str(grub_root),
            "update_bootloader": False}
    predicted = run_module("kernel_cmdline", args, check=True)
    assert predicted["changed"] is True and "$GRUB_CMDLINE_LINUX " in dropin.read_text(), predicted
    assert predicted["diff"] == {"before": {"/etc/default/grub.d/99-nfv-dpdk.cfg":
                                            "GRUB_CMDLINE_LINUX: intel_iommu=on iommu=pt"},
                                 "after": {"/etc/default/grub.d/99-nfv-dpdk.cfg":
                                           "GRUB_CMDLINE_LINUX_DEFAULT: intel_iommu=on iommu=pt"}}, predicted

    moved = run_module("kernel_cmdline", args)
    assert moved["changed"] is True and moved["changes"] == predicted["changes"], moved
    assert grub_sees(str(grub_root)) == (["console=ttyS0"], ["quiet", "intel_iommu=on", "iommu=pt"])
    assert dropin.read_text().splitlines()[-1] == \
        'GRUB_CMDLINE_LINUX_DEFAULT="$GRUB_CMDLINE_LINUX_DEFAULT intel_iommu=on iommu=pt"'
    assert moved["next_boot"] == "console=ttyS0 quiet intel_iommu=on iommu=pt"
    again = run_module("kernel_cmdline", args)
    assert again["changed"] is False and again["changes"] == [], again
    # another task's parameters join the moved ones in the same place
    more = run_module("kernel_cmdline", dict(args, params=["hugepagesz=1G", "hugepages=1"]))
    assert more["changed"] is True and grub_sees(str(grub_root)) == (
        ["console=ttyS0"], ["quiet", "intel_iommu=on", "iommu=pt", "hugepagesz=1G", "hugepages=1"]), more


def test_reboot_required_against_the_running_kernel(grub_root):
    running = running_words()
    present = next(w for w in running if "=" in w and w.split("=", 1)[0] not in ("console",))
    args = {"backend": "grub", "root": str(grub_root), "update_bootloader": False}
    same = run_module("kernel_cmdline", dict(args, params=[present]))
    assert same["changed"] is True and same["reboot_required"] is False, same
    other = run_module("kernel_cmdline", dict(args, params=[present + "x"]))
    assert other["changed"] is True and other["reboot_required"] is True, other
    # 'quiet' comes from GRUB_CMDLINE_LINUX_DEFAULT already: nothing to write
    quiet = run_module("kernel_cmdline", dict(args, params=["quiet"]))
    assert quiet["changed"] is False and quiet["reboot_required"] is ("quiet" not in running), quiet


def mem_total_kb():
    with open("/proc/meminfo") as handle:
        return int(next(line for line in handle if line.startswith("MemTotal:")).split()[1])


def test_boot_memory_budget_against_this_machine(tmp_path):
    """The budget reads this machine's real /proc/meminfo and node files (check mode: nothing is written
    either way, and /etc/kernel/cmdline stays absent, see host_untouched)."""
    total = mem_total_kb()
    args = {"backend": "kernel-install", "update_bootloader": False}
    fits = run_module("kernel_cmdline", dict(args, params=["hugepagesz=2M", "hugepages=0:256"]), check=True)
    assert not fits.get("failed"), fits.get("msg")
    assert fits["boot_reservation"]["memory_total_kb"] == total
    assert fits["boot_reservation"]["reserved_kb"] == 256 * 2048 and fits["boot_reservation"]["nodes"][0]["node"] == 0
    pages = total // 2048  # all of MemTotal in 2M pages: more than MemTotal minus the 2G reserve leaves
    over = run_module("kernel_cmdline", dict(args, params=["hugepagesz=2M", "hugepages=%d" % pages]), check=True)
    assert over.get("failed") is True, over
    assert over["msg"].startswith("the next boot would reserve ") and "memory_reserve 2G leaves" in over["msg"], over
    assert over["msg"].endswith("; nothing was changed") and "hugepagesz=2M hugepages=%d" % pages in over["msg"]
    unknown = run_module("kernel_cmdline", dict(args, params=["hugepagesz=2M", "hugepages=0:1,63:1"]), check=True)
    assert unknown.get("failed") is True and "names NUMA node 63" in unknown["msg"], unknown


def test_kernel_install_file_on_an_image(tmp_path):
    root = tmp_path / "image"
    (root / "etc/kernel").mkdir(parents=True)
    (root / "etc/kernel/cmdline").write_text("root=UUID=0a1b ro intel_iommu=off\n")
    args = {"params": ["intel_iommu=on", "iommu=pt", "hugepagesz=1G", "hugepages=0:2,1:2"],
            "backend": "kernel-install", "root": str(root), "update_bootloader": False}
    result = run_module("kernel_cmdline", args)
    assert result["changed"] is True, result
    assert (root / "etc/kernel/cmdline").read_text() == ("root=UUID=0a1b ro intel_iommu=on iommu=pt hugepagesz=1G "
                                                         "hugepages=0:2,1:2\n")
    assert run_module("kernel_cmdline", args)["changed"] is False


@pytest.mark.parametrize("args,message", [
    ({"params": ["isolcpus=2 3"]}, "contains whitespace"),
    ({"params": [{"key": "x", "value": 'a"b'}]}, "a quote"),
    ({"params": ["x=$(reboot)"]}, "'$'"),
    ({"params": [{"key": "intel_iommu", "value": True}]}, "quote it"),
    ({"params": ["iommu=pt"], "update_bootloader": True}, "set update_bootloader: false"),
    ({"params": ["iommu=pt"], "backend": "grubby"}, "cannot work on root"),
])
def test_bad_input_fails_and_writes_nothing(grub_root, args, message):
    call = dict({"backend": "grub", "root": str(grub_root), "update_bootloader": False}, **args)
    result = run_module("kernel_cmdline", call)
    assert result.get("failed") is True and message in result["msg"], result
    assert os.listdir(str(grub_root / "etc/default/grub.d")) == []


@pytest.mark.skipif(any(os.path.exists(p) for p in ("/etc/default/grub", "/etc/default/grub.d", "/etc/kernel/cmdline",
                                                    "/etc/kernel/install.conf", "/boot/loader/entries",
                                                    "/usr/sbin/grubby", "/usr/bin/grubby")),
                    reason="this machine has bootloader configuration")
def test_auto_detection_on_this_machine_fails_cleanly():
    # no GRUB, grubby or kernel-install configuration here: a clear error, nothing written (see fixture)
    result = run_module("kernel_cmdline", {"params": ["iommu=pt"]}, check=True)
    assert result.get("failed") is True and "set backend" in result["msg"], result


def test_no_boot_loader_absent_is_nothing_present_is_an_error(tmp_path):
    root = tmp_path / "container"
    (root / "etc").mkdir(parents=True)
    args = {"params": ["hugepagesz", "hugepages"], "root": str(root), "update_bootloader": False}
    absent = run_module("kernel_cmdline", dict(args, state="absent"))
    assert not absent.get("failed"), absent.get("msg")
    assert absent["changed"] is False and absent["backend"] == "none" and absent["reboot_required"] is False
    present = run_module("kernel_cmdline", dict(args, params=["hugepagesz=2M", "hugepages=64"], state="present"))
    assert present["failed"] and "could not detect the boot loader" in present["msg"]
    assert sorted(p.name for p in root.rglob("*")) == ["etc"]
