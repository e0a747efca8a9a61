# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runtime directories of the collection's own below /run: the vhost-user socket directories and the guests' run
directory the roles create and remove.

Every directory passes unit_paths' rules (run_dir_problem: a clean path of its own below /run, not another
program's) and, on the host, these: the path and its ancestors below /run are no symbolic links, no existing
ancestor is world-writable (sticky or not), an ancestor below /run is root's, and an existing directory is root's
(root:<group> to be used). Present creates what is missing (root:<group>, `mode`); absent removes the sockets the
collection made in them, then each directory only when nothing else is left in it: never recursively. A
directory that still holds something else stays, with a warning that names what is in it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import re
import stat

from ansible_collections.nfv.dpdk.plugins.module_utils.core.accounts import gid_of, group_name
from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.core.plan import Plan, PlannedModule
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.spec import guest_account
from ansible_collections.nfv.dpdk.plugins.module_utils.runtime.unit_paths import path_problem, run_base, run_dir_problem

ARGUMENT_SPEC = dict(
    paths=dict(type="list", elements="dict", required=True, options=dict(
        path=dict(type="str", required=True),
        field=dict(type="str"),
    )),
    state=dict(type="str", choices=["present", "absent"], default="present"),
    group=dict(type="str"),
    mode=dict(type="str", default="0770"),
    sockets=dict(type="list", elements="str", default=[]),
    removed_before=dict(type="list", elements="str", default=[]),
)
MODE_RE = re.compile(r"^0?[0-7]{3}$")
PARENT_MODE = 0o755  # missing parents are created root:root 0755, as systemd-tmpfiles and install -d do
SHOWN = 5  # entries a warning names of a directory that stays


def checked_paths(value, field):
    """[{path, field}] of a role variable (one path or a list), each checked by run_dir_problem; raises NfvError.

    A list names its entries field[0], field[1], ...; the filter nfv.dpdk.runtime_dir_paths calls this on the
    controller, the module again on the host.
    """
    paths = [value] if isinstance(value, str) else value
    if not isinstance(paths, list):
        raise NfvError("%s must be a path or a list of paths, got %r" % (field, value))
    named = [(p, field if isinstance(value, str) else "%s[%d]" % (field, i)) for i, p in enumerate(paths)]
    problems = [run_dir_problem(name, p) for p, name in named]
    problems = [p for p in problems if p]
    if problems:
        raise NfvError("; ".join(problems), problems=problems)
    return [{"path": p, "field": name} for p, name in named]


def _kind(info):
    if stat.S_ISLNK(info.st_mode):
        return "a symbolic link"
    if stat.S_ISSOCK(info.st_mode):
        return "a socket"
    if stat.S_ISDIR(info.st_mode):
        return "a directory"
    return "a file" if stat.S_ISREG(info.st_mode) else "a special file"


def _guest_dir(path, info):
    """A guest's own socket directory, as its unit makes it: root:<the account of the guest it is named after>."""
    return group_name(info.st_gid) == guest_account(os.path.basename(path))


class RuntimeDirs(PlannedModule):
    diff_header = "runtime directories"

    def validate(self):
        p = self.params
        problems = []
        self.dirs = []
        for index, entry in enumerate(p["paths"]):
            field = entry.get("field") or "paths[%d]" % index
            why = run_dir_problem(field, entry["path"])
            if why:
                problems.append(why)
            elif entry["path"] not in [d["path"] for d in self.dirs]:
                self.dirs.append({"path": entry["path"], "field": field})
        if not MODE_RE.match(p["mode"] or ""):
            problems.append("mode must be an octal mode like 0770, got %r" % (p["mode"],))
        elif int(p["mode"], 8) & 0o002:
            problems.append("mode %s lets every user write in the directory: leave out the others' write bit "
                            "(0770: root and the group)" % p["mode"])
        if p["state"] == "present" and not p.get("group"):
            problems.append("group is required with state=present (the directories are root:<group>)")
        if p["sockets"] and p["state"] != "absent":
            problems.append("sockets are removed with state=absent only; leave them out with state=present")
        if p["removed_before"] and p["state"] != "absent":
            problems.append("removed_before goes with state=absent only")
        names = [d["path"] for d in self.dirs]
        for index, sock in enumerate(p["sockets"]):
            why = path_problem("sockets[%d]" % index, sock)
            if not why and os.path.dirname(sock) not in names:
                why = ("sockets[%d] %s is not directly in one of the directories of paths (%s): only a socket the "
                       "collection made in them is removed" % (index, sock, ", ".join(names)))
            if why:
                problems.append(why)
        if problems:
            raise NfvError("; ".join(problems), problems=problems)
        self.mode = int(p["mode"], 8)

    def _lstat(self, path):
        try:
            return os.lstat(self.fs.path(path))
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                return None
            raise NfvError("reading %s failed: %s" % (path, os.strerror(exc.errno)), path=path) from exc

    def _ancestor_problems(self, field, path):
        """Problems of the ancestors of `path` on the host, and the ancestors that are missing."""
        base = run_base(path)[0]
        problems, missing = [], []
        parts = path.split("/")[1:-1]
        for depth in range(len(parts) + 1):
            ancestor = "/" + "/".join(parts[:depth])
            info = self._lstat(ancestor)
            if info is None:
                missing.append(ancestor)
                continue
            if stat.S_ISLNK(info.st_mode) and ancestor == base and self.fs.realpath(ancestor) == "/run":
                info = os.stat(self.fs.path(ancestor))  # /var/run -> /run, as on every systemd host
            if not stat.S_ISDIR(info.st_mode):
                what = "leads through %s, %s" % (ancestor, _kind(info))
                problems.append("%s: the path %s %s: refusing to create or remove a directory there"
                                % (field, path, what))
                break
            if info.st_mode & 0o002:
                sticky = " (sticky, like /tmp)" if info.st_mode & stat.S_ISVTX else ""
                problems.append("%s: %s is below %s, which every user may write in%s: another user could put "
                                "anything in its place; use a directory below /run whose parents only root writes"
                                % (field, path, ancestor, sticky))
            elif len(ancestor) > len(base) and info.st_uid != 0:
                problems.append("%s: %s is below %s, which belongs to uid %d, not root: that is another program's "
                                "directory; use a directory of its own below /run"
                                % (field, path, ancestor, info.st_uid))
        return problems, missing

    def read(self):
        gid = gid_of(self.params["group"]) if self.params.get("group") else None
        problems, current = [], {"gid": gid, "dirs": [], "sockets": []}
        for entry in self.dirs:
            field, path = entry["field"], entry["path"]
            found, missing = self._ancestor_problems(field, path)
            problems += found
            info = self._lstat(path)
            state = dict(entry, exists=info is not None, missing_parents=missing)
            if info is not None and not stat.S_ISDIR(info.st_mode):
                problems.append("%s: %s is %s, not a directory: refusing to %s it"
                                % (field, path, _kind(info), "replace" if self.params["state"] == "present"
                                   else "remove"))
            elif info is not None:
                state.update(uid=info.st_uid, gid=info.st_gid, mode=stat.S_IMODE(info.st_mode))
                problems += self._owner_problems(field, path, info, gid)
                if self.params["state"] == "absent":
                    state["entries"] = sorted(os.listdir(self.fs.path(path)))
            current["dirs"].append(state)
        for sock in self.params["sockets"]:
            info = self._lstat(sock)
            current["sockets"].append({"path": sock, "kind": None if info is None else _kind(info)})
        if problems:
            raise NfvError("; ".join(problems), problems=problems)
        if self.params["state"] == "present" and gid is None and not self.check_mode:
            raise NfvError("group %s does not exist on the host: create it before its directories"
                           % self.params["group"])
        return current

    def _owner_problems(self, field, path, info, gid):
        """An existing directory is root's; to be used (present) root:<group>, to be removed root:root too."""
        if info.st_uid != 0:
            return ["%s: %s exists and belongs to uid %d, not root: it is not a directory the collection made; "
                    "remove it or use a directory of its own" % (field, path, info.st_uid)]
        if self.params["state"] == "present" and info.st_gid != gid:
            return ["%s: %s exists with group %s, not %s: the collection never re-owns an existing directory "
                    "(the guests could not use it); remove it (it is recreated root:%s) or chgrp it to %s"
                    % (field, path, group_name(info.st_gid), self.params["group"], self.params["group"],
                       self.params["group"])]
        if self.params["state"] == "absent" and info.st_gid not in (0, gid) and not _guest_dir(path, info):
            return ["%s: %s exists with group %s: it is not a directory the collection made; remove it yourself "
                    "if it is no longer used" % (field, path, group_name(info.st_gid))]
        return []

    def plan(self, current):
        if self.params["state"] == "present":
            return self._plan_present(current)
        return self._plan_absent(current)

    def _plan_present(self, current):
        plan, parents = Plan(), []
        group = self.params["group"]
        mode = "%04o" % self.mode
        for state in sorted(current["dirs"], key=lambda d: d["path"]):
            for parent in state["missing_parents"]:
                if parent not in parents and parent not in [d["path"] for d in current["dirs"]]:
                    parents.append(parent)
                    plan.add(parent, None, {"owner": "root", "group": "root", "mode": "%04o" % PARENT_MODE},
                             "create", gid=0, mode=PARENT_MODE)
            if not state["exists"]:
                plan.add(state["path"], None, {"owner": "root", "group": group, "mode": mode}, "create",
                         gid=current["gid"], mode=self.mode)
            elif state["mode"] != self.mode:
                plan.add(state["path"], {"mode": "%04o" % state["mode"]}, {"mode": mode}, "chmod", mode=self.mode)
        return plan

    def _plan_absent(self, current):
        # what earlier steps of the same run remove (a guest's RuntimeDirectory= goes when its unit stops): still
        # there in check mode, gone in the real run, so counted as gone in both
        plan, gone, self.kept = Plan(), set(self.params["removed_before"]), []
        for sock in current["sockets"]:
            if sock["kind"] == "a socket":
                plan.add(sock["path"], "socket", None, "unlink")
                gone.add(sock["path"])
            elif sock["kind"]:
                self.warn("%s is %s, not a socket the collection made: left in place, and its directory with it"
                          % (sock["path"], sock["kind"]))
        for state in sorted(current["dirs"], key=lambda d: d["path"].count("/"), reverse=True):
            if not state["exists"]:
                continue
            left = [e for e in state["entries"] if os.path.join(state["path"], e) not in gone]
            if left:
                self.kept.append({"path": state["path"], "field": state["field"], "entries": left})
                shown = ", ".join(left[:SHOWN]) + (", ..." if len(left) > SHOWN else "")
                self.warn("%s: %s is left in place: it holds %d entr%s the collection did not make (%s); remove "
                          "them and the directory yourself when nothing uses them"
                          % (state["field"], state["path"], len(left), "y" if len(left) == 1 else "ies", shown))
                continue
            plan.add(state["path"], {"mode": "%04o" % state["mode"]}, None, "rmdir")
            gone.add(state["path"])
        return plan

    def apply(self, plan, current):
        done = []
        for change in plan:
            target = self.fs.path(change.key)
            try:
                if change.action == "create":
                    os.mkdir(target, 0o700)
                    os.chown(target, 0, change.data["gid"])
                    os.chmod(target, change.data["mode"])
                elif change.action == "chmod":
                    if not stat.S_ISDIR(os.lstat(target).st_mode):
                        raise NfvError("%s is no longer a directory: not changed" % change.key)
                    os.chmod(target, change.data["mode"])
                elif change.action == "unlink":
                    if stat.S_ISSOCK(os.lstat(target).st_mode):
                        os.unlink(target)
                else:
                    os.rmdir(target)  # never recursive: fails on a directory that is not empty
            except OSError as exc:
                raise NfvError("%s %s failed: %s (done before it: %s)"
                               % (change.action, change.key, os.strerror(exc.errno) if exc.errno else exc,
                                  ", ".join(done) or "nothing"), path=change.key, done=done) from exc
            done.append("%s %s" % (change.action, change.key))

    def report(self, current, plan):
        return {"directories": [d["path"] for d in self.dirs], "kept": getattr(self, "kept", [])}
