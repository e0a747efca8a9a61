"""kernel_cmdline: parsing, block editing, validation and the three backends on temporary roots.

The GRUB backend's view of the rest of the configuration is computed by the
real /bin/sh sourcing fixture files, as update-grub does; bootloader commands
(update-grub, grubby, kernel-install) are recorded, not run.
"""

import os
import shutil
import subprocess

import pytest

from ansible_collections.nfv.dpdk.plugins.module_utils.boot import cmdline as cl
from ansible_collections.nfv.dpdk.plugins.module_utils.boot import file_backend, grub, grubby, kernel_install
from ansible_collections.nfv.dpdk.plugins.module_utils.boot import kernel_params as kp
from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.core.runner import CommandError
from ansible_collections.nfv.dpdk.plugins.module_utils.host.hostfs import HostFS
from ansible_collections.nfv.dpdk.tests.unit.sysfs_tree import SysfsTree

P = kp.parse_word


def params(text):
    return kp.parse_words(text)[0]


def on_this_host(monkeypatch, root):
    """This host's "/" is the tree root: host_path in every module that maps the booted system's paths."""
    for module in (file_backend, grub, kernel_install, cl):
        monkeypatch.setattr(module, "host_path", lambda _root, path: str(root) + path)


# -- parsing ------------------------------------------------------------------
def test_parse_keeps_order_repeated_keys_flags_and_empty_values():
    got = params("BOOT_IMAGE=/vmlinuz ro quiet hugepagesz=1G hugepages=4 hugepagesz=2M hugepages=1024 console=")
    assert got == [("BOOT_IMAGE", "/vmlinuz"), ("ro", None), ("quiet", None), ("hugepagesz", "1G"),
                   ("hugepages", "4"), ("hugepagesz", "2M"), ("hugepages", "1024"), ("console", "")]
    assert kp.format_params(got) == "BOOT_IMAGE=/vmlinuz ro quiet hugepagesz=1G hugepages=4 hugepagesz=2M " \
                                    "hugepages=1024 console="


@pytest.mark.parametrize("word", ["hugepages=0:2,1:2", "isolcpus=managed_irq,domain,2-3", "rd.lvm.lv=vg/root",
                                  "console=ttyS0,115200n8", "dyndbg=file=x", "8250.nr_uarts=4"])
def test_values_with_separators_round_trip(word):
    assert kp.format_param(P(word)) == word
    assert kp.normalize_params([word]) == [P(word)]


def test_words_after_double_dash_are_kept_apart():
    got, tail = kp.parse_words("ro quiet -- --firecracker-init --addr 0.0.0.0:2024")
    assert got == [("ro", None), ("quiet", None)]
    assert tail == ["--", "--firecracker-init", "--addr", "0.0.0.0:2024"]


def test_quoted_values_from_an_existing_line_stay_one_word():
    assert params('a=1 dyndbg="file x.c +p" b') == [("a", "1"), ("dyndbg", '"file x.c +p"'), ("b", None)]


# -- validation ----------------------------------------------------------------
def test_normalize_accepts_strings_and_dicts():
    got = kp.normalize_params(["intel_iommu=on", {"key": "hugepagesz", "value": "1G"}, {"key": "hugepages", "value": 4},
                               {"key": "nosmt"}, {"key": "console", "value": ""}])
    assert got == [("intel_iommu", "on"), ("hugepagesz", "1G"), ("hugepages", "4"), ("nosmt", None), ("console", "")]


@pytest.mark.parametrize("raw,message", [
    (["a=b c"], "contains whitespace"),
    (['x="1"'], "contains whitespace, a quote"),
    (["x='1'"], "a quote"),
    (["x=a\nroot=/dev/sdb"], "control character"),
    (["x=$(reboot)"], "'$'"),
    (["x=`id`"], "'`'"),
    (["x=a\\b"], "a backslash"),
    ([{"key": "x", "value": "a b"}], "the value of x contains whitespace"),
    ([{"key": "x", "value": "a\tb"}], "the value of x contains whitespace"),
    ([{"key": "intel_iommu", "value": True}], "quote it"),
    ([{"key": "bad key"}], "is not a kernel parameter name"),
    ([{"value": "1"}], "a dict needs 'key'"),
    ([{"key": "a", "other": 1}], "a dict needs 'key'"),
    (["=1"], "is not a kernel parameter name"),
    ([["a"]], "expected a 'key=value' string"),
    ([], "non-empty list"),
])
def test_normalize_rejects_what_would_corrupt_the_line(raw, message):
    with pytest.raises(NfvError) as err:
        kp.normalize_params(raw)
    assert message in err.value.msg


# -- editing -------------------------------------------------------------------
HP = params("hugepagesz=1G hugepages=4 hugepagesz=2M hugepages=1024")


def test_present_appends_a_new_block_in_order():
    assert kp.edit(params("ro quiet"), HP, "present") == params("ro quiet") + HP


def test_present_is_satisfied_by_the_block_anywhere():
    line = params("ro hugepagesz=1G hugepages=4 quiet hugepagesz=2M hugepages=1024 splash")
    assert kp.edit(line, HP, "present") == line
    assert kp.satisfied(line, HP, "present")


def test_present_replaces_every_occurrence_of_the_keys_where_the_first_was():
    line = params("ro hugepagesz=2M hugepages=512 quiet hugepages=8 splash")
    assert kp.edit(line, HP, "present") == params("ro") + HP + params("quiet splash")
    assert kp.edit(line, HP, "present", append=True) == params("ro quiet splash") + HP


def test_present_replaces_a_stale_value_and_order_counts():
    assert kp.edit(params("default_hugepagesz=2M quiet"), params("default_hugepagesz=1G"), "present") == \
        params("default_hugepagesz=1G quiet")
    swapped = params("hugepagesz=2M hugepages=1024 hugepagesz=1G hugepages=4")
    assert kp.edit(swapped, HP, "present") == HP


def test_present_per_node_form():
    line = params("ro hugepagesz=1G hugepages=0:2,1:2")
    wanted = params("hugepagesz=1G hugepages=0:4,1:4")
    assert kp.edit(line, wanted, "present") == params("ro hugepagesz=1G hugepages=0:4,1:4")
    assert kp.edit(kp.edit(line, wanted, "present"), wanted, "present") == params("ro") + wanted


def test_present_is_idempotent_for_every_block_shape():
    for line in ("", "ro", "hugepages=3 ro hugepagesz=1G", "hugepagesz=1G hugepages=4 hugepagesz=2M hugepages=1024"):
        once = kp.edit(params(line), HP, "present")
        assert kp.edit(once, HP, "present") == once
        assert kp.project(once, {"hugepagesz", "hugepages"}) == HP


def test_two_blocks_with_other_keys_do_not_fight():
    iommu = params("intel_iommu=on iommu=pt")
    line = kp.edit(kp.edit(params("ro"), iommu, "present", append=True), HP, "present", append=True)
    assert kp.edit(kp.edit(line, iommu, "present", append=True), HP, "present", append=True) == line


def test_absent_bare_key_removes_every_occurrence_exact_pair_removes_one():
    line = params("ro hugepagesz=1G hugepages=4 hugepagesz=2M hugepages=1024 quiet")
    assert kp.edit(line, params("hugepages"), "absent") == params("ro hugepagesz=1G hugepagesz=2M quiet")
    assert kp.edit(line, params("hugepages=1024 hugepagesz=2M"), "absent") == \
        params("ro hugepagesz=1G hugepages=4 quiet")
    assert kp.edit(line, params("nosmt hugepages=7"), "absent") == line
    assert kp.edit(params("quiet ro quiet"), params("quiet"), "absent") == params("ro")


def test_removed_by_lists_exact_params_for_grubby():
    line = params("ro hugepagesz=2M hugepages=512 quiet")
    assert kp.removed_by(line, HP, "present") == params("hugepagesz=2M hugepages=512")
    assert kp.removed_by(line + HP[:0], params("quiet"), "absent") == params("quiet")
    assert kp.removed_by(params("ro") + HP, HP, "present") == []


def test_needs_reboot_compares_only_the_keys_given():
    running = params("ro quiet hugepagesz=1G hugepages=4 hugepagesz=2M hugepages=1024 console=ttyS0")
    assert not kp.needs_reboot(params("ro splash") + HP, running, HP)
    assert kp.needs_reboot(params("ro") + params("hugepagesz=1G hugepages=8"), running, HP)
    assert kp.needs_reboot(params("ro"), running, params("hugepages"))  # removed, still running
    assert not kp.needs_reboot(params("ro"), params("ro"), params("nosmt"))


# -- backends on temporary roots -------------------------------------------------
class FakeModule:
    def __init__(self, check_mode=False, **params):
        self.params = dict({"state": "present", "backend": "auto", "root": "/", "update_bootloader": True,
                            "memory_reserve": "2G"}, **params)
        self.check_mode = check_mode
        self._diff = True
        self.warnings = []

    def warn(self, text):
        self.warnings.append(text)

    def atomic_move(self, src, dest):
        os.replace(src, dest)


class RecordingRunner:
    """Runs /bin/sh for real (GRUB's sourcing); records every other command and answers from `outputs`."""

    def __init__(self, binaries=(), outputs=None, fail=()):
        self.binaries = set(binaries) | {"sh"}
        self.outputs = dict(outputs or {})
        self.fail = set(fail)
        self.calls = []

    def has(self, name):
        return name in self.binaries

    def run(self, name, args, check=True, data=None):
        if name == "sh":
            proc = subprocess.run(["/bin/sh"] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  universal_newlines=True, check=False)
            return proc.returncode, proc.stdout, proc.stderr
        self.calls.append([name] + list(args))
        if name in self.fail:
            if check:
                raise CommandError([name] + list(args), 1, "", "boom")
            return 1, "", "boom"
        answer = self.outputs.get(name, "")
        return 0, answer(args) if callable(answer) else answer, ""

    def output(self, name, args, **kwargs):
        return self.run(name, args, **kwargs)[1]


def grub_root(tmp_path, linux="console=ttyS0", default="quiet", dropins=None):
    root = tmp_path / "image"
    (root / "etc/default/grub.d").mkdir(parents=True)
    (root / "etc/default/grub").write_text('GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT="%s"\nGRUB_CMDLINE_LINUX="%s"\n'
                                           % (default, linux))
    for name, text in (dropins or {}).items():
        (root / "etc/default/grub.d" / name).write_text(text)
    return root


def host_fs(tmp_path, running="BOOT_IMAGE=/vmlinuz root=/dev/vda1 ro console=ttyS0 quiet", nodes_gb=(16, 16)):
    """The running host: 2M and 1G pages, NUMA nodes of `nodes_gb` GiB each (MemTotal their sum)."""
    tree = SysfsTree(tmp_path / "host")
    tree.cmdline(running)
    tree.meminfo(total_kb=sum(nodes_gb) << 20)
    tree.hugepage_sizes()
    for node, size in enumerate(nodes_gb):
        tree.numa_node(node, str(node), size << 20, size << 19)
    return HostFS(str(tmp_path / "host"))


def run(tmp_path, runner, check_mode=False, running=None, nodes_gb=(16, 16), fs=None, **params):
    module = FakeModule(check_mode=check_mode, **params)
    if fs is None:
        fs = host_fs(tmp_path, running, nodes_gb) if running else host_fs(tmp_path, nodes_gb=nodes_gb)
    return cl.KernelCmdline(module, fs=fs, runner=runner).run(), module


def dropin(root):
    return (root / "etc/default/grub.d/99-nfv-dpdk.cfg")


def grub_variables(root):
    """(GRUB_CMDLINE_LINUX, GRUB_CMDLINE_LINUX_DEFAULT) as update-grub sources them."""
    out = subprocess.run(["/bin/sh", "-c", '. "$1/etc/default/grub"; for f in "$1"/etc/default/grub.d/*.cfg; do '
                          '[ -f "$f" ] && . "$f"; done; echo "$GRUB_CMDLINE_LINUX|$GRUB_CMDLINE_LINUX_DEFAULT"',
                          "sh", str(root)], stdout=subprocess.PIPE, universal_newlines=True, check=True).stdout
    linux, default = out.strip().split("|")
    return linux, default


def old_dropin(words):
    """The drop-in as versions before the move to GRUB_CMDLINE_LINUX_DEFAULT wrote it."""
    return ("# Managed by Ansible (nfv.dpdk.kernel_cmdline): kernel parameters appended to\n"
            "# GRUB_CMDLINE_LINUX. Edits here are overwritten; run update-grub after changes.\n"
            'GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX %s"\n' % words)


def new_dropin(words):
    return grub.GRUB_HEADER + 'GRUB_CMDLINE_LINUX_DEFAULT="$GRUB_CMDLINE_LINUX_DEFAULT %s"\n' % words


def test_grub_dropin_written_read_back_and_update_grub_run(tmp_path):
    root = grub_root(tmp_path)
    runner = RecordingRunner(binaries=["update-grub"])
    wanted = ["default_hugepagesz=1G", "hugepagesz=1G", "hugepages=4", "hugepagesz=2M", "hugepages=1024"]
    predicted, _m = run(tmp_path, runner, check_mode=True, params=wanted, backend="grub", root=str(root),
                        update_bootloader=False)
    assert not dropin(root).exists() and runner.calls == []
    result, _m = run(tmp_path, runner, params=wanted, backend="grub", root=str(root), update_bootloader=False)
    assert result["changes"] == predicted["changes"] and result["next_boot"] == predicted["next_boot"]
    assert dropin(root).read_text() == grub.GRUB_HEADER + \
        'GRUB_CMDLINE_LINUX_DEFAULT="$GRUB_CMDLINE_LINUX_DEFAULT ' + " ".join(wanted) + '"\n'
    assert result["next_boot"] == "console=ttyS0 quiet " + " ".join(wanted)
    assert result["reboot_required"] is True
    assert result["boot_reservation"] is None  # an image: it boots on another machine
    # what update-grub would compute: source the files in a shell; the recovery entries take only the first
    assert grub_variables(root) == ("console=ttyS0", "quiet " + " ".join(wanted))
    again, _m = run(tmp_path, runner, params=wanted, backend="grub", root=str(root), update_bootloader=False)
    assert again["changed"] is False


def test_grub_on_the_host_runs_update_grub_and_restores_on_failure(tmp_path, monkeypatch):
    root = grub_root(tmp_path)
    on_this_host(monkeypatch, root)  # this host's "/" is the tree
    runner = RecordingRunner(binaries=["update-grub"])
    result, _m = run(tmp_path, runner, params=["iommu=pt"], backend="grub")
    assert runner.calls == [["update-grub"]] and result["changed"]
    failing = RecordingRunner(binaries=["update-grub"], fail=["update-grub"])
    before = dropin(root).read_text()
    with pytest.raises(NfvError) as err:
        run(tmp_path, failing, params=["intel_iommu=on"], backend="grub")
    assert "was restored to its previous content" in err.value.msg
    assert dropin(root).read_text() == before


def test_grub_missing_update_tool_fails_before_writing(tmp_path, monkeypatch):
    root = grub_root(tmp_path)
    on_this_host(monkeypatch, root)
    with pytest.raises(NfvError) as err:
        run(tmp_path, RecordingRunner(), params=["iommu=pt"], backend="grub")
    assert "update-grub, grub-mkconfig, grub2-mkconfig" in err.value.msg
    assert not dropin(root).exists()


def test_grub_absent_removes_the_dropin_and_warns_about_the_base(tmp_path):
    root = grub_root(tmp_path)
    args = dict(backend="grub", root=str(root), update_bootloader=False)
    run(tmp_path, RecordingRunner(), params=["iommu=pt", "nosmt"], **args)
    result, _m = run(tmp_path, RecordingRunner(), params=["nosmt"], state="absent", **args)
    assert result["cmdline"] == "iommu=pt" and dropin(root).exists()
    result, module = run(tmp_path, RecordingRunner(), params=["iommu", "quiet"], state="absent", **args)
    assert result["changed"] and not dropin(root).exists()
    assert result["diff"]["before"] == {"/etc/default/grub.d/99-nfv-dpdk.cfg": "iommu=pt"}
    assert result["diff"]["after"] == {}
    assert any("quiet stays on the next boot" in w for w in module.warnings)


def test_grub_present_already_given_by_the_base_changes_nothing(tmp_path):
    root = grub_root(tmp_path, linux="console=ttyS0 iommu=pt")
    result, _m = run(tmp_path, RecordingRunner(), params=["iommu=pt"], backend="grub", root=str(root),
                     update_bootloader=False)
    assert result["changed"] is False and not dropin(root).exists()
    result, module = run(tmp_path, RecordingRunner(), params=["iommu=on"], backend="grub", root=str(root),
                         update_bootloader=False)
    assert result["changed"] and any("also sets iommu=pt" in w for w in module.warnings)


def test_grub_foreign_dropin_is_not_overwritten(tmp_path):
    root = grub_root(tmp_path, dropins={"99-nfv-dpdk.cfg": 'GRUB_CMDLINE_LINUX="hand made"\n'})
    with pytest.raises(NfvError) as err:
        run(tmp_path, RecordingRunner(), params=["iommu=pt"], backend="grub", root=str(root),
            update_bootloader=False)
    assert "was not written by this module" in err.value.msg
    assert dropin(root).read_text() == 'GRUB_CMDLINE_LINUX="hand made"\n'


def test_grub_other_dropins_are_part_of_the_next_boot(tmp_path):
    root = grub_root(tmp_path, dropins={"50-cloud.cfg": 'echo chatty config\n'
                                                        'GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX net.ifnames=0"\n'})
    result, _m = run(tmp_path, RecordingRunner(), params=["hugepages=0:2,1:2"], backend="grub", root=str(root),
                     update_bootloader=False, running="ro console=ttyS0 net.ifnames=0 hugepages=0:2,1:2 quiet")
    assert result["next_boot"] == "console=ttyS0 net.ifnames=0 quiet hugepages=0:2,1:2"
    assert result["reboot_required"] is False


def test_root_other_than_slash_needs_update_bootloader_false(tmp_path):
    root = grub_root(tmp_path)
    with pytest.raises(NfvError) as err:
        run(tmp_path, RecordingRunner(), params=["iommu=pt"], backend="grub", root=str(root))
    assert "update_bootloader: false" in err.value.msg


def test_kernel_install_keeps_the_base_and_the_init_words(tmp_path):
    root = tmp_path / "image"
    (root / "etc/kernel").mkdir(parents=True)
    (root / "etc/kernel/cmdline").write_text("root=UUID=1234 ro quiet hugepages=16 -- single\n")
    args = dict(backend="kernel-install", root=str(root), update_bootloader=False)
    result, _m = run(tmp_path, RecordingRunner(), params=["hugepagesz=1G", "hugepages=4"], **args)
    assert (root / "etc/kernel/cmdline").read_text() == "root=UUID=1234 ro quiet hugepagesz=1G hugepages=4 -- single\n"
    assert result["next_boot"] == result["cmdline"] == "root=UUID=1234 ro quiet hugepagesz=1G hugepages=4"
    assert run(tmp_path, RecordingRunner(), params=["hugepagesz=1G", "hugepages=4"], **args)[0]["changed"] is False


def test_kernel_install_without_a_file_in_an_image_fails(tmp_path):
    root = tmp_path / "image"
    root.mkdir()
    with pytest.raises(NfvError) as err:
        run(tmp_path, RecordingRunner(), params=["iommu=pt"], backend="kernel-install", root=str(root),
            update_bootloader=False)
    assert "create it with the image's base command line" in err.value.msg


def test_kernel_install_seeds_from_usr_lib(tmp_path):
    root = tmp_path / "image"
    (root / "usr/lib/kernel").mkdir(parents=True)
    (root / "usr/lib/kernel/cmdline").write_text("root=/dev/vda2 rw\n")
    run(tmp_path, RecordingRunner(), params=["iommu=pt"], backend="kernel-install", root=str(root),
        update_bootloader=False)
    assert (root / "etc/kernel/cmdline").read_text() == "root=/dev/vda2 rw iommu=pt\n"


GRUBBY_INFO = """index=0
kernel="/boot/vmlinuz-5.14.0-427.el9.x86_64"
args="ro crashkernel=1G-4G:192M rd.lvm.lv=rhel/root hugepagesz=2M hugepages=512"
root="/dev/mapper/rhel-root"
initrd="/boot/initramfs-5.14.0-427.el9.x86_64.img"
title="Red Hat Enterprise Linux (5.14.0-427.el9.x86_64) 9.4"
id="abc-5.14.0-427.el9.x86_64"
index=1
kernel="/boot/vmlinuz-0-rescue-abc"
args="ro crashkernel=1G-4G:192M rd.lvm.lv=rhel/root hugepagesz=1G hugepages=4 hugepagesz=2M hugepages=1024"
root="/dev/mapper/rhel-root"
"""


def test_parse_grubby_info():
    entries = grubby.parse_grubby_info(GRUBBY_INFO)
    assert [e["kernel"] for e in entries] == ["/boot/vmlinuz-5.14.0-427.el9.x86_64", "/boot/vmlinuz-0-rescue-abc"]
    assert entries[0]["params"][1] == ("crashkernel", "1G-4G:192M")


def test_grubby_argv_per_entry_and_only_entries_that_differ(tmp_path):
    runner = RecordingRunner(binaries=["grubby"], outputs={
        "grubby": lambda args: GRUBBY_INFO if args == ["--info=ALL"] else "/boot/vmlinuz-5.14.0-427.el9.x86_64\n"})
    result, _m = run(tmp_path, runner, check_mode=True, params=kp.format_params(HP).split())
    assert result["backend"] == "grubby"
    assert [c["key"] for c in result["changes"]] == ["kernel /boot/vmlinuz-5.14.0-427.el9.x86_64"]
    assert result["cmdline"] == "ro crashkernel=1G-4G:192M rd.lvm.lv=rhel/root " + kp.format_params(HP)
    assert runner.calls == [["grubby", "--info=ALL"], ["grubby", "--default-kernel"]]
    entry = grubby.parse_grubby_info(GRUBBY_INFO)[0]
    assert grubby.grubby_argv(entry["kernel"], entry["params"], HP, "present") == [
        "--update-kernel=/boot/vmlinuz-5.14.0-427.el9.x86_64", "--remove-args=hugepagesz=2M hugepages=512",
        "--args=hugepagesz=1G hugepages=4 hugepagesz=2M hugepages=1024"]
    assert grubby.grubby_argv(entry["kernel"], entry["params"], params("hugepages"), "absent") == [
        "--update-kernel=/boot/vmlinuz-5.14.0-427.el9.x86_64", "--remove-args=hugepages=512"]


def test_grubby_result_that_differs_from_the_plan_fails(tmp_path):
    runner = RecordingRunner(binaries=["grubby"], outputs={
        "grubby": lambda args: GRUBBY_INFO if args == ["--info=ALL"] else "/boot/vmlinuz-5.14.0-427.el9.x86_64\n"})
    with pytest.raises(NfvError) as err:
        run(tmp_path, runner, params=["iommu=pt"])  # the recorded grubby changes nothing
    assert "grubby did not leave the arguments as planned" in err.value.msg


def test_detect_backend(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(NfvError) as err:
        cl.detect_backend(RecordingRunner(), str(empty))
    assert "set backend" in err.value.msg
    assert cl.detect_backend(RecordingRunner(), str(grub_root(tmp_path))) == "grub"
    (empty / "boot/loader/entries").mkdir(parents=True)
    assert cl.detect_backend(RecordingRunner(), str(empty)) == "kernel-install"
    assert cl.detect_backend(RecordingRunner(binaries=["grubby"]), "/") == "grubby"


def test_bad_params_fail_before_anything_is_read(tmp_path):
    runner = RecordingRunner(binaries=["grubby"])
    with pytest.raises(NfvError):
        run(tmp_path, runner, params=["a=b c"])
    assert runner.calls == []


# -- issue 15: an interrupted run (drop-in written, update-grub not run) is repaired ------------------------
GRUB_CFG = """\
### BEGIN /etc/grub.d/10_linux ###
menuentry 'Debian GNU/Linux' --class debian {
\tload_video
\tlinux\t/boot/vmlinuz-6.1.0-27-amd64 root=UUID=0a1b ro %s
\tinitrd\t/boot/initrd.img-6.1.0-27-amd64
}
submenu 'Advanced options for Debian GNU/Linux' {
\tmenuentry 'Debian GNU/Linux, with Linux 6.1.0-27-amd64 (recovery mode)' {
\t\tlinux\t/boot/vmlinuz-6.1.0-27-amd64 root=UUID=0a1b ro single %s
\t}
}
"""


class UpdateGrub(RecordingRunner):
    """update-grub that really regenerates the fixture's grub.cfg from the sourced configuration."""

    def __init__(self, root, **kwargs):
        super(UpdateGrub, self).__init__(binaries=["update-grub"], **kwargs)
        self.root = root

    def run(self, name, args, check=True, data=None):
        result = super(UpdateGrub, self).run(name, args, check, data)
        if name == "update-grub" and name not in self.fail:
            write_grub_cfg(self.root)
        return result


def write_grub_cfg(root):
    """As Debian's /etc/grub.d/10_linux: the default entry gets both variables, the recovery entry only
    GRUB_CMDLINE_LINUX (after `single`)."""
    linux, default = grub_variables(root)
    (root / "boot/grub").mkdir(parents=True, exist_ok=True)
    (root / "boot/grub/grub.cfg").write_text(GRUB_CFG % ((linux + " " + default).strip(), linux))


@pytest.fixture
def grub_host(tmp_path, monkeypatch):
    root = grub_root(tmp_path)
    write_grub_cfg(root)
    on_this_host(monkeypatch, root)  # this host's "/" is the tree
    return root


def test_interrupted_run_is_repaired_by_running_update_grub_again(tmp_path, grub_host):
    # an earlier run wrote the drop-in and stopped before update-grub: grub.cfg is the old one
    dropin(grub_host).write_text(new_dropin("intel_iommu=on iommu=pt"))
    before = dropin(grub_host).read_text()
    args = dict(params=["intel_iommu=on", "iommu=pt"], backend="grub")
    runner = UpdateGrub(grub_host)
    predicted, _m = run(tmp_path, runner, check_mode=True, **args)
    assert runner.calls == [] and "intel_iommu" not in (grub_host / "boot/grub/grub.cfg").read_text()
    assert predicted["changed"] is True
    assert predicted["changes"] == [{"key": "/boot/grub/grub.cfg", "action": "regenerate", "before": "",
                                     "after": "intel_iommu=on iommu=pt"}]
    assert "interrupted before update-grub" in predicted["repair"]
    assert predicted["diff"]["after"] == {"/boot/grub/grub.cfg": "intel_iommu=on iommu=pt"}

    result, _m = run(tmp_path, runner, **args)
    assert result["changes"] == predicted["changes"] and result["repair"] == predicted["repair"]
    assert runner.calls == [["update-grub"]]
    assert "ro console=ttyS0 quiet intel_iommu=on iommu=pt\n" in (grub_host / "boot/grub/grub.cfg").read_text()
    assert dropin(grub_host).read_text() == before  # the drop-in was right: not rewritten

    runner = UpdateGrub(grub_host)
    again, _m = run(tmp_path, runner, **args)
    assert again["changed"] is False and again["repair"] is None and runner.calls == []


def test_interrupted_removal_is_repaired_too(tmp_path, grub_host):
    run(tmp_path, UpdateGrub(grub_host), params=["iommu=pt"], backend="grub")
    assert "iommu=pt" in (grub_host / "boot/grub/grub.cfg").read_text()
    dropin(grub_host).unlink()  # removed, update-grub never ran
    runner = UpdateGrub(grub_host)
    result, _m = run(tmp_path, runner, params=["iommu"], state="absent", backend="grub")
    assert [c["action"] for c in result["changes"]] == ["regenerate"] and runner.calls == [["update-grub"]]
    assert result["changes"][0]["before"] == "iommu=pt" and result["changes"][0]["after"] == ""
    assert "iommu=pt" not in (grub_host / "boot/grub/grub.cfg").read_text()


def test_no_repair_without_update_bootloader_or_without_grub_cfg(tmp_path, grub_host):
    dropin(grub_host).write_text(new_dropin("iommu=pt"))
    runner = UpdateGrub(grub_host)
    off, _m = run(tmp_path, runner, params=["iommu=pt"], backend="grub", update_bootloader=False)
    assert off["changed"] is False and off["repair"] is None
    (grub_host / "boot/grub/grub.cfg").unlink()  # nothing generated to compare with (an image, a container)
    missing, _m = run(tmp_path, runner, params=["iommu=pt"], backend="grub")
    assert missing["changed"] is False and runner.calls == []


def test_repair_that_does_not_take_fails_naming_the_file(tmp_path, grub_host):
    dropin(grub_host).write_text(new_dropin("iommu=pt"))
    runner = RecordingRunner(binaries=["update-grub"])  # runs, but regenerates nothing
    with pytest.raises(NfvError) as err:
        run(tmp_path, runner, params=["iommu=pt"], backend="grub")
    assert "update-grub ran, but /boot/grub/grub.cfg still gives the next boot nothing instead of iommu=pt" \
        in err.value.msg
    failing = UpdateGrub(grub_host, fail=["update-grub"])
    with pytest.raises(NfvError) as err:
        run(tmp_path, failing, params=["iommu=pt"], backend="grub")
    assert "99-nfv-dpdk.cfg was not changed" in err.value.msg


def grub_cfg(root):
    """{'default', 'recovery'}: the kernel lines of the fixture's generated grub.cfg, as words."""
    lines = grub.grub_cfg_lines((root / "boot/grub/grub.cfg").read_text())
    return dict((entry, kp.format_params(words)) for entry, words in lines.items())


def test_grub_cfg_lines_finds_the_default_and_the_first_recovery_entry():
    text = GRUB_CFG % ("console=ttyS0 quiet hugepages=4", "console=ttyS0")
    assert grub.grub_cfg_lines(text) == {"default": params("root=UUID=0a1b ro console=ttyS0 quiet hugepages=4"),
                                         "recovery": params("root=UUID=0a1b ro single console=ttyS0")}
    assert grub.grub_cfg_lines("menuentry 'x' {\n}\n") == {"default": None, "recovery": None}


# -- issue 27: the collection's parameters go where the recovery entries do not take them ---------------------------
def test_the_dropin_appends_to_grub_cmdline_linux_default_and_reads_its_old_form(tmp_path):
    root = grub_root(tmp_path, dropins={"99-nfv-dpdk.cfg": new_dropin("iommu=pt hugepages=0:2,1:2")})
    backend = grub.GrubBackend(FakeModule(), RecordingRunner(), str(root), False)
    assert backend.read_file()["params"] == params("iommu=pt hugepages=0:2,1:2")
    assert backend.read_file()["legacy"] is False
    assert grub_variables(root) == ("console=ttyS0", "quiet iommu=pt hugepages=0:2,1:2")
    dropin(root).write_text(old_dropin("iommu=pt"))
    assert backend.read_file() == {"text": old_dropin("iommu=pt"), "params": params("iommu=pt"), "tail": [],
                                   "legacy": True}
    assert backend.render(params("iommu=pt"), []) == new_dropin("iommu=pt") and backend.render([], []) is None
    for foreign in ('GRUB_CMDLINE_LINUX_DEFAULT="$GRUB_CMDLINE_LINUX iommu=pt"\n', 'GRUB_CMDLINE_LINUX_DEFAULT="a"\n',
                    new_dropin("a") + new_dropin("b")):
        dropin(root).write_text(foreign)
        with pytest.raises(NfvError) as err:
            backend.read_file()
        assert "was not written by this module (expected one line GRUB_CMDLINE_LINUX_DEFAULT=" in err.value.msg


def test_an_old_dropin_is_rewritten_by_itself_then_the_rerun_changes_nothing(tmp_path, grub_host):
    dropin(grub_host).write_text(old_dropin("intel_iommu=on iommu=pt"))
    write_grub_cfg(grub_host)  # what the earlier version left: the recovery entry has them too
    assert grub_cfg(grub_host)["recovery"] == "root=UUID=0a1b ro single console=ttyS0 intel_iommu=on iommu=pt"
    args = dict(params=["intel_iommu=on", "iommu=pt"], backend="grub")
    runner = UpdateGrub(grub_host)
    predicted, _m = run(tmp_path, runner, check_mode=True, **args)
    assert runner.calls == [] and dropin(grub_host).read_text() == old_dropin("intel_iommu=on iommu=pt")
    assert predicted["changes"] == [{"key": "/etc/default/grub.d/99-nfv-dpdk.cfg", "action": "write",
                                     "before": "GRUB_CMDLINE_LINUX: intel_iommu=on iommu=pt",
                                     "after": "GRUB_CMDLINE_LINUX_DEFAULT: intel_iommu=on iommu=pt"}]
    assert predicted["next_boot"] == "console=ttyS0 quiet intel_iommu=on iommu=pt"

    result, _m = run(tmp_path, runner, **args)
    assert result["changed"] and result["changes"] == predicted["changes"] and runner.calls == [["update-grub"]]
    assert dropin(grub_host).read_text() == new_dropin("intel_iommu=on iommu=pt")
    assert grub_variables(grub_host) == ("console=ttyS0", "quiet intel_iommu=on iommu=pt")
    assert grub_cfg(grub_host) == {"default": "root=UUID=0a1b ro console=ttyS0 quiet intel_iommu=on iommu=pt",
                                   "recovery": "root=UUID=0a1b ro single console=ttyS0"}

    runner = UpdateGrub(grub_host)
    again, _m = run(tmp_path, runner, **args)
    assert again["changed"] is False and again["repair"] is None and runner.calls == []


def test_an_old_dropin_moves_with_the_change_of_the_run_or_goes(tmp_path, grub_host):
    dropin(grub_host).write_text(old_dropin("intel_iommu=on iommu=pt"))
    result, _m = run(tmp_path, UpdateGrub(grub_host), params=["hugepagesz=1G", "hugepages=2"], backend="grub")
    assert result["changes"][0]["before"] == "GRUB_CMDLINE_LINUX: intel_iommu=on iommu=pt"
    assert result["changes"][0]["after"] == \
        "GRUB_CMDLINE_LINUX_DEFAULT: intel_iommu=on iommu=pt hugepagesz=1G hugepages=2"
    assert dropin(grub_host).read_text() == new_dropin("intel_iommu=on iommu=pt hugepagesz=1G hugepages=2")
    dropin(grub_host).write_text(old_dropin("iommu=pt"))
    gone, _m = run(tmp_path, UpdateGrub(grub_host), params=["iommu"], state="absent", backend="grub")
    assert gone["changes"] == [{"key": "/etc/default/grub.d/99-nfv-dpdk.cfg", "action": "delete",
                                "before": "GRUB_CMDLINE_LINUX: iommu=pt", "after": None}]
    assert not dropin(grub_host).exists() and "iommu" not in (grub_host / "boot/grub/grub.cfg").read_text()


def test_a_recovery_entry_that_still_has_them_is_repaired(tmp_path, grub_host):
    dropin(grub_host).write_text(old_dropin("iommu=pt"))
    write_grub_cfg(grub_host)
    dropin(grub_host).write_text(new_dropin("iommu=pt"))  # moved by a run that stopped before update-grub
    runner = UpdateGrub(grub_host)
    predicted, _m = run(tmp_path, runner, check_mode=True, params=["iommu=pt"], backend="grub")
    assert predicted["changes"] == [{"key": "/boot/grub/grub.cfg", "action": "regenerate",
                                     "before": "recovery entry: iommu=pt", "after": "recovery entry: nothing"}]
    assert predicted["repair"].startswith("/boot/grub/grub.cfg gives its recovery entry iommu=pt, but the GRUB "
                                          "configuration gives that entry nothing: an earlier run wrote")
    result, _m = run(tmp_path, runner, params=["iommu=pt"], backend="grub")
    assert result["changes"] == predicted["changes"] and runner.calls == [["update-grub"]]
    assert grub_cfg(grub_host)["recovery"] == "root=UUID=0a1b ro single console=ttyS0"
    assert run(tmp_path, UpdateGrub(grub_host), params=["iommu=pt"], backend="grub")[0]["changed"] is False


def test_a_grub_without_recovery_entries_is_warned_about(tmp_path):
    root = grub_root(tmp_path, dropins={"10-local.cfg": "GRUB_DISABLE_RECOVERY=true\n"})
    args = dict(backend="grub", root=str(root), update_bootloader=False)
    _result, module = run(tmp_path, RecordingRunner(), params=["hugepagesz=1G", "hugepages=2"], **args)
    assert any(w.startswith("GRUB_DISABLE_RECOVERY is true, so no recovery entry boots without these parameters")
               for w in module.warnings), module.warnings
    _result, module = run(tmp_path, RecordingRunner(), params=["iommu=pt"], **args)
    assert module.warnings == []


def test_grubby_leaves_the_rescue_entry_alone_and_cleans_it_on_absent(tmp_path):
    outputs = {"grubby": lambda args: GRUBBY_INFO if args == ["--info=ALL"] else
               "/boot/vmlinuz-5.14.0-427.el9.x86_64\n"}
    result, _m = run(tmp_path, RecordingRunner(binaries=["grubby"], outputs=outputs), check_mode=True,
                     params=["iommu=pt"])
    assert [c["key"] for c in result["changes"]] == ["kernel /boot/vmlinuz-5.14.0-427.el9.x86_64"]
    result, _m = run(tmp_path, RecordingRunner(binaries=["grubby"], outputs=outputs), check_mode=True,
                     params=["hugepages"], state="absent")
    assert [c["key"] for c in result["changes"]] == ["kernel /boot/vmlinuz-5.14.0-427.el9.x86_64",
                                                     "kernel /boot/vmlinuz-0-rescue-abc"]


# -- issue 27: the boot memory budget ---------------------------------------------------------------------------
G = 1 << 20  # kB


def test_a_reservation_over_the_budget_is_refused_before_anything_is_written(tmp_path, grub_host):
    runner = UpdateGrub(grub_host)
    for check_mode in (True, False):
        with pytest.raises(NfvError) as err:
            run(tmp_path, runner, check_mode=check_mode, params=["hugepagesz=1G", "hugepages=31"], backend="grub")
        assert err.value.msg == ("the next boot would reserve 31G of hugepages (hugepagesz=1G hugepages=31), more than "
                                 "the 30G that MemTotal 32G minus memory_reserve 2G leaves: lower the hugepages= "
                                 "counts or memory_reserve; nothing was changed")
        assert err.value.details["boot_reservation"]["reserved_kb"] == 31 * G
    assert not dropin(grub_host).exists() and runner.calls == []

    result, _m = run(tmp_path, runner, params=["hugepagesz=1G", "hugepages=30"], backend="grub")
    assert result["changed"] and runner.calls == [["update-grub"]]
    assert result["boot_reservation"] == {
        "reserved_kb": 30 * G, "limit_kb": 30 * G, "memory_total_kb": 32 * G, "memory_reserve_kb": 2 * G,
        "words": "hugepagesz=1G hugepages=30",
        "nodes": [{"node": 0, "reserved_kb": 0, "memory_total_kb": 16 * G, "limit_kb": 15 * G},
                  {"node": 1, "reserved_kb": 0, "memory_total_kb": 16 * G, "limit_kb": 15 * G}]}
    # a larger reserve: the next boot is over it, but a run that does not raise the reservation goes ahead
    same, module = run(tmp_path, runner, params=["hugepagesz=1G", "hugepages=30"], backend="grub",
                       memory_reserve="10%")
    assert same["changed"] is False
    assert any("more than the 28.8G that MemTotal 32G minus memory_reserve 3.2G leaves" in w and
               "(this run does not raise the reservation, so it goes ahead)" in w for w in module.warnings), \
        module.warnings
    lowered, module = run(tmp_path, runner, params=["hugepagesz=1G", "hugepages=29"], backend="grub",
                          memory_reserve="10%")
    assert lowered["changed"] and any("reserve 29G" in w for w in module.warnings)  # lower, if not low enough
    with pytest.raises(NfvError) as err:
        run(tmp_path, runner, params=["hugepagesz=1G", "hugepages=30"], backend="grub", memory_reserve="10%")
    assert "reserve 30G" in err.value.msg and "memory_reserve 3.2G" in err.value.msg
    assert dropin(grub_host).read_text() == new_dropin("hugepagesz=1G hugepages=29")


def test_each_numa_node_keeps_its_share(tmp_path, grub_host):
    fits, _m = run(tmp_path, UpdateGrub(grub_host), params=["hugepagesz=1G", "hugepages=0:15,1:15"], backend="grub")
    assert fits["changed"] and fits["boot_reservation"]["nodes"][0]["reserved_kb"] == 15 * G
    with pytest.raises(NfvError) as err:
        run(tmp_path, UpdateGrub(grub_host), params=["hugepagesz=1G", "hugepages=0:16,1:1"], backend="grub")
    assert err.value.msg.startswith("the next boot would reserve 16G of hugepages on NUMA node 0 (hugepagesz=1G "
                                    "hugepages=0:16,1:1), more than the 15G that its MemTotal 16G minus its share 1G "
                                    "of memory_reserve 2G leaves")
    with pytest.raises(NfvError) as err:
        run(tmp_path, UpdateGrub(grub_host), params=["hugepagesz=2M", "hugepages=0:8,3:8"], backend="grub")
    assert "names NUMA node 3, which this host does not have (it has nodes 0, 1)" in err.value.msg
    assert dropin(grub_host).read_text() == new_dropin("hugepagesz=1G hugepages=0:15,1:15")


def test_the_whole_next_boot_counts_with_the_default_size_of_the_base_configuration(tmp_path, monkeypatch):
    root = grub_root(tmp_path, linux="console=ttyS0 default_hugepagesz=1G")
    on_this_host(monkeypatch, root)
    with pytest.raises(NfvError) as err:  # 31 pages of the default size, 1G on the next boot
        run(tmp_path, UpdateGrub(root), params=["hugepages=31"], backend="grub")
    assert "would reserve 31G of hugepages (default_hugepagesz=1G hugepages=31)" in err.value.msg


def test_someone_elses_reservation_over_the_budget_is_a_warning(tmp_path, monkeypatch):
    root = grub_root(tmp_path, linux="console=ttyS0 hugepagesz=2M hugepages=16000 hugepagesz=1G hugepages=0:1,5:1")
    on_this_host(monkeypatch, root)
    result, module = run(tmp_path, UpdateGrub(root), params=["default_hugepagesz=2M"], backend="grub")
    assert result["changed"] and dropin(root).exists()
    assert any("would reserve 33.2G of hugepages" in w for w in module.warnings), module.warnings
    assert any("names NUMA node 5" in w for w in module.warnings), module.warnings
    gone, module = run(tmp_path, UpdateGrub(root), params=["default_hugepagesz"], state="absent", backend="grub")
    assert gone["changed"] and not dropin(root).exists()


def test_sizes_the_host_does_not_offer_and_an_unreadable_memtotal_are_refused(tmp_path, grub_host):
    fs = host_fs(tmp_path)
    shutil.rmtree(fs.path("/sys/kernel/mm/hugepages/hugepages-1048576kB"))
    with pytest.raises(NfvError) as err:
        run(tmp_path, UpdateGrub(grub_host), fs=fs, params=["hugepagesz=1G", "hugepages=2"], backend="grub")
    assert err.value.msg == ("hugepagesz=1G hugepages=2: this host's kernel has no 1G pages (it offers 2M; 1G pages "
                             "need the CPU flag pdpe1gb): the kernel ignores them; nothing was changed")
    with pytest.raises(NfvError) as err:
        run(tmp_path, UpdateGrub(grub_host), fs=fs, params=["hugepagesz=4M", "hugepages=2"], backend="grub")
    assert "hugepagesz=4M hugepages=2: this host's kernel has no 4M pages (it offers 2M): the" in err.value.msg
    os.unlink(fs.path("/proc/meminfo"))
    with pytest.raises(NfvError) as err:
        run(tmp_path, UpdateGrub(grub_host), fs=fs, params=["hugepagesz=2M", "hugepages=2"], backend="grub")
    assert err.value.msg.startswith("MemTotal cannot be read from /proc/meminfo")
    assert not dropin(grub_host).exists()


@pytest.mark.parametrize("args,message", [
    ({"params": ["hugepagesz=1G", "hugepages=lots"]}, "hugepages=lots is not a page count"),
    ({"params": ["hugepagesz=1G", "hugepages=1", "hugepagesz=1G", "hugepages=2"]}, "hugepagesz=1G is given twice"),
    ({"params": ["hugepagesz=2M", "hugepages=1"], "memory_reserve": "2 gigs"}, "memory_reserve must be a size"),
])
def test_bad_reservation_words_and_reserve_fail_before_anything_is_read(tmp_path, args, message):
    runner = RecordingRunner(binaries=["grubby"])
    with pytest.raises(NfvError) as err:
        run(tmp_path, runner, **args)
    assert message in err.value.msg and runner.calls == []


def test_no_budget_for_an_image(tmp_path):
    root = grub_root(tmp_path)
    result, _m = run(tmp_path, RecordingRunner(), params=["hugepagesz=1G", "hugepages=4096"], backend="grub",
                     root=str(root), update_bootloader=False)
    assert result["changed"] and result["boot_reservation"] is None
