# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""systemd units: text, escaping, verification, installation and state.

`exec_line(argv)` escapes an argv for ExecStart= and friends so that systemd
hands exactly that argv to execve(): every word is quoted when it needs to be,
backslashes and quotes are escaped, `$` and `%` are doubled (no environment or
specifier expansion), and long command lines continue over several lines.

`Systemd(runner)` is the one reader and writer of unit state through
systemctl/journalctl. It refuses to act when the host does not run systemd
(no /run/systemd/system) rather than pretend.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import shutil
import tempfile

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.core.fields import CONTROL_RE
from ansible_collections.nfv.dpdk.plugins.module_utils.core.runner import output_text

# used with fullmatch: "$" also matches before a final newline
UNIT_NAME = re.compile(r"[A-Za-z0-9:_.\\-]+\.(service|socket|target|timer|path|mount)")
# characters that force a word into quotes
_NEEDS_QUOTES = re.compile(r"[\s\"'\\;]")
SYSTEMD_BOOTED_MARKER = "/run/systemd/system"
# a newline that is not a line continuation
_RAW_NEWLINE = re.compile(r"(?<!\\)\n")


def escape_word(word):
    """One argv word as systemd's command-line parser reads it back unchanged.

    A control character is refused, not escaped: systemd ends a unit line at a NUL as at a newline, and
    no option of ours may hold one (module_utils/fields.py refuses them in every module's options first).
    """
    word = str(word)
    if CONTROL_RE.search(word):
        raise NfvError("%r cannot be a word of a unit's command line: it contains a control character" % (word,))
    # specifiers (%) and environment variables ($) are expanded even inside quotes
    word = word.replace("%", "%%").replace("$", "$$")
    if word == ";":
        return "\\;"
    if word == "" or _NEEDS_QUOTES.search(word):
        escaped = word.replace("\\", "\\\\").replace('"', '\\"')
        return '"%s"' % escaped
    return word


def exec_line(argv, prefix="", group_options=True):
    """ExecStart= value: argv escaped; with group_options, one `-option value` per line."""
    if not argv:
        raise ValueError("empty argv")
    if not os.path.isabs(argv[0]):
        raise NfvError("the program of a unit command must be an absolute path, got %r" % (argv[0],))
    words = [escape_word(w) for w in argv]
    if not group_options or len(words) < 4:
        return prefix + " ".join(words)
    lines = [prefix + words[0]]
    i = 1
    while i < len(argv):
        if argv[i].startswith("-") and i + 1 < len(argv) and not argv[i + 1].startswith("-"):
            lines.append(words[i] + " " + words[i + 1])
            i += 2
        else:
            lines.append(words[i])
            i += 1
    return " \\\n    ".join(lines)


def unescape_exec(value):
    """Inverse of exec_line for the words we write (used to read units back and in tests); NfvError, never a
    crash, for what systemd would not parse either."""
    value = value.replace("\\\n", " ")
    words, cur, i, quoted, have = [], [], 0, False, False
    while i < len(value):
        ch = value[i]
        if quoted:
            if ch == "\\" and i + 1 < len(value):
                nxt = value[i + 1]
                cur.append({"n": "\n", "t": "\t", "r": "\r"}.get(nxt, nxt))
                i += 2
                continue
            if ch == '"':
                quoted = False
            else:
                cur.append(ch)
        elif ch == '"':
            quoted = True
            have = True
        elif ch.isspace():
            if cur or have:
                words.append("".join(cur))
            cur, have = [], False
        elif ch == "\\" and i + 1 < len(value):
            cur.append(value[i + 1])
            have = True
            i += 2
            continue
        else:
            cur.append(ch)
            have = True
        i += 1
    if quoted:
        raise NfvError("a unit command line has unbalanced quoting (the unit was not written by this collection or "
                       "was edited by hand): %r" % value)
    if cur or have:
        words.append("".join(cur))
    return [w.replace("%%", "%").replace("$$", "$") for w in words]


def render_unit(sections, header=None):
    """Unit text from [(section, [(key, value), ...]), ...]; values None are left out."""
    out = []
    if header:
        out.extend("# " + line if line else "#" for line in header.splitlines())
        out.append("")
    for index, (section, items) in enumerate(sections):
        if index:
            out.append("")
        out.append("[%s]" % section)
        for key, value in items:
            if value is None:
                continue
            if _RAW_NEWLINE.search(value):
                raise ValueError("%s= value contains a raw newline" % key)
            out.append("%s=%s" % (key, value))
    return "\n".join(out) + "\n"


def enable_wants_link(fs, unit_file, wants_link):
    """Enable a unit as `systemctl enable` does for its WantedBy= target: the wants link, under fs.root."""
    link = fs.path(wants_link)
    if not os.path.isdir(os.path.dirname(link)):
        os.makedirs(os.path.dirname(link), 0o755)
    if os.path.lexists(link):
        os.unlink(link)
    os.symlink(unit_file, link)


def verify_unit(runner, unit_name, text):
    """Run `systemd-analyze verify` on the unit text (in a private directory, under its real name).

    Returns a dict(ran, output). Raises NfvError on a fatal problem or a setting
    systemd would ignore (bad quoting, unparseable values). A host without
    systemd-analyze returns ran=False.
    """
    if not UNIT_NAME.fullmatch(unit_name or ""):
        raise NfvError("unit name %r is not a systemd unit name (letters, digits, ':', '_', '.', '-' and a type "
                       "suffix such as .service)" % (unit_name,))
    if not runner.has("systemd-analyze"):
        return {"ran": False, "output": "systemd-analyze not found; unit not verified"}
    tmp = tempfile.mkdtemp(prefix="nfv-unit-")
    try:
        path = os.path.join(tmp, unit_name)
        with open(path, "w") as handle:
            handle.write(text)
        rc, out, err = runner.run("systemd-analyze", ["verify", path], check=False,
                                  env={"SYSTEMD_LOG_COLOR": "0", "SYSTEMD_PAGER": ""})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    output = "\n".join(x for x in (output_text(out).strip(), output_text(err).strip()) if x)
    problems = []
    for line in output.splitlines():
        if tmp not in line and unit_name not in line:
            continue  # messages about other units (dependencies on this host)
        if "Unknown key" in line or "Unknown section" in line:
            continue  # a key this systemd version does not know: a warning, not our bug
        if "ignoring" in line or "fatal error" in line or "bad unit file setting" in line \
                or "is not executable" in line:
            problems.append(line.replace(tmp + "/", ""))
    if rc != 0 or problems:
        raise NfvError("systemd-analyze verify rejected the unit %s: %s"
                       % (unit_name, "; ".join(problems) or output.replace(tmp + "/", "")),
                       unit_text=text, verify_output=output.replace(tmp + "/", ""))
    return {"ran": True, "output": output.replace(tmp + "/", "")}


class Systemd:
    """Unit state through systemctl and journalctl (argv only, LC_ALL=C via the runner)."""

    def __init__(self, runner, booted_marker=SYSTEMD_BOOTED_MARKER):
        self.runner = runner
        self.booted_marker = booted_marker

    def available(self):
        """(True, None) when systemctl can manage units here, else (False, why)."""
        if not self.runner.has("systemctl"):
            return False, "systemctl is not installed on this host"
        if not os.path.isdir(self.booted_marker):
            return False, ("this host is not running systemd as its init (%s does not exist)"
                           % self.booted_marker)
        return True, None

    def require(self, what):
        ok, why = self.available()
        if not ok:
            raise NfvError("cannot %s: %s" % (what, why))

    def _ctl(self, args, check=True):
        return self.runner.run("systemctl", args, check=check)

    def state(self, unit):
        """{'active', 'sub', 'enabled', 'result', 'load', 'main_pid', 'n_restarts'} as systemctl reports them.

        n_restarts counts the automatic restarts since the last start by hand (systemd resets it then).
        """
        _rc, out, _err = self._ctl(["show", unit, "--property=ActiveState,SubState,UnitFileState,Result,"
                                                  "LoadState,MainPID,NRestarts"], check=False)
        props = {}
        for line in output_text(out).splitlines():
            if "=" in line:
                key, value = line.split("=", 1)
                props[key] = value
        return {"active": props.get("ActiveState", "unknown"), "sub": props.get("SubState", ""),
                "enabled": props.get("UnitFileState", "") or "unknown",
                "result": props.get("Result", ""), "load": props.get("LoadState", ""),
                "main_pid": int(props.get("MainPID") or 0), "n_restarts": int(props.get("NRestarts") or 0)}

    def process_argv(self, pid, proc_root="/proc"):
        """argv of a running process (its /proc/PID/cmdline), or None."""
        if not pid:
            return None
        try:
            with open("%s/%d/cmdline" % (proc_root, pid), "rb") as handle:
                raw = handle.read()
        except (IOError, OSError):
            return None
        return [w.decode("utf-8", "replace") for w in raw.split(b"\0")[:-1]] or None

    def daemon_reload(self):
        self._ctl(["daemon-reload"])

    def start(self, unit):
        return self._ctl(["start", unit], check=False)

    def stop(self, unit, check=True):
        return self._ctl(["stop", unit], check=check)

    def restart(self, unit):
        return self._ctl(["restart", unit], check=False)

    def enable(self, unit):
        self._ctl(["enable", unit])

    def disable(self, unit):
        self._ctl(["disable", unit])

    def reset_failed(self, unit):
        self._ctl(["reset-failed", unit], check=False)

    def journal_tail(self, unit, lines=40, since=None):
        """The last `lines` journal lines of a unit, from the epoch second `since` when given."""
        if not self.runner.has("journalctl"):
            return []
        args = ["--unit", unit, "--lines", str(lines), "--no-pager", "--output", "short-iso"]
        if since:
            args += ["--since", "@%d" % since]
        _rc, out, _err = self.runner.run("journalctl", args, check=False)
        return output_text(out).splitlines()[-lines:]
