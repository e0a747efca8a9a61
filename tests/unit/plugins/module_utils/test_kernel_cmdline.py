"""kernel_cmdline: parsing, block editing, validation and the three backends on temporary roots.

The GRUB backend's view of the rest of the configuration is computed by the
real /bin/sh sourcing fixture files, as update-grub does; bootloader commands
(update-grub, grubby, kernel-install) are recorded, not run.
"""

import os
import subprocess

import pytest

from ansible_collections.nfv.dpdk.plugins.module_utils import cmdline as cl
from ansible_collections.nfv.dpdk.plugins.module_utils.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.hostfs import HostFS
from ansible_collections.nfv.dpdk.plugins.module_utils.runner import CommandError
from ansible_collections.nfv.dpdk.tests.unit.sysfs_tree import SysfsTree

P = cl.parse_word


def params(text):
    return cl.parse_words(text)[0]


# -- parsing ------------------------------------------------------------------
def test_parse_keeps_order_repeated_keys_flags_and_empty_values():
    got = params("BOOT_IMAGE=/vmlinuz ro quiet hugepagesz=1G hugepages=4 hugepagesz=2M hugepages=1024 console=")
    assert got == [("BOOT_IMAGE", "/vmlinuz"), ("ro", None), ("quiet", None), ("hugepagesz", "1G"),
                   ("hugepages", "4"), ("hugepagesz", "2M"), ("hugepages", "1024"), ("console", "")]
    assert cl.format_params(got) == "BOOT_IMAGE=/vmlinuz ro quiet hugepagesz=1G hugepages=4 hugepagesz=2M " \
                                    "hugepages=1024 console="


@pytest.mark.parametrize("word", ["hugepages=0:2,1:2", "isolcpus=managed_irq,domain,2-3", "rd.lvm.lv=vg/root",
                                  "console=ttyS0,115200n8", "dyndbg=file=x", "8250.nr_uarts=4"])
def test_values_with_separators_round_trip(word):
    assert cl.format_param(P(word)) == word
    assert cl.normalize_params([word]) == [P(word)]


def test_words_after_double_dash_are_kept_apart():
    got, tail = cl.parse_words("ro quiet -- --firecracker-init --addr 0.0.0.0:2024")
    assert got == [("ro", None), ("quiet", None)]
    assert tail == ["--", "--firecracker-init", "--addr", "0.0.0.0:2024"]


def test_quoted_values_from_an_existing_line_stay_one_word():
    assert params('a=1 dyndbg="file x.c +p" b') == [("a", "1"), ("dyndbg", '"file x.c +p"'), ("b", None)]


# -- validation ----------------------------------------------------------------
def test_normalize_accepts_strings_and_dicts():
    got = cl.normalize_params(["intel_iommu=on", {"key": "hugepagesz", "value": "1G"}, {"key": "hugepages", "value": 4},
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
        cl.normalize_params(raw)
    assert message in err.value.msg


# -- editing -------------------------------------------------------------------
HP = params("hugepagesz=1G hugepages=4 hugepagesz=2M hugepages=1024")


def test_present_appends_a_new_block_in_order():
    assert cl.edit(params("ro quiet"), HP, "present") == params("ro quiet") + HP


def test_present_is_satisfied_by_the_block_anywhere():
    line = params("ro hugepagesz=1G hugepages=4 quiet hugepagesz=2M hugepages=1024 splash")
    assert cl.edit(line, HP, "present") == line
    assert cl.satisfied(line, HP, "present")


def test_present_replaces_every_occurrence_of_the_keys_where_the_first_was():
    line = params("ro hugepagesz=2M hugepages=512 quiet hugepages=8 splash")
    assert cl.edit(line, HP, "present") == params("ro") + HP + params("quiet splash")
    assert cl.edit(line, HP, "present", append=True) == params("ro quiet splash") + HP


def test_present_replaces_a_stale_value_and_order_counts():
    assert cl.edit(params("default_hugepagesz=2M quiet"), params("default_hugepagesz=1G"), "present") == \
        params("default_hugepagesz=1G quiet")
    swapped = params("hugepagesz=2M hugepages=1024 hugepagesz=1G hugepages=4")
    assert cl.edit(swapped, HP, "present") == HP


def test_present_per_node_form():
    line = params("ro hugepagesz=1G hugepages=0:2,1:2")
    wanted = params("hugepagesz=1G hugepages=0:4,1:4")
    assert cl.edit(line, wanted, "present") == params("ro hugepagesz=1G hugepages=0:4,1:4")
    assert cl.edit(cl.edit(line, wanted, "present"), wanted, "present") == params("ro") + wanted


def test_present_is_idempotent_for_every_block_shape():
    for line in ("", "ro", "hugepages=3 ro hugepagesz=1G", "hugepagesz=1G hugepages=4 hugepagesz=2M hugepages=1024"):
        once = cl.edit(params(line), HP, "present")
        assert cl.edit(once, HP, "present") == once
        assert cl.project(once, {"hugepagesz", "hugepages"}) == HP


def test_two_blocks_with_other_keys_do_not_fight():
    iommu = params("intel_iommu=on iommu=pt")
    line = cl.edit(cl.edit(params("ro"), iommu, "present", append=True), HP, "present", append=True)
    assert cl.edit(cl.edit(line, iommu, "present", append=True), HP, "present", append=True) == line


def test_absent_bare_key_removes_every_occurrence_exact_pair_removes_one():
    line = params("ro hugepagesz=1G hugepages=4 hugepagesz=2M hugepages=1024 quiet")
    assert cl.edit(line, params("hugepages"), "absent") == params("ro hugepagesz=1G hugepagesz=2M quiet")
    assert cl.edit(line, params("hugepages=1024 hugepagesz=2M"), "absent") == \
        params("ro hugepagesz=1G hugepages=4 quiet")
    assert cl.edit(line, params("nosmt hugepages=7"), "absent") == line
    assert cl.edit(params("quiet ro quiet"), params("quiet"), "absent") == params("ro")


def test_removed_by_lists_exact_params_for_grubby():
    line = params("ro hugepagesz=2M hugepages=512 quiet")
    assert cl.removed_by(line, HP, "present") == params("hugepagesz=2M hugepages=512")
    assert cl.removed_by(line + HP[:0], params("quiet"), "absent") == params("quiet")
    assert cl.removed_by(params("ro") + HP, HP, "present") == []


def test_needs_reboot_compares_only_the_keys_given():
    running = params("ro quiet hugepagesz=1G hugepages=4 hugepagesz=2M hugepages=1024 console=ttyS0")
    assert not cl.needs_reboot(params("ro splash") + HP, running, HP)
    assert cl.needs_reboot(params("ro") + params("hugepagesz=1G hugepages=8"), running, HP)
    assert cl.needs_reboot(params("ro"), running, params("hugepages"))  # removed, still running
    assert not cl.needs_reboot(params("ro"), params("ro"), params("nosmt"))


# -- backends on temporary roots -------------------------------------------------
class FakeModule:
    def __init__(self, check_mode=False, **params):
        self.params = dict({"state": "present", "backend": "auto", "root": "/", "update_bootloader": True}, **params)
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


def host_fs(tmp_path, running="BOOT_IMAGE=/vmlinuz root=/dev/vda1 ro console=ttyS0 quiet"):
    tree = SysfsTree(tmp_path / "host")
    tree.cmdline(running)
    return HostFS(str(tmp_path / "host"))


def run(tmp_path, runner, check_mode=False, running=None, **params):
    module = FakeModule(check_mode=check_mode, **params)
    fs = host_fs(tmp_path, running) if running else host_fs(tmp_path)
    return cl.KernelCmdline(module, fs=fs, runner=runner).run(), module


def dropin(root):
    return (root / "etc/default/grub.d/99-nfv-dpdk.cfg")


def test_grub_dropin_written_read_back_and_update_grub_run(tmp_path):
    root = grub_root(tmp_path)
    runner = RecordingRunner(binaries=["update-grub"])
    wanted = ["default_hugepagesz=1G", "hugepagesz=1G", "hugepages=4", "hugepagesz=2M", "hugepages=1024"]
    predicted, _m = run(tmp_path, runner, check_mode=True, params=wanted, backend="grub", root=str(root),
                        update_bootloader=False)
    assert not dropin(root).exists() and runner.calls == []
    result, _m = run(tmp_path, runner, params=wanted, backend="grub", root=str(root), update_bootloader=False)
    assert result["changes"] == predicted["changes"] and result["next_boot"] == predicted["next_boot"]
    assert dropin(root).read_text().splitlines()[-1] == \
        'GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX ' + " ".join(wanted) + '"'
    assert result["next_boot"] == "console=ttyS0 " + " ".join(wanted) + " quiet"
    assert result["reboot_required"] is True
    # what update-grub would compute: source the files in a shell
    out = subprocess.run(["/bin/sh", "-c", '. "$1/etc/default/grub"; . "$1/etc/default/grub.d/99-nfv-dpdk.cfg"; '
                          'echo "$GRUB_CMDLINE_LINUX"', "sh", str(root)], stdout=subprocess.PIPE,
                         universal_newlines=True, check=True).stdout.strip()
    assert out == "console=ttyS0 " + " ".join(wanted)
    again, _m = run(tmp_path, runner, params=wanted, backend="grub", root=str(root), update_bootloader=False)
    assert again["changed"] is False


def test_grub_on_the_host_runs_update_grub_and_restores_on_failure(tmp_path, monkeypatch):
    root = grub_root(tmp_path)
    monkeypatch.setattr(cl, "host_path", lambda _root, path: str(root) + path)  # this host's "/" is the tree
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
    monkeypatch.setattr(cl, "host_path", lambda _root, path: str(root) + path)
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
    assert result["next_boot"] == "console=ttyS0 net.ifnames=0 hugepages=0:2,1:2 quiet"
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
    entries = cl.parse_grubby_info(GRUBBY_INFO)
    assert [e["kernel"] for e in entries] == ["/boot/vmlinuz-5.14.0-427.el9.x86_64", "/boot/vmlinuz-0-rescue-abc"]
    assert entries[0]["params"][1] == ("crashkernel", "1G-4G:192M")


def test_grubby_argv_per_entry_and_only_entries_that_differ(tmp_path):
    runner = RecordingRunner(binaries=["grubby"], outputs={
        "grubby": lambda args: GRUBBY_INFO if args == ["--info=ALL"] else "/boot/vmlinuz-5.14.0-427.el9.x86_64\n"})
    result, _m = run(tmp_path, runner, check_mode=True, params=cl.format_params(HP).split())
    assert result["backend"] == "grubby"
    assert [c["key"] for c in result["changes"]] == ["kernel /boot/vmlinuz-5.14.0-427.el9.x86_64"]
    assert result["cmdline"] == "ro crashkernel=1G-4G:192M rd.lvm.lv=rhel/root " + cl.format_params(HP)
    assert runner.calls == [["grubby", "--info=ALL"], ["grubby", "--default-kernel"]]
    entry = cl.parse_grubby_info(GRUBBY_INFO)[0]
    assert cl.grubby_argv(entry["kernel"], entry["params"], HP, "present") == [
        "--update-kernel=/boot/vmlinuz-5.14.0-427.el9.x86_64", "--remove-args=hugepagesz=2M hugepages=512",
        "--args=hugepagesz=1G hugepages=4 hugepagesz=2M hugepages=1024"]
    assert cl.grubby_argv(entry["kernel"], entry["params"], params("hugepages"), "absent") == [
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
    out = subprocess.run(["/bin/sh", "-c", '. "$1/etc/default/grub"; for f in "$1"/etc/default/grub.d/*.cfg; do '
                          '[ -f "$f" ] && . "$f"; done; echo "$GRUB_CMDLINE_LINUX|$GRUB_CMDLINE_LINUX_DEFAULT"',
                          "sh", str(root)], stdout=subprocess.PIPE, universal_newlines=True, check=True).stdout
    linux, default = out.strip().split("|")
    (root / "boot/grub").mkdir(parents=True, exist_ok=True)
    (root / "boot/grub/grub.cfg").write_text(GRUB_CFG % ((linux + " " + default).strip(), linux))


@pytest.fixture
def grub_host(tmp_path, monkeypatch):
    root = grub_root(tmp_path)
    write_grub_cfg(root)
    monkeypatch.setattr(cl, "host_path", lambda _root, path: str(root) + path)  # this host's "/" is the tree
    return root


def test_interrupted_run_is_repaired_by_running_update_grub_again(tmp_path, grub_host):
    # an earlier run wrote the drop-in and stopped before update-grub: grub.cfg is the old one
    dropin(grub_host).write_text(cl.GRUB_HEADER + 'GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX intel_iommu=on iommu=pt"\n')
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
    assert "ro console=ttyS0 intel_iommu=on iommu=pt quiet\n" in (grub_host / "boot/grub/grub.cfg").read_text()
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
    dropin(grub_host).write_text(cl.GRUB_HEADER + 'GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX iommu=pt"\n')
    runner = UpdateGrub(grub_host)
    off, _m = run(tmp_path, runner, params=["iommu=pt"], backend="grub", update_bootloader=False)
    assert off["changed"] is False and off["repair"] is None
    (grub_host / "boot/grub/grub.cfg").unlink()  # nothing generated to compare with (an image, a container)
    missing, _m = run(tmp_path, runner, params=["iommu=pt"], backend="grub")
    assert missing["changed"] is False and runner.calls == []


def test_repair_that_does_not_take_fails_naming_the_file(tmp_path, grub_host):
    dropin(grub_host).write_text(cl.GRUB_HEADER + 'GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX iommu=pt"\n')
    runner = RecordingRunner(binaries=["update-grub"])  # runs, but regenerates nothing
    with pytest.raises(NfvError) as err:
        run(tmp_path, runner, params=["iommu=pt"], backend="grub")
    assert "update-grub ran, but /boot/grub/grub.cfg still gives the next boot nothing instead of iommu=pt" \
        in err.value.msg
    failing = UpdateGrub(grub_host, fail=["update-grub"])
    with pytest.raises(NfvError) as err:
        run(tmp_path, failing, params=["iommu=pt"], backend="grub")
    assert "99-nfv-dpdk.cfg was not changed" in err.value.msg
