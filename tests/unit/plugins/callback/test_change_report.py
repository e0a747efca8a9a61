"""The nfv.dpdk.change_report callback: where the report goes, and what it records for plain and looped tasks.

Results are small stand-ins with the callback contract's public attributes (`host`, `task`, `result`),
shaped like what ansible-core hands to callbacks (loop items carry `_ansible_item_label`).
"""

import json
import os

import pytest

from ansible_collections.nfv.dpdk.plugins.callback.change_report import (
    PATH_VARIABLE,
    CallbackModule,
    item_label,
    resolve_report_path,
)


class Host:
    def __init__(self, name):
        self.name = name

    def get_name(self):
        return self.name


class Task:
    def __init__(self, name, action="nfv.dpdk.ovs_bridge", loop=None):
        self.name = name
        self.action = action
        self.loop = loop

    def get_name(self):
        return self.name


class Result:
    def __init__(self, host, task, result):
        self.host = Host(host)
        self.task = task
        self.result = result


class Play:
    def __init__(self, check_mode=True):
        self.check_mode = check_mode
        self.vars = {}


def item(label, changed=True, diff=None, **extra):
    data = dict(extra, changed=changed, item={"name": label, "ports": []}, ansible_loop_var="item",
                _ansible_item_label=label)
    if diff is not None:
        data["diff"] = diff
    return data


@pytest.fixture
def callback(tmp_path):
    cb = CallbackModule()
    cb.path = str(tmp_path / "report.json")
    return cb


def report(cb):
    with open(cb.path) as handle:
        return json.load(handle)


def test_relative_path_resolved_against_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resolve_report_path("drift.json") == str(tmp_path / "drift.json")
    assert resolve_report_path("out/../reports/drift.json") == str(tmp_path / "reports" / "drift.json")
    assert resolve_report_path("drift.json", cwd="/srv/ci") == "/srv/ci/drift.json"


def test_absolute_home_and_variables_and_empty(monkeypatch):
    monkeypatch.setenv("HOME", "/home/ci")
    monkeypatch.setenv("NFV_REPORTS", "/var/reports")
    assert resolve_report_path("/tmp/drift.json", cwd="/elsewhere") == "/tmp/drift.json"
    assert resolve_report_path("~/drift.json") == "/home/ci/drift.json"
    assert resolve_report_path("$NFV_REPORTS/drift.json") == "/var/reports/drift.json"
    assert resolve_report_path(None) is None
    assert resolve_report_path("") is None


def test_play_start_publishes_the_path_and_writes_the_report(callback):
    play = Play()
    callback.v2_playbook_on_play_start(play)
    assert play.vars[PATH_VARIABLE] == callback.path
    assert report(callback) == {"check_mode": True, "hosts": {}}


def test_no_path_publishes_nothing(tmp_path):
    cb = CallbackModule()
    play = Play()
    cb.v2_playbook_on_play_start(play)
    assert PATH_VARIABLE not in play.vars
    assert os.listdir(str(tmp_path)) == []


def test_missing_directories_are_created(tmp_path):
    cb = CallbackModule()
    cb.path = str(tmp_path / "reports" / "ci" / "drift.json")
    cb.v2_playbook_on_stats(None)
    assert report(cb)["hosts"] == {}


def test_unwritable_path_warns_once_and_leaves_no_file(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("")
    cb = CallbackModule()
    cb.path = str(tmp_path / "file" / "drift.json")
    warnings = []
    monkeypatch.setattr(cb._display, "warning", warnings.append)
    cb.v2_playbook_on_play_start(Play())
    cb.v2_playbook_on_stats(None)
    assert len(warnings) == 1 and cb.path in warnings[0]
    assert os.listdir(str(tmp_path)) == ["file"]


def test_plain_task_changed_with_diff(callback):
    diff = {"before": {"ports": ["vhu-vm1"]}, "after": {"ports": ["vhu-vm1", "vhu-spare"]}}
    callback.v2_runner_on_ok(Result("nfv-lab", Task("Configure DPDK", "nfv.dpdk.ovs_config"),
                                    {"changed": True, "diff": diff}))
    callback.v2_runner_on_ok(Result("nfv-lab", Task("Read the host", "nfv.dpdk.host_facts"), {"changed": False}))
    callback.v2_runner_on_ok(Result("other", Task("Read the host", "nfv.dpdk.host_facts"), {"changed": False}))
    callback.v2_playbook_on_stats(None)
    hosts = report(callback)["hosts"]
    assert hosts["nfv-lab"]["changed"] == [{"task": "Configure DPDK", "action": "nfv.dpdk.ovs_config", "diff": diff}]
    assert hosts["other"] == {"changed": [], "failed": [], "unreachable": False}


def test_loop_records_each_changed_item_with_label_and_diff(callback):
    task = Task("Bridges and ports", loop=[{"name": "br-lab"}, {"name": "br-ex"}, {"name": "br-int"}])
    diff = {"before": {"ports": ["vhu-vm1"]}, "after": {"ports": ["vhu-vm1", "vhu-spare"]}}
    items = [item("br-lab", diff=diff), item("br-ex", changed=False), item("br-int")]
    for data in items:
        callback.v2_runner_item_on_ok(Result("nfv-lab", task, data))
    callback.v2_runner_on_ok(Result("nfv-lab", task, {"changed": True, "results": items}))
    callback.v2_playbook_on_stats(None)
    changed = report(callback)["hosts"]["nfv-lab"]["changed"]
    assert changed == [
        {"task": "Bridges and ports", "action": "nfv.dpdk.ovs_bridge", "item": "br-lab", "diff": diff},
        {"task": "Bridges and ports", "action": "nfv.dpdk.ovs_bridge", "item": "br-int"},
    ]


def test_loop_without_changed_items_records_nothing(callback):
    task = Task("Bridges and ports", loop=[{"name": "br-lab"}])
    data = item("br-lab", changed=False)
    callback.v2_runner_item_on_ok(Result("nfv-lab", task, data))
    callback.v2_runner_on_ok(Result("nfv-lab", task, {"changed": False, "results": [data]}))
    assert callback.hosts["nfv-lab"]["changed"] == []


def test_module_results_key_without_a_loop_is_a_plain_task(callback):
    task = Task("Install packages", "ansible.builtin.apt")
    callback.v2_runner_on_ok(Result("nfv-lab", task, {"changed": True, "results": ["installed ovs"]}))
    assert callback.hosts["nfv-lab"]["changed"] == [{"task": "Install packages", "action": "ansible.builtin.apt"}]


def test_failed_items_are_recorded_with_label_and_message(callback):
    task = Task("Allocate the runtime pools", "nfv.dpdk.hugepage_pool", loop=[1, 2])
    ok = item("2M x 640 system wide")
    bad = item("1G x 4 on node 0", changed=False, msg="only 2 of 4 pages")
    callback.v2_runner_item_on_ok(Result("nfv-lab", task, ok))
    callback.v2_runner_item_on_failed(Result("nfv-lab", task, bad))
    callback.v2_runner_on_failed(Result("nfv-lab", task, {"changed": True, "msg": "One or more items failed",
                                                          "results": [ok, bad]}))
    host = callback.hosts["nfv-lab"]
    assert [(e["task"], e["item"]) for e in host["changed"]] == [("Allocate the runtime pools", "2M x 640 system wide")]
    assert host["failed"] == [{"task": "Allocate the runtime pools", "action": "nfv.dpdk.hugepage_pool",
                               "item": "1G x 4 on node 0", "msg": "only 2 of 4 pages"}]


def test_ignored_item_failures_are_not_failures(callback):
    task = Task("Probe", "ansible.builtin.command", loop=["a"])
    bad = item("a", changed=False, msg="boom")
    callback.v2_runner_item_on_failed(Result("nfv-lab", task, bad))
    callback.v2_runner_on_failed(Result("nfv-lab", task, {"msg": "One or more items failed", "results": [bad]}),
                                 ignore_errors=True)
    next_task = Task("Next", "ansible.builtin.command")
    callback.v2_runner_on_failed(Result("nfv-lab", next_task, {"msg": "exit 1"}))
    assert callback.hosts["nfv-lab"]["failed"] == [{"task": "Next", "action": "ansible.builtin.command",
                                                    "msg": "exit 1"}]


def test_item_label_fallbacks():
    assert item_label({"_ansible_item_label": "br-lab", "item": {"name": "br-lab"}}) == "br-lab"
    assert item_label({"bridge": "br-ex", "ansible_loop_var": "bridge"}) == "br-ex"
    assert item_label({"item": "vm1"}) == "vm1"
    assert item_label({"_ansible_no_log": True, "_ansible_item_label": "secret"}) == "(censored due to no_log)"


def test_unreachable_host(callback):
    callback.v2_runner_on_unreachable(Result("compute-a1", Task("Read the host"), {"msg": "timeout"}))
    assert callback.hosts["compute-a1"]["unreachable"] is True
