# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kernel boot parameters: parsing and editing command lines, and the bootloader backends.

A parameter is a (key, value) pair; value is None for a flag (`quiet`) and ""
for an empty value (`console=`). Order and repeated keys are kept, because the
kernel reads some parameters as a sequence: in
`hugepagesz=1G hugepages=4 hugepagesz=2M hugepages=1024` each `hugepages`
belongs to the `hugepagesz` before it.

Editing (`edit`) works on blocks:
- present: the given parameters are one block. When the parameters with the
  block's keys already read exactly as the block, in order, nothing changes.
  Otherwise every occurrence of those keys is removed and the block is put
  where the first occurrence was (or at the end).
- absent: `key` removes every occurrence of the key, `key=value` removes only
  that exact parameter.

Backends keep the parameters where the next boot takes them from:
- grub: a drop-in /etc/default/grub.d/99-nfv-dpdk.cfg that appends to
  GRUB_CMDLINE_LINUX, then update-grub (or grub-mkconfig / grub2-mkconfig).
- grubby: `grubby --update-kernel=KERNEL --remove-args=... --args=...` for every
  boot entry (RHEL family, BLS).
- kernel-install: /etc/kernel/cmdline, then `kernel-install add` for the running
  kernel so its boot entry or UKI picks the line up.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.nfv.dpdk.plugins.module_utils.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.files import read_text, write_atomic
from ansible_collections.nfv.dpdk.plugins.module_utils.kernel import split_cmdline
from ansible_collections.nfv.dpdk.plugins.module_utils.plan import Plan, PlannedModule

# patterns used with fullmatch: "$" also matches before a final newline ("quiet\n")
KEY_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")
# characters that would corrupt a command line or the shell-sourced GRUB drop-in
BAD_VALUE_RE = re.compile(r"[\s\"'\\$`\x00-\x1f\x7f]")

GRUB_DROPIN_DIR = "/etc/default/grub.d"
GRUB_DROPIN = "99-nfv-dpdk.cfg"
GRUB_LINE_RE = re.compile(r'GRUB_CMDLINE_LINUX="\$GRUB_CMDLINE_LINUX(?: (?P<params>[^"]*))?"')
GRUB_HEADER = ("# Managed by Ansible (nfv.dpdk.kernel_cmdline): kernel parameters appended to\n"
               "# GRUB_CMDLINE_LINUX. Edits here are overwritten; run update-grub after changes.\n")
# what update-grub itself does to find the command line: source /etc/default/grub, then the
# drop-ins in order. Our own drop-in is skipped; it is added from the plan. A fixed script: the
# only input is the root directory, passed as a positional argument.
GRUB_BASE_SCRIPT = r"""
root="$1"; own="$2"
GRUB_CMDLINE_LINUX=""; GRUB_CMDLINE_LINUX_DEFAULT=""
if [ -f "$root/etc/default/grub" ]; then . "$root/etc/default/grub"; fi
for f in "$root"/etc/default/grub.d/*.cfg; do
  if [ -f "$f" ] && [ "$f" != "$own" ]; then . "$f"; fi
done
printf 'NFV_GRUB_LINUX=%s\nNFV_GRUB_DEFAULT=%s\n' "$GRUB_CMDLINE_LINUX" "$GRUB_CMDLINE_LINUX_DEFAULT"
"""
GRUB_UPDATE_COMMANDS = (
    ("update-grub", []),
    ("grub-mkconfig", ["-o", "/boot/grub/grub.cfg"]),
    ("grub2-mkconfig", ["-o", "/boot/grub2/grub.cfg"]),
)
# the file each update command generates, and the grub.cfg commands that carry the kernel line
GRUB_CFG_BY_TOOL = {"update-grub": "/boot/grub/grub.cfg", "grub-mkconfig": "/boot/grub/grub.cfg",
                    "grub2-mkconfig": "/boot/grub2/grub.cfg"}
GRUB_LINUX_COMMANDS = ("linux", "linux16", "linuxefi")
KERNEL_CMDLINE = "/etc/kernel/cmdline"
LOADER_ENTRY_DIRS = ("/boot/loader/entries", "/efi/loader/entries", "/boot/efi/loader/entries")
# added by the bootloader, not part of the configured line
BOOTLOADER_KEYS = ("BOOT_IMAGE", "initrd")


# -- parameters -----------------------------------------------------------------
def format_param(param):
    key, value = param
    return key if value is None else "%s=%s" % (key, value)


def format_params(params):
    return " ".join(format_param(p) for p in params)


def parse_word(word):
    key, sep, value = word.partition("=")
    return (key, value if sep else None)


def parse_words(text):
    """A command line to (params, tail): tail is '--' and the words after it (for init), verbatim."""
    words = split_cmdline(text)
    if "--" in words:
        at = words.index("--")
        return [parse_word(w) for w in words[:at]], words[at:]
    return [parse_word(w) for w in words], []


def check_param(key, value, where):
    if not isinstance(key, str) or not KEY_RE.fullmatch(key):
        raise NfvError("%s: %r is not a kernel parameter name (letters, digits, '_', '.', '-')" % (where, key))
    if value is not None and BAD_VALUE_RE.search(value):
        raise NfvError("%s: the value of %s contains whitespace, a quote, a backslash, '$', '`' or a control "
                       "character (%r); such a value would corrupt the boot configuration" % (where, key, value))
    return (key, value)


def normalize_params(raw):
    """User input (strings 'key=value' / 'key', or dicts with key and value) to [(key, value)]."""
    if not isinstance(raw, list) or not raw:
        raise NfvError("params must be a non-empty list of 'key=value' strings or {key, value} dicts")
    params = []
    for index, item in enumerate(raw):
        where = "params[%d]" % index
        if isinstance(item, dict):
            unknown = sorted(set(item) - set(("key", "value")))
            if unknown or "key" not in item:
                raise NfvError("%s: a dict needs 'key' and an optional 'value' (got keys %s)"
                               % (where, ", ".join(sorted(item))))
            value = item.get("value")
            if isinstance(value, bool):
                raise NfvError("%s: the value of %s is a boolean (YAML reads on/off/yes/no as booleans); quote it, "
                               "for example value: \"on\"" % (where, item["key"]))
            if isinstance(value, (int, float)):
                value = str(value)
            if value is not None and not isinstance(value, str):
                raise NfvError("%s: the value of %s must be a string or a number" % (where, item["key"]))
            params.append(check_param(item["key"], value, where))
        elif isinstance(item, str):
            if BAD_VALUE_RE.search(item):
                raise NfvError("%s: %r contains whitespace, a quote, a backslash, '$', '`' or a control character; "
                               "give one parameter per list item, without quotes" % (where, item))
            key, value = parse_word(item)
            params.append(check_param(key, value, where))
        else:
            raise NfvError("%s: expected a 'key=value' string or a {key, value} dict, got %r" % (where, item))
    return params


def project(params, keys):
    """The parameters whose key is in `keys`, in order."""
    return [p for p in params if p[0] in keys]


def ensure_present(current, block, append=False):
    keys = set(k for k, _v in block)
    if project(current, keys) == list(block):
        return list(current)
    first = None
    rest = []
    for param in current:
        if param[0] in keys:
            if first is None:
                first = len(rest)
        else:
            rest.append(param)
    at = len(rest) if (append or first is None) else first
    return rest[:at] + list(block) + rest[at:]


def ensure_absent(current, removals):
    whole_keys = set(k for k, v in removals if v is None)
    exact = set(removals)
    return [p for p in current if p[0] not in whole_keys and p not in exact]


def edit(current, params, state, append=False):
    if state == "present":
        return ensure_present(current, params, append=append)
    return ensure_absent(current, params)


def removed_by(current, params, state):
    """The exact parameters an edit removes from `current` (for grubby's --remove-args)."""
    keys = set(k for k, _v in params)
    if state == "present":
        if project(current, keys) == list(params):
            return []
        return project(current, keys)
    after = ensure_absent(current, params)
    return [p for p in current if p not in after]


def needs_reboot(next_boot, running, params):
    """True when what the next boot gets differs from the running kernel for these keys."""
    keys = set(k for k, _v in params)
    return project(next_boot, keys) != project(running, keys)


def satisfied(cmdline_params, params, state):
    """Does a command line already read as wanted for these parameters?"""
    return edit(cmdline_params, params, state) == list(cmdline_params)


# -- files ------------------------------------------------------------------------
def host_path(root, path):
    return path if root == "/" else os.path.join(root, path.lstrip("/"))


def restore_file(path, content, module=None):
    if content is None:
        if os.path.exists(path):
            os.unlink(path)
    else:
        write_atomic(path, content, module)


# -- backends ---------------------------------------------------------------------
class FileBackend:
    """A backend whose parameters live in one file the module rewrites."""

    name = None
    append = False

    def __init__(self, module, runner, root, update_bootloader):
        self.module = module
        self.runner = runner
        self.root = root
        self.update_bootloader = update_bootloader
        self.warnings = []
        self.repair = None  # why the bootloader tool runs again without a file change (GRUB)

    @property
    def path(self):
        raise NotImplementedError

    def read(self):
        """{'text': file content or None, 'params': [...], 'tail': [...]}"""
        raise NotImplementedError

    def render(self, params, tail):
        raise NotImplementedError

    def next_boot(self, params):
        raise NotImplementedError

    def update_command(self):
        """argv of the bootloader refresh, or None."""
        return None

    def check_ready(self):
        """Fail before anything is written when the refresh cannot run."""

    def plan(self, current, params, state):
        new = edit(current["params"], params, state, append=self.append)
        plan = Plan()
        if new != current["params"]:
            before = None if current["text"] is None else format_params(current["params"])
            content = self.render(new, current["tail"])
            plan.add(self.path, before, format_params(new) if content is not None else None,
                     action="write" if content is not None else "delete",
                     content=content, old_content=current["text"], params=new)
        return plan, new

    def apply(self, plan, current):
        change = plan.changes[0]
        target = host_path(self.root, self.path)
        restore_file(target, change.data["content"], self.module)
        written = self.read()
        if written["params"] != change.data["params"]:
            restore_file(target, change.data["old_content"], self.module)
            raise NfvError("%s does not read back as written (%s); the previous file was restored"
                           % (self.path, format_params(written["params"])))
        argv = self.update_command() if self.update_bootloader else None
        if argv:
            try:
                self.runner.run(argv[0], argv[1:])
            except NfvError as exc:
                restore_file(target, change.data["old_content"], self.module)
                raise NfvError("%s; %s was restored to its previous content" % (exc.msg, self.path),
                               **exc.details) from exc


class GrubBackend(FileBackend):
    name = "grub"

    @property
    def path(self):
        return GRUB_DROPIN_DIR + "/" + GRUB_DROPIN

    def read(self):
        text = read_text(host_path(self.root, self.path))
        if text is None:
            return {"text": None, "params": [], "tail": []}
        lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
        match = GRUB_LINE_RE.fullmatch(lines[0]) if len(lines) == 1 else None
        if not match:
            raise NfvError("%s was not written by this module (expected one line "
                           "GRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX ...\"); move it away or merge it by hand"
                           % host_path(self.root, self.path))
        params, _tail = parse_words(match.group("params") or "")
        return {"text": text, "params": params, "tail": []}

    def render(self, params, tail):
        if not params:
            return None  # nothing left: remove the drop-in
        return GRUB_HEADER + 'GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX %s"\n' % format_params(params)

    def base(self):
        """GRUB_CMDLINE_LINUX and GRUB_CMDLINE_LINUX_DEFAULT from the rest of the GRUB configuration."""
        own = os.path.join(host_path(self.root, GRUB_DROPIN_DIR), GRUB_DROPIN)
        out = self.runner.output("sh", ["-c", GRUB_BASE_SCRIPT, "sh", self.root.rstrip("/"), own])
        if isinstance(out, bytes):
            out = out.decode("utf-8", "replace")
        values = {}
        for line in out.split("\n"):  # the last lines; anything the sourced files print comes before
            name, sep, value = line.partition("=")
            if sep and name in ("NFV_GRUB_LINUX", "NFV_GRUB_DEFAULT"):
                values[name] = value
        return parse_words(values.get("NFV_GRUB_LINUX", ""))[0], parse_words(values.get("NFV_GRUB_DEFAULT", ""))[0]

    def plan(self, current, params, state):
        linux, default = self._base = self.base()
        keys = set(k for k, _v in params)
        if state == "present" and not project(current["params"], keys) and \
                project(linux + default, keys) == list(params):
            # the base configuration already gives exactly these
            return self._plan_repair(Plan(), linux + current["params"] + default, keys), current["params"]
        plan, new = super(GrubBackend, self).plan(current, params, state)
        if state == "present" and project(linux + new + default, keys) != list(params):
            self.warnings.append("the rest of the GRUB configuration also sets %s, so the next boot gets %s; "
                                 "the kernel may honour the first of repeated parameters"
                                 % (format_params(project(linux + default, keys)),
                                    format_params(project(linux + new + default, keys))))
        return self._plan_repair(plan, linux + new + default, keys), new

    def generated_path(self):
        """The boot configuration the update command writes, or None without one."""
        argv = self.update_command()
        if argv is None:
            return None
        return GRUB_CFG_BY_TOOL[argv[0]]

    def generated_line(self):
        """Parameters of the first `linux` line of the generated grub.cfg (the default entry), or None."""
        path = self.generated_path()
        text = read_text(host_path(self.root, path)) if path else None
        for line in (text or "").splitlines():
            words = line.strip().split(None, 2)
            if words and words[0] in GRUB_LINUX_COMMANDS:
                return parse_words(words[2] if len(words) > 2 else "")[0]
        return None

    def _plan_repair(self, plan, expected, keys):
        """An interrupted earlier run: the drop-in reads as wanted but the generated grub.cfg does not.

        The drop-in is written before update-grub runs; a run that stopped between the two (or a
        drop-in edited without update-grub) leaves a boot configuration that lacks (or still has)
        the parameters. Then the update command runs again. Only when the drop-in needs no change,
        the update command runs on this host and grub.cfg exists with a `linux` line.
        """
        if plan.changed or not self.update_bootloader:
            return plan
        generated = self.generated_line()
        if generated is None:
            return plan
        have, want = project(generated, keys), project(expected, keys)
        if have != want:
            path = self.generated_path()
            self.repair = ("%s gives the next boot %s for these parameters, but the GRUB configuration says %s: "
                           "an earlier run wrote %s and was interrupted before %s finished (or the "
                           "configuration was changed without it); %s runs again"
                           % (path, format_params(have) or "nothing", format_params(want) or "nothing",
                              self.path, self.update_command()[0], self.update_command()[0]))
            plan.add(path, format_params(have), format_params(want), action="regenerate", keys=keys)
        return plan

    def apply(self, plan, current):
        if plan.changes[0].action != "regenerate":
            return super(GrubBackend, self).apply(plan, current)
        argv = self.update_command()
        try:
            self.runner.run(argv[0], argv[1:])
        except NfvError as exc:
            raise NfvError("%s; %s was not changed" % (exc.msg, self.path), **exc.details) from exc
        change = plan.changes[0]
        after = project(self.generated_line() or [], change.data["keys"])
        want = change.after
        if format_params(after) != want:
            raise NfvError("%s ran, but %s still gives the next boot %s instead of %s; check the GRUB "
                           "configuration (/etc/default/grub, /etc/default/grub.d) by hand"
                           % (argv[0], self.generated_path(), format_params(after) or "nothing", want or "nothing"))

    def next_boot(self, params):
        linux, default = self._base
        return linux + list(params) + default

    def update_command(self):
        for name, args in GRUB_UPDATE_COMMANDS:
            if self.runner.has(name):
                return [name] + args
        return None

    def check_ready(self):
        if self.update_bootloader and self.update_command() is None:
            raise NfvError("none of %s was found to regenerate the GRUB configuration; install GRUB's tools "
                           "or set update_bootloader: false" % ", ".join(n for n, _a in GRUB_UPDATE_COMMANDS))


class KernelInstallBackend(FileBackend):
    name = "kernel-install"

    @property
    def path(self):
        return KERNEL_CMDLINE

    def read(self):
        text = read_text(host_path(self.root, self.path))
        if text is not None:
            params, tail = parse_words(" ".join(text.split("\n")))
            return {"text": text, "params": params, "tail": tail}
        # without the file kernel-install takes /usr/lib/kernel/cmdline, else the running line
        seed = read_text(host_path(self.root, "/usr/lib/kernel/cmdline"))
        if seed is None:
            if self.root != "/":
                raise NfvError("%s does not exist under %s and there is no /usr/lib/kernel/cmdline to start from; "
                               "create it with the image's base command line (root=...) first"
                               % (self.path, self.root))
            seed = read_text("/proc/cmdline") or ""
        params, tail = parse_words(" ".join(seed.split("\n")))
        params = [p for p in params if p[0] not in BOOTLOADER_KEYS]
        return {"text": None, "params": params, "tail": tail}

    def render(self, params, tail):
        return " ".join([format_params(params)] + list(tail)).strip() + "\n"

    def next_boot(self, params):
        return list(params)

    def kernel_image(self):
        release = os.uname()[2]
        for path in ("/usr/lib/modules/%s/vmlinuz" % release, "/lib/modules/%s/vmlinuz" % release,
                     "/boot/vmlinuz-%s" % release):
            if os.path.exists(path):
                return release, path
        return release, None

    def update_command(self):
        release, image = self.kernel_image()
        return ["kernel-install", "add", release, image]

    def check_ready(self):
        if not self.update_bootloader:
            return
        if not self.runner.has("kernel-install"):
            raise NfvError("kernel-install was not found; install systemd's kernel-install or set "
                           "update_bootloader: false")
        release, image = self.kernel_image()
        if image is None:
            raise NfvError("the image of the running kernel %s was not found (/usr/lib/modules/%s/vmlinuz, "
                           "/boot/vmlinuz-%s), so kernel-install cannot refresh its boot entry; set "
                           "update_bootloader: false to only write %s" % (release, release, release, self.path))


class GrubbyBackend:
    """Boot entries edited by grubby; the state is read from `grubby --info=ALL`."""

    name = "grubby"
    append = True

    def __init__(self, module, runner, root, update_bootloader):
        self.module = module
        self.runner = runner
        self.root = root
        self.warnings = []

    def read(self):
        out = self.runner.output("grubby", ["--info=ALL"])
        if isinstance(out, bytes):
            out = out.decode("utf-8", "replace")
        entries = parse_grubby_info(out)
        default = self.runner.output("grubby", ["--default-kernel"], check=False)
        if isinstance(default, bytes):
            default = default.decode("utf-8", "replace")
        return {"entries": entries, "default": (default or "").strip()}

    def check_ready(self):
        pass

    def plan(self, current, params, state):
        plan = Plan()
        new_default = None
        for entry in current["entries"]:
            new = edit(entry["params"], params, state, append=True)
            if entry["kernel"] == current["default"] or new_default is None:
                new_default = new
            if new != entry["params"]:
                plan.add("kernel " + entry["kernel"], format_params(entry["params"]), format_params(new),
                         action="update", kernel=entry["kernel"], params=new,
                         argv=grubby_argv(entry["kernel"], entry["params"], params, state))
        return plan, new_default or []

    def apply(self, plan, current):
        for change in plan:
            self.runner.run("grubby", change.data["argv"])
        after = dict((e["kernel"], e["params"]) for e in self.read()["entries"])
        wrong = [c.data["kernel"] for c in plan if after.get(c.data["kernel"]) != c.data["params"]]
        if wrong:
            raise NfvError("grubby did not leave the arguments as planned for %s: %s"
                           % (", ".join(wrong), "; ".join(format_params(after.get(k) or []) for k in wrong)))

    def next_boot(self, params):
        return list(params)


def grubby_argv(kernel, current, params, state):
    argv = ["--update-kernel=" + kernel]
    removed = removed_by(current, params, state)
    if removed:
        argv.append("--remove-args=" + format_params(removed))
    if state == "present" and project(current, set(k for k, _v in params)) != list(params):
        argv.append("--args=" + format_params(params))
    return argv


def parse_grubby_info(text):
    """`grubby --info=ALL` output to [{'index', 'kernel', 'params'}]."""
    entries, entry = [], None
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if not sep:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        if key == "index":
            entry = {"index": int(value) if value.isdigit() else value, "kernel": None, "params": []}
            entries.append(entry)
        elif entry is not None and key == "kernel":
            entry["kernel"] = value
        elif entry is not None and key == "args":
            entry["params"] = parse_words(value)[0]
    return [e for e in entries if e["kernel"]]


BACKENDS = {"grub": GrubBackend, "grubby": GrubbyBackend, "kernel-install": KernelInstallBackend}


def detect_backend(runner, root):
    """grubby (RHEL family), GRUB configuration (Debian/Ubuntu), kernel-install configuration, in that order."""
    def exists(path):
        return os.path.exists(host_path(root, path))

    if root == "/" and runner.has("grubby"):
        return "grubby"
    if exists("/etc/default/grub") or exists(GRUB_DROPIN_DIR):
        return "grub"
    if exists(KERNEL_CMDLINE) or exists("/etc/kernel/install.conf") or any(exists(d) for d in LOADER_ENTRY_DIRS):
        return "kernel-install"
    raise NfvError("could not detect the boot loader tooling under %s: no grubby, no GRUB configuration "
                   "(/etc/default/grub), no kernel-install configuration (/etc/kernel/cmdline, "
                   "/etc/kernel/install.conf, loader entries); set backend" % root)


class KernelCmdline(PlannedModule):
    """nfv.dpdk.kernel_cmdline: boot parameters present or absent through the host's bootloader tooling."""

    def validate(self):
        self.wanted = normalize_params(self.params["params"])
        self.state = self.params["state"]
        self.root = os.path.abspath(self.params["root"] or "/")
        if not os.path.isdir(self.root):
            raise NfvError("root %s is not a directory" % self.root)
        name = self.params["backend"]
        self.backend = None
        if name == "auto":
            try:
                name = detect_backend(self.runner, self.root)
            except NfvError:
                if self.state != "absent":
                    raise
                # no boot loader configuration at all (a container, say): nothing can hold the parameters
                return
        if name == "grubby" and self.root != "/":
            raise NfvError("the grubby backend edits this host's boot entries; it cannot work on root %s" % self.root)
        if self.root != "/" and self.params["update_bootloader"]:
            raise NfvError("root is %s: the bootloader tool would run against this host, not the image; "
                           "set update_bootloader: false and regenerate the boot configuration inside the "
                           "image" % self.root)
        self.backend = BACKENDS[name](self.module, self.runner, self.root, self.params["update_bootloader"])
        self.new_params = None

    def read(self):
        return self.backend.read() if self.backend else None

    def plan(self, current):
        if self.backend is None:
            return Plan()
        plan, self.new_params = self.backend.plan(current, self.wanted, self.state)
        if plan.changed:
            self.backend.check_ready()
        return plan

    def apply(self, plan, current):
        self.backend.apply(plan, current)

    def report(self, current, plan):
        running = parse_words(self.fs.read("/proc/cmdline", ""))[0]
        if self.backend is None:
            self.warn("no boot loader configuration found under %s; no parameter to remove" % self.root)
            return {"repair": None, "backend": "none", "params": [format_param(p) for p in self.wanted],
                    "cmdline": None, "next_boot": None, "running": format_params(running), "reboot_required": False}
        next_boot = self.backend.next_boot(self.new_params)
        warnings = list(self.backend.warnings)
        if self.state == "absent":
            left = [p for p in next_boot if p in self.wanted or (p[0], None) in self.wanted]
            if left:
                warnings.append("%s stays on the next boot's command line: it is set outside what the %s backend "
                                "manages (for example in /etc/default/grub)" % (format_params(left), self.backend.name))
        for warning in warnings:
            self.warn(warning)
        repair = getattr(self.backend, "repair", None)
        return {
            "repair": repair,
            "backend": self.backend.name,
            "params": [format_param(p) for p in self.wanted],
            "cmdline": format_params(self.new_params),
            "next_boot": format_params(next_boot),
            "running": format_params(running),
            "reboot_required": needs_reboot(next_boot, running, self.wanted),
        }
