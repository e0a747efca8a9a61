# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One runner for every external command the collection executes.

Commands are argv lists, never shell strings. Each binary is looked up once
per runner, the locale is forced to C so output parses the same everywhere,
and a failing command raises CommandError carrying its argv and stderr.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError

SBIN_DIRS = ["/usr/local/sbin", "/usr/sbin", "/sbin"]
C_LOCALE = {"LC_ALL": "C", "LANG": "C", "LANGUAGE": "C"}


def output_text(value):
    """Command output as text: run_command returns bytes (binary_data=True), fixtures may give str or None."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value or ""


class CommandError(NfvError):
    """A command exited non-zero (or could not be found)."""

    def __init__(self, argv, rc, stdout, stderr):
        self.argv = list(argv)
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        detail = (stderr or stdout or "").strip()
        msg = "command %s failed with rc=%s" % (" ".join(self.argv), rc)
        if detail:
            msg += ": " + detail
        super(CommandError, self).__init__(msg, cmd=self.argv, rc=rc, stdout=stdout, stderr=stderr)


class Runner:
    """Runs argv lists through AnsibleModule.run_command with LC_ALL=C."""

    def __init__(self, module, extra_dirs=None):
        self.module = module
        self._paths = {}
        self._dirs = list(extra_dirs or []) + SBIN_DIRS

    def find(self, name):
        """Absolute path of a binary, or None when the host does not have it."""
        if name not in self._paths:
            self._paths[name] = self.module.get_bin_path(name, required=False, opt_dirs=self._dirs)
        return self._paths[name]

    def has(self, name):
        return self.find(name) is not None

    def argv(self, name, args):
        path = self.find(name)
        if path is None:
            raise NfvError("required command '%s' was not found on the host (searched PATH and %s)"
                           % (name, ", ".join(self._dirs)))
        return [path] + [str(a) for a in args]

    def run(self, name, args, check=True, data=None, env=None):
        """Run `name args...`; return (rc, stdout, stderr). Raise CommandError when check and rc != 0."""
        argv = self.argv(name, args)
        environ = dict(C_LOCALE)
        environ.update(env or {})
        rc, out, err = self.module.run_command(argv, check_rc=False, data=data,
                                               environ_update=environ, binary_data=True)
        if check and rc != 0:
            raise CommandError(argv, rc, out, err)
        return rc, out, err

    def output(self, name, args, **kwargs):
        """stdout of a command that must succeed."""
        return self.run(name, args, **kwargs)[1]
