# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""QemuVm, the PlannedModule behind nfv.dpdk.qemu_vm: QEMU guests as systemd units (read, plan, apply, report).

The pieces it composes are pure where they can be, so that unit tests and the component tests use the very
code the unit runs:

- `qemu.spec.guest_spec(params)` validates and normalizes the module options (no host access; the NICs
  are qemu.nic_spec's);
- `qemu.argv.qemu_argv(spec, qemu, accel)` is QEMU's exact argv; `qemu.unit_commands` the other commands of
  the unit (the privileged ExecStartPre=+ steps, the helper's ExecStop=, console, pin and keep-console steps);
- `qemu.unit_text.unit_text(...)` renders the unit;
- on the host: `qemu.accel.read_accel` decides KVM or TCG (the cached verdict of qemu.kvm_probe),
  `qemu.host_checks.check_host` refuses a host the guest cannot run on, `qemu.leftovers` reads what
  state=absent removes beside the unit, `qemu.start_check` waits for a started guest to stay up.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.core.files import read_text, write_atomic
from ansible_collections.nfv.dpdk.plugins.module_utils.core.plan import Plan, PlannedModule
from ansible_collections.nfv.dpdk.plugins.module_utils.core.programs import system_python
from ansible_collections.nfv.dpdk.plugins.module_utils.core.runner import output_text
from ansible_collections.nfv.dpdk.plugins.module_utils.core.systemd_unit import (
    SYSTEMD_BOOTED_MARKER,
    Systemd,
    verify_unit,
)
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu import account as qemu_account
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu import sriov_deps as qemu_sriov_deps
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.accel import read_accel
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.argv import qemu_argv
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.host_checks import check_host, vfio_groups
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.leftovers import read_leftovers
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.spec import HELPER_NAME, guest_spec
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.start_check import is_running, wait_running
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.unit_commands import (
    helper_argv,
    helper_text,
    needed_tools,
    prestart_commands,
    serial_log,
)
from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.unit_text import unit_text


class QemuVm(PlannedModule):
    """nfv.dpdk.qemu_vm: read -> plan -> diff -> apply -> report."""

    systemd_marker = SYSTEMD_BOOTED_MARKER  # what says systemd runs this host (a fixture dir in tests)

    def validate(self):
        self.spec = guest_spec(self.params)
        self.systemd = Systemd(self.runner, booted_marker=self.systemd_marker)
        self.unit_path = os.path.join(self.spec["unit_dir"], self.spec["unit"])
        self.helper_path = os.path.join(self.spec["helper_dir"], HELPER_NAME)

    # -- read ----------------------------------------------------------------------------------
    def read(self):
        spec = self.spec
        state = spec["state"]
        ok, why = self.systemd.available()
        if state in ("started", "stopped") and not ok:
            raise NfvError("state=%s needs systemd to manage the unit %s, but %s; use state=present to only "
                           "install the unit file" % (state, spec["unit"], why), unit=spec["unit"])
        current = {
            "unit_text": read_text(self.unit_path),
            "helper_text": read_text(self.helper_path),
            "systemd": ok,
            "systemd_problem": why,
            "active": None,
            "enabled": None,
            "running_argv": None,
            # the guest's own account (None with a user of the description's choice)
            "account": qemu_account.read_account(spec["user"], spec["name"]) if spec["own_account"] else None,
        }
        if ok:
            st = self.systemd.state(spec["unit"])
            current["active"] = st["active"]
            current["sub"] = st["sub"]
            current["enabled"] = st["enabled"]
            # what the running guest was started with: a unit written earlier without a restart
            # still differs from it on later runs
            current["running_argv"] = self.systemd.process_argv(st["main_pid"])
        if state == "absent":
            current.update(read_leftovers(self.fs, spec, current["unit_text"], current["account"], self.warn))
            return current
        if not os.path.isdir(spec["unit_dir"]):
            raise NfvError("unit_dir %s does not exist" % spec["unit_dir"])
        qemu = self.params.get("qemu_binary") or "qemu-system-x86_64"
        qemu_path = qemu if os.path.isabs(qemu) else self.runner.find(qemu)
        if not qemu_path or not os.path.exists(qemu_path):
            raise NfvError("QEMU (%s) is not installed on this host; install qemu-system-x86 (the role "
                           "nfv.dpdk.qemu_vms does)" % qemu)
        current["qemu"] = qemu_path
        current.update(read_accel(self.runner, spec, self.params, qemu_path, self.warn))
        tools = {}
        for tool in needed_tools(spec):
            path = self.runner.find(tool)
            if not path:
                raise NfvError("the guest needs '%s' on the host (for %s)" % (
                    tool, "tap devices" if tool == "ip" else "OVS bridges"))
            tools[tool] = path
        current["tools"] = tools
        current["python"] = system_python(self.runner, "the guest unit's stop helper (ExecStop=)")
        current["vfio_groups"] = vfio_groups(self.fs, spec, self.warn)
        current["sriov_unit"] = qemu_sriov_deps.sriov_unit_of(self.fs, spec["nics"])  # Requires= for a VF
        check_host(self.fs, spec, self.params, current, self.check_mode, self.warn)
        current["disk_owners"] = qemu_account.disk_owner_changes(
            [d["path"] for d in spec["disks"]], "%s:%s" % (spec["user"], spec["group"])) if spec["own_account"] else []
        # the unit this host gets, and its systemd's verdict on it (systemd-analyze verify): plan stays off the host
        current["desired"] = self.desired(current)
        current["verify"] = verify_unit(self.runner, spec["unit"], current["desired"][1])
        return current

    # -- plan ----------------------------------------------------------------------------------
    def desired(self, current):
        spec = self.spec
        python = current["python"]
        argv = qemu_argv(spec, current["qemu"], current["accel"])
        prestart = prestart_commands(spec, current["tools"], python)
        text = unit_text(spec, argv, prestart, helper_argv(spec, python), current["accel"],
                         current["vfio_groups"], current["kvm_group"], current["sriov_unit"])
        return argv, text, helper_text(python)

    def plan(self, current):
        self._plan = self._make_plan(current)
        return self._plan

    def _make_plan(self, current):
        spec = self.spec
        plan = Plan()
        self.restart_required = False
        self.argv = None
        self.verify = None
        active = is_running(current["active"], current.get("sub"))
        enabled = current["enabled"] in ("enabled", "enabled-runtime")
        want_enabled = self.params.get("enabled")
        if spec["state"] == "absent":
            if active:
                plan.add("state", "running", "stopped", action="stop")
            if enabled:
                plan.add("enabled", True, False, action="disable")
            if current["unit_text"] is not None:
                plan.add("unit", current["unit_text"], None, action="delete")
            for tap in current["taps"]:
                plan.add("tap " + tap["ifname"], "present" + (" (port of %s)" % tap["bridge"] if tap["bridge"] else ""),
                         None, action="delete_tap", tap=tap)
            if current["helper_text"] is not None:
                plan.add("helper", current["helper_text"], None, action="delete_helper")
            for path, before, after in current["disk_owners"]:  # given back to root
                plan.add("disk " + path, before, after, action="own_disk", path=path, owner=qemu_account.ROOT_OWNER)
            account = current["account"]
            if account and account["exists"] and account["ours"]:
                plan.add("account", account["name"], None, action="delete_account")
            return plan

        argv, text, helper = current["desired"]
        self.argv = argv
        self.unit_text = text
        self.verify = current["verify"]
        if spec["own_account"] and not current["account"]["exists"]:
            plan.add("account", None, spec["user"], action="create_account")
        for path, before, after in current["disk_owners"]:  # given to the guest's own account
            plan.add("disk " + path, before, after, action="own_disk", path=path,
                     owner="%s:%s" % (spec["user"], spec["group"]))
        if current["helper_text"] != helper:
            plan.add("helper", current["helper_text"], helper, action="write_helper")
        unit_change = plan.add_if_differs("unit", current["unit_text"], text, action="write_unit")
        running = current["running_argv"]
        stale = unit_change is not None or (running is not None and running != argv)

        if spec["state"] == "started" and want_enabled is None:
            want_enabled = True
        if current["systemd"] and want_enabled is not None and want_enabled != enabled:
            plan.add("enabled", enabled, want_enabled, action="enable" if want_enabled else "disable")
        if spec["state"] == "started":
            if not active:
                plan.add("state", current["active"], "running", action="start")
            elif stale:
                if self.params.get("restart_on_change"):
                    plan.add("state", "running (old definition)", "running", action="restart")
                else:
                    self.restart_required = True
        elif spec["state"] == "stopped" and active:
            plan.add("state", "running", "stopped", action="stop")
        elif spec["state"] == "present" and active and stale:
            self.restart_required = True
        return plan

    # -- apply ---------------------------------------------------------------------------------
    def apply(self, plan, current):
        spec = self.spec
        unit = spec["unit"]
        actions = dict((c.action, c) for c in plan)
        if "create_account" in actions:
            qemu_account.create(self.runner, spec["user"], spec["name"])
        if "stop" in actions:
            self.systemd.stop(unit)
        if "disable" in actions:
            self.systemd.disable(unit)
        if "delete" in actions:
            os.unlink(self.unit_path)
            if current["systemd"]:
                self.systemd.daemon_reload()
                # a unit that had failed stays loaded as "not-found failed" until this: leave no trace
                self.systemd.reset_failed(unit)
        for change in plan.by_action("delete_tap"):
            self._delete_tap(change.data["tap"])
        if "delete_helper" in actions:
            os.unlink(current["helper_path"])
        for change in plan.by_action("own_disk"):
            qemu_account.give(change.data["path"], change.data["owner"])
        if "delete_account" in actions:
            qemu_account.remove(self.runner, actions["delete_account"].before)
        if "write_helper" in actions:
            if not os.path.isdir(spec["helper_dir"]):
                os.makedirs(spec["helper_dir"], 0o755)
            write_atomic(self.helper_path, actions["write_helper"].after, self.module, mode=0o755)
        if "write_unit" in actions:
            write_atomic(self.unit_path, actions["write_unit"].after, self.module, mode=0o644)
            if current["systemd"]:
                self.systemd.daemon_reload()
        if "enable" in actions:
            self.systemd.enable(unit)
        if "start" in actions or "restart" in actions:
            self.systemd.reset_failed(unit)
            self.started_at = int(time.time())
            rc, _out, err = (self.systemd.start(unit) if "start" in actions else self.systemd.restart(unit))
            wait_running(self.systemd, spec, int(self.params.get("start_check_seconds") or 0), rc, err,
                         self.started_at)

    def _delete_tap(self, tap):
        """Remove a tap device the unit created, and its port on the OVS bridge the unit added it to."""
        if tap["bridge"] and self.runner.has("ovs-vsctl"):
            rc, _out, err = self.runner.run("ovs-vsctl", ["--timeout=30", "--if-exists", "del-port", tap["bridge"],
                                                          tap["ifname"]], check=False)
            if rc != 0:
                self.warn("removing port %s from bridge %s failed (%s); remove it with ovs-vsctl "
                          "del-port" % (tap["ifname"], tap["bridge"], output_text(err).strip()))
        self.runner.run("ip", ["tuntap", "del", "dev", tap["ifname"], "mode", "tap"])

    # -- report --------------------------------------------------------------------------------
    def report(self, current, plan):
        spec = self.spec
        result = {
            "name": spec["name"],
            "unit": spec["unit"],
            "unit_path": self.unit_path,
            "restart_required": bool(getattr(self, "restart_required", False)),
            "systemd": current["systemd"],
        }
        if spec["state"] != "absent":
            result.update({
                "argv": self.argv,
                "accel": current["accel"],
                "accel_probe": current["probe"],
                "qmp_socket": spec["qmp_socket"],
                "serial_log": serial_log(spec),
                "macs": [n["mac"] for n in spec["nics"] if n.get("mac")],
                "unit_text": self.unit_text,
                "verify": self.verify,
            })
        if not current["systemd"]:
            self.warn("unit file only: %s" % current["systemd_problem"])
        if current["systemd"] and not self.check_mode:
            st = self.systemd.state(spec["unit"])
            result["active_state"] = st["active"]
            result["enabled_state"] = st["enabled"]
        return result

    def run(self):
        result = PlannedModule.run(self)
        if self.module._diff:
            result["diff"] = self._diff()
        return result

    def _diff(self):
        """Ansible diffs: the unit (and helper) text as files, state changes as small dicts."""
        diffs = []
        for change in self._plan.changes:
            if change.key in ("unit", "helper"):
                path = self.unit_path if change.key == "unit" else self.helper_path
                diffs.append({"before_header": path if change.before is not None else "%s (absent)" % path,
                              "after_header": path if change.after is not None else "%s (absent)" % path,
                              "before": change.before or "", "after": change.after or ""})
            else:
                diffs.append({"before": {change.key: change.before}, "after": {change.key: change.after}})
        return diffs
