"""boot/grub_defaults.py: the shell program that learns the base kernel command line as update-grub does, run
with the real /bin/sh on a fixture /etc/default: written out as a file (the program as shellcheck sees it) and
as the grub backend runs it (`sh -c SCRIPT sh DIR OWN`)."""

import os
import subprocess

import pytest

from ansible_collections.nfv.dpdk.plugins.module_utils.boot import grub, grub_defaults
from ansible_collections.nfv.dpdk.plugins.module_utils.boot.kernel_params import format_params

GRUB = 'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX="console=ttyS0"\nGRUB_CMDLINE_LINUX_DEFAULT="quiet splash"\n'
# a cloud image's drop-in: replaces the default entries' line
CLOUD_CFG = 'GRUB_CMDLINE_LINUX_DEFAULT="console=tty1 nomodeset"\n'
# a later drop-in builds on what the earlier ones left
LATER_CFG = 'GRUB_CMDLINE_LINUX_DEFAULT="$GRUB_CMDLINE_LINUX_DEFAULT mitigations=off"\nGRUB_DISABLE_RECOVERY=true\n'
OWN_CFG = 'GRUB_CMDLINE_LINUX_DEFAULT="$GRUB_CMDLINE_LINUX_DEFAULT hugepages=4"\nGRUB_CMDLINE_LINUX="broken"\n'


def etc_default(tmp_path, grub_text=GRUB, dropins=None):
    """A fixture /etc/default: grub, and grub.d with the drop-ins {name: text}; the module's own among them."""
    top = tmp_path / "etc/default"
    (top / "grub.d").mkdir(parents=True)
    if grub_text is not None:
        (top / "grub").write_text(grub_text)
    default = {"50-cloudimg-settings.cfg": CLOUD_CFG, "60-later.cfg": LATER_CFG, grub.GRUB_DROPIN: OWN_CFG,
               "70-not-a-cfg.txt": 'GRUB_CMDLINE_LINUX="not sourced"\n'}
    for name, text in (default if dropins is None else dropins).items():
        (top / "grub.d" / name).write_text(text)
    return top


def as_file(tmp_path, top):
    program = tmp_path / "grub-defaults"
    program.write_text(grub_defaults.SCRIPT)
    return ["/bin/sh", str(program), str(top), str(top / "grub.d" / grub.GRUB_DROPIN)]


def as_the_backend_runs_it(_tmp_path, top):
    return ["/bin/sh", "-c", grub_defaults.SCRIPT, "sh", str(top), str(top / "grub.d" / grub.GRUB_DROPIN)]


def run(argv):
    # no GRUB_* from this test's environment: the program sees only what the files set
    proc = subprocess.run(argv, env={"PATH": "/usr/bin:/bin"}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, check=False)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    return proc.stdout


@pytest.mark.parametrize("invoke", [as_file, as_the_backend_runs_it])
def test_drop_ins_override_grub_in_order_and_the_modules_own_is_left_out(tmp_path, invoke):
    out = run(invoke(tmp_path, etc_default(tmp_path)))
    assert out == ("NFV_GRUB_LINUX=console=ttyS0\n"
                   "NFV_GRUB_DEFAULT=console=tty1 nomodeset mitigations=off\n"
                   "NFV_GRUB_NO_RECOVERY=true\n")


def test_without_drop_ins_grub_alone_gives_the_line(tmp_path):
    out = run(as_file(tmp_path, etc_default(tmp_path, dropins={})))
    assert out == "NFV_GRUB_LINUX=console=ttyS0\nNFV_GRUB_DEFAULT=quiet splash\nNFV_GRUB_NO_RECOVERY=\n"


def test_without_any_grub_configuration_the_line_is_empty(tmp_path):
    out = run(as_file(tmp_path, etc_default(tmp_path, grub_text=None, dropins={})))
    assert out == "NFV_GRUB_LINUX=\nNFV_GRUB_DEFAULT=\nNFV_GRUB_NO_RECOVERY=\n"


def test_what_a_sourced_file_prints_comes_before_the_three_lines(tmp_path):
    top = etc_default(tmp_path, grub_text='echo "NFV_GRUB_LINUX=from grub"\n' + GRUB, dropins={})
    lines = run(as_file(tmp_path, top)).splitlines()
    assert lines[0] == "NFV_GRUB_LINUX=from grub"
    assert lines[-3:] == ["NFV_GRUB_LINUX=console=ttyS0", "NFV_GRUB_DEFAULT=quiet splash", "NFV_GRUB_NO_RECOVERY="]


def test_the_grub_backend_reads_the_programs_values(tmp_path):
    # the backend's own parse of the output: the last lines win, the module's drop-in is not in the base
    root = tmp_path / "image"
    etc_default(root)

    class Shell:
        def output(self, name, args, **kwargs):
            return run([os.path.join("/bin", name)] + list(args))

    backend = grub.GrubBackend(None, Shell(), str(root), False)
    linux, default = backend.base()
    assert (format_params(linux), format_params(default)) == ("console=ttyS0", "console=tty1 nomodeset mitigations=off")
    assert backend.no_recovery is True
