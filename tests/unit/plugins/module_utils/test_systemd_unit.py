"""systemd unit text: escaping of argv for Exec*= lines, rendering, state parsing."""

import random

import pytest

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.core.systemd_unit import (
    Systemd,
    escape_word,
    exec_line,
    render_unit,
    unescape_exec,
    verify_unit,
)


@pytest.mark.parametrize("word, expected", [
    ("-m", "-m"),
    ("memory-backend-file,id=mem0,size=4G", "memory-backend-file,id=mem0,size=4G"),
    ("console=ttyS0 quiet", '"console=ttyS0 quiet"'),
    ('a="b c"', '"a=\\"b c\\""'),
    ("back\\slash", '"back\\\\slash"'),
    ("$HOME", "$$HOME"),
    ("100%", "100%%"),
    ("cost $5 100%", '"cost $$5 100%%"'),
    ("", '""'),
    (";", "\\;"),
    ("it's", '"it\'s"'),
    ("tab here", '"tab here"'),
])
def test_escape_word(word, expected):
    assert escape_word(word) == expected


@pytest.mark.parametrize("word", ["a\x00b", "tab\there", "two\nlines", "cr\r", "\x7f", "\x85", "sep\u2028"])
def test_escape_word_refuses_control_characters(word):
    with pytest.raises(NfvError, match="control character"):
        escape_word(word)


def test_what_the_writer_writes_the_reader_reads_back():
    """Every word the writer accepts comes back unchanged; a seeded random walk over the characters that
    systemd's parser treats specially (quotes, backslashes, specifiers, separators, non-ASCII)."""
    rng = random.Random(27)
    alphabet = list(" \"'\\$%;,=:-/@+!~#&*(){}[]<>|?^`") + ["a", "Z", "0", "\u00e9", "\u4e2d", "\U0001f600"]
    for _round in range(500):
        argv = ["/usr/bin/prog"] + ["".join(rng.choice(alphabet) for _char in range(rng.randint(0, 12)))
                                    for _word in range(rng.randint(1, 6))]
        for grouped in (True, False):
            assert unescape_exec(exec_line(argv, group_options=grouped)) == argv


@pytest.mark.parametrize("text", ['/bin/a "open', '"', '/bin/a "x\\"', '/bin/a "ok" "', '/bin/"a'])
def test_the_reader_refuses_what_systemd_cannot_parse_without_crashing(text):
    with pytest.raises(NfvError, match="unbalanced quoting"):
        unescape_exec(text)


ARGVS = [
    ["/usr/bin/qemu-system-x86_64", "-name", "guest=vm1", "-append", 'console=ttyS0 a="b c" $X 5%'],
    ["/bin/echo", "", ";", "x\\y", "it's", "-flag", "-other", "value"],
    ["/usr/bin/python3", "/usr/local/libexec/helper", "/run/nfv-qemu/vm1/qmp.sock", "60"],
]


@pytest.mark.parametrize("argv", ARGVS)
@pytest.mark.parametrize("grouped", [True, False])
def test_exec_line_round_trips(argv, grouped):
    line = exec_line(argv, group_options=grouped)
    assert unescape_exec(line) == argv


def test_exec_line_groups_options_one_per_line():
    line = exec_line(["/usr/bin/qemu", "-m", "1G", "-nodefaults", "-smp", "2"])
    assert line.split(" \\\n    ") == ["/usr/bin/qemu", "-m 1G", "-nodefaults", "-smp 2"]


def test_exec_line_prefix_and_relative_program():
    assert exec_line(["/usr/bin/install", "-d", "/x"], prefix="+", group_options=False) == "+/usr/bin/install -d /x"
    with pytest.raises(NfvError, match="absolute path"):
        exec_line(["qemu", "-m", "1G"])


def test_render_unit_sections_skip_none_and_reject_raw_newlines():
    text = render_unit([("Unit", [("Description", "x"), ("After", None)]),
                        ("Service", [("ExecStart", exec_line(["/bin/a", "-b", "c", "-d", "e"]))])],
                       header="Managed\nby us")
    assert text.startswith("# Managed\n# by us\n\n[Unit]\nDescription=x\n\n[Service]\nExecStart=/bin/a \\\n")
    assert "After" not in text
    with pytest.raises(ValueError, match="raw newline"):
        render_unit([("Service", [("Description", "two\nlines")])])


class FakeRunner:
    """Canned command results (what systemctl/systemd-analyze printed), recording the argv."""

    def __init__(self, results, present=("systemctl", "journalctl", "systemd-analyze")):
        self.results = results
        self.present = present
        self.calls = []

    def has(self, name):
        return name in self.present

    def run(self, name, args, check=True, data=None, env=None):
        self.calls.append([name] + list(args))
        key = (name, args[0])
        return self.results.get(key, (0, b"", b""))


def test_systemd_refuses_without_booted_systemd(tmp_path):
    runner = FakeRunner({})
    ok, why = Systemd(runner, booted_marker=str(tmp_path / "missing")).available()
    assert not ok and "not running systemd" in why
    ok, why = Systemd(FakeRunner({}, present=()), booted_marker=str(tmp_path)).available()
    assert not ok and "systemctl is not installed" in why
    assert Systemd(runner, booted_marker=str(tmp_path)).available() == (True, None)
    with pytest.raises(NfvError, match="cannot start the guest: this host is not running systemd"):
        Systemd(runner, booted_marker=str(tmp_path / "missing")).require("start the guest")


def test_systemd_state_parses_show_output(tmp_path):
    out = (b"ActiveState=active\nSubState=running\nUnitFileState=enabled\nResult=success\nLoadState=loaded\n"
           b"NRestarts=2\n")
    runner = FakeRunner({("systemctl", "show"): (0, out, b"")})
    state = Systemd(runner, booted_marker=str(tmp_path)).state("nfv-qemu-vm1.service")
    assert state == {"active": "active", "sub": "running", "enabled": "enabled", "result": "success",
                     "load": "loaded", "main_pid": 0, "n_restarts": 2}
    assert runner.calls[0][:3] == ["systemctl", "show", "nfv-qemu-vm1.service"]


def test_verify_unit_reports_ignored_settings():
    bad = (1, b"", b"/tmp/nfv-unit-x/nfv-qemu-a.service:11: Unbalanced quoting, ignoring: \"...\"\n"
                   b"nfv-qemu-a.service: Unit configuration has fatal error, unit will not be started.\n")
    with pytest.raises(NfvError, match="Unbalanced quoting"):
        verify_unit(FakeRunner({("systemd-analyze", "verify"): bad}), "nfv-qemu-a.service", "[Service]\n")
    warn = (0, b"", b"/tmp/nfv-unit-x/nfv-qemu-a.service:6: Special user nobody configured, this is not safe!\n"
                    b"/tmp/nfv-unit-x/nfv-qemu-a.service:9: Unknown key 'ProtectClock' in section [Service], "
                    b"ignoring.\n")
    result = verify_unit(FakeRunner({("systemd-analyze", "verify"): warn}), "nfv-qemu-a.service", "[Service]\n")
    assert result["ran"] is True
    assert verify_unit(FakeRunner({}, present=()), "nfv-qemu-a.service", "")["ran"] is False


def test_process_argv_reads_cmdline(tmp_path):
    (tmp_path / "42").mkdir()
    (tmp_path / "42" / "cmdline").write_bytes(b"/usr/bin/qemu\0-append\0console=ttyS0 quiet\0")
    systemd = Systemd(FakeRunner({}), booted_marker=str(tmp_path))
    assert systemd.process_argv(42, proc_root=str(tmp_path)) == ["/usr/bin/qemu", "-append", "console=ttyS0 quiet"]
    assert systemd.process_argv(0, proc_root=str(tmp_path)) is None
    assert systemd.process_argv(43, proc_root=str(tmp_path)) is None


def test_journal_tail_since_start(tmp_path):
    runner = FakeRunner({("journalctl", "--unit"): (0, b"a\nb\nc\n", b"")})
    lines = Systemd(runner, booted_marker=str(tmp_path)).journal_tail("nfv-qemu-a.service", 2, since=1700000000)
    assert lines == ["b", "c"]
    assert runner.calls[0][-2:] == ["--since", "@1700000000"]
