"""nfv.dpdk.ovs_config through ansible-playbook against a private, real OVS-DPDK (ovs_lab)."""

import os
import re

import pytest

from module_call import run_module

pytestmark = pytest.mark.component


def other_config(lab):
    cell = lab.list_table("Open_vSwitch")[0]["other_config"]
    assert cell[0] == "map"
    return dict(cell[1])


def call(lab, check=False, **args):
    args["db"] = lab.db
    return run_module("ovs_config", args, check=check)


def lab_extra(lab):
    """The lab's own EAL arguments: kept so that a daemon restart still uses the private hugetlbfs."""
    return ["--huge-dir=" + lab.huge_dir, "--file-prefix=" + lab.file_prefix]


def test_runtime_key_check_mode_apply_noop(ovs_lab):
    before = ovs_lab.dump()
    other = {"pmd-auto-lb": True, "tx-flush-interval": 50}
    checked = call(ovs_lab, check=True, pmd_cpu_mask="0x2", other_config=other)
    assert not checked.get("failed"), checked.get("msg")
    assert checked["changed"] is True
    assert ovs_lab.dump() == before, "check mode changed the database"

    result = call(ovs_lab, pmd_cpu_mask="0x2", other_config={"pmd-auto-lb": True, "tx-flush-interval": 50})
    assert result["changes"] == checked["changes"]
    assert sorted(c["key"] for c in result["changes"]) == ["pmd-auto-lb", "tx-flush-interval"]
    assert result["restart_required"] is False
    assert result["vswitchd_running"] is True
    config = other_config(ovs_lab)
    assert config["pmd-auto-lb"] == "true" and config["tx-flush-interval"] == "50"
    assert config["pmd-cpu-mask"] == "0x2"
    assert result["diff"]["after"] == {"pmd-auto-lb": "true", "tx-flush-interval": "50"}

    again = call(ovs_lab, pmd_cpu_mask="0x2", other_config={"pmd-auto-lb": True, "tx-flush-interval": 50})
    assert again["changed"] is False

    removed = call(ovs_lab, other_config={"pmd-auto-lb": None, "tx-flush-interval": None})
    assert [c["action"] for c in removed["changes"]] == ["remove", "remove"]
    assert "pmd-auto-lb" not in other_config(ovs_lab)


def test_start_only_keys_report_restart_required(ovs_lab):
    extra = lab_extra(ovs_lab) + ["--log-level=lib.eal:info"]
    result = call(ovs_lab, dpdk_init=True, socket_mem=[512], extra_args=extra, vhost_iommu_support=True,
                  vhost_postcopy_support=False, per_port_memory=False)
    assert not result.get("failed"), result.get("msg")
    assert result["dpdk_initialized"] is True
    assert result["restart_required"] is True
    assert result["restart_keys"] == ["dpdk-extra", "vhost-iommu-support", "vhost-postcopy-support"]
    config = other_config(ovs_lab)
    # Values with `=` and spaces stored exactly, no shell in between.
    assert config["dpdk-extra"] == " ".join(extra)
    assert config["vhost-iommu-support"] == "true"
    assert config["dpdk-socket-mem"] == "512"
    assert call(ovs_lab, dpdk_init=True, socket_mem=[512], extra_args=extra,
                vhost_iommu_support=True)["changed"] is False


def host_nodes():
    """NUMA node ids of this machine, as ovs_config reads them ([0] without NUMA sysfs)."""
    root = "/sys/devices/system/node"
    names = os.listdir(root) if os.path.isdir(root) else []
    return sorted(int(n[4:]) for n in names if re.fullmatch(r"node\d+", n)) or [0]


def test_socket_mem_per_node_and_bad_input(ovs_lab):
    before = ovs_lab.dump()
    slots = max(host_nodes()) + 1
    mem = [1024] + [0] * (slots - 1)
    limit = [2048] + [0] * (slots - 1)
    checked = call(ovs_lab, check=True, socket_mem=mem, socket_limit=limit)
    assert not checked.get("failed"), checked.get("msg")
    assert checked["diff"]["after"] == {"dpdk-socket-mem": ",".join(str(v) for v in mem),
                                        "dpdk-socket-limit": ",".join(str(v) for v in limit)}
    assert checked["restart_required"] is True
    assert ovs_lab.dump() == before

    for args, message in (({"pmd_cpu_mask": "0xZZ"}, "hexadecimal CPU mask"),
                          ({"extra_args": ["--a b"]}, "whitespace"),
                          ({"dpdk_init": "maybe"}, "true, false or try"),
                          ({"socket_mem": [-1]}, "cannot be negative"),
                          ({"pmd_cpu_mask": "0x2", "other_config": {"pmd-cpu-mask": "0x4"}}, "conflicts"),
                          # issue 15: other_config keys are checked like the options; one value per node
                          ({"other_config": {"pmd-cpu-mask": "zz"}}, "other_config.pmd-cpu-mask must be a non-zero"),
                          ({"other_config": {"dpdk-socket-mem": "1024 MB"}}, "other_config.dpdk-socket-mem must be"),
                          ({"socket_mem": [1024] * (slots + 1)}, "socket_mem has %d values" % (slots + 1))):
        for check in (True, False):
            result = call(ovs_lab, check=check, **args)
            assert result.get("failed") is True, args
            assert message in result["msg"], result["msg"]
    assert ovs_lab.dump() == before


def test_mask_spelling_is_not_drift(ovs_lab):
    first = call(ovs_lab, other_config={"pmd-cpu-mask": "0x02"})
    assert not first.get("failed"), first.get("msg")
    assert other_config(ovs_lab)["pmd-cpu-mask"] == "0x2"  # written normalized
    ovs_lab.vsctl("set", "Open_vSwitch", ".", "other_config:pmd-cpu-mask=0x002")  # spelled otherwise by hand
    again = call(ovs_lab, check=True, pmd_cpu_mask="0x2")
    assert again["changed"] is False, again.get("changes")


def test_daemons_down(ovs_lab):
    ovs_lab.stop_vswitchd()
    try:
        # The database is still configured (ovs-vswitchd reads it when it starts), without waiting.
        result = call(ovs_lab, other_config={"nfv-test": "offline"})
        assert not result.get("failed"), result.get("msg")
        assert result["vswitchd_running"] is False
        assert other_config(ovs_lab)["nfv-test"] == "offline"

        ovs_lab.stop_ovsdb()
        result = call(ovs_lab, other_config={"nfv-test": "x"})
        assert result.get("failed") is True
        assert "ovsdb-server is not reachable" in result["msg"]
    finally:
        ovs_lab.start_ovsdb()
