"""The plan shape and the OVSDB JSON reader."""

import json

import pytest

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.core.plan import Plan, PlannedModule
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.ovsdb import ovsdb_value, parse_table


def test_plan_is_diff_and_changes():
    plan = Plan()
    assert not plan.changed and plan.diff() == {"before": {}, "after": {}}
    plan.add_if_differs("pool 2M", 0, 0)
    assert not plan.changed
    plan.add_if_differs("pool 2M", 0, 512, action="resize", node=None)
    plan.add("port vhu0", None, {"type": "dpdkvhostuserclient"}, action="create")
    assert plan.changed and len(plan) == 2
    assert plan.diff("ovs") == {"before": {"pool 2M": 0},
                                "after": {"pool 2M": 512, "port vhu0": {"type": "dpdkvhostuserclient"}},
                                "before_header": "ovs", "after_header": "ovs"}
    assert [c.key for c in plan.by_action("create")] == ["port vhu0"]
    assert plan.as_list()[0] == {"key": "pool 2M", "action": "resize", "before": 0, "after": 512}
    assert plan.changes[0].data == {"node": None}


def test_ovsdb_values():
    assert ovsdb_value(["map", [["dpdk-init", "true"], ["n", ["set", []]]]]) == {"dpdk-init": "true", "n": []}
    assert ovsdb_value(["set", [["uuid", "a"], ["uuid", "b"]]]) == ["a", "b"]
    assert ovsdb_value(["uuid", "5f"]) == "5f"
    assert ovsdb_value("br0") == "br0" and ovsdb_value(7) == 7 and ovsdb_value(True) is True


def test_parse_table():
    text = json.dumps({"headings": ["name", "other_config", "ports"],
                       "data": [["br0", ["map", [["datapath-id", "0001"]]], ["uuid", "p1"]],
                                ["br1", ["map", []], ["set", [["uuid", "p2"], ["uuid", "p3"]]]]]})
    rows = parse_table(text)
    assert rows == [{"name": "br0", "other_config": {"datapath-id": "0001"}, "ports": "p1"},
                    {"name": "br1", "other_config": {}, "ports": ["p2", "p3"]}]


class WarningModule:
    check_mode = False
    _diff = False

    def __init__(self):
        self.params = {}
        self.warned = []

    def warn(self, text):
        self.warned.append(text)


def test_warnings_reach_ansible_once_each_also_when_the_run_fails():
    class Failing(PlannedModule):
        def read(self):
            self.warn("read: first")
            self.warn("read: first")
            return {}

        def plan(self, current):
            self.warn("plan: second")
            raise NfvError("refused")

    module = WarningModule()
    with pytest.raises(NfvError):
        Failing(module, fs=object(), runner=object()).run()
    assert module.warned == ["read: first", "plan: second"]
