"""hugepage_pool planning, validation and apply on fixture trees.

The fixture tree stands in for sysfs; `KernelLikeFS` adds the one kernel
behaviour the logic depends on: a write to nr_hugepages may allocate fewer
pages than asked (the real kernel is exercised in tests/component).
"""

import os

import pytest

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.host.hostfs import HostFS
from ansible_collections.nfv.dpdk.plugins.module_utils.memory import hugepage_pool as hp
from ansible_collections.nfv.dpdk.tests.unit.sysfs_tree import KB_1G, KB_2M, SysfsTree, one_node_host, two_node_host


class KernelLikeFS(HostFS):
    """Writes to nr_hugepages allocate at most `limit[size_kb]` pages and keep free in step."""

    def __init__(self, root, limit=None):
        super(KernelLikeFS, self).__init__(root)
        self.limit = dict(limit or {})
        self.writes = []

    def write(self, path, value):
        self.writes.append((path, int(value)))
        if path.endswith("/nr_hugepages"):
            size_kb = int(path.split("hugepages-")[-1].split("kB")[0])
            old_total = self.read_int(path)
            used = old_total - self.read_int(os.path.dirname(path) + "/free_hugepages")
            total = min(int(value), self.limit.get(size_kb, int(value)))
            surplus = max(0, used - total)
            total = max(total, used)
            super(KernelLikeFS, self).write(path, total)
            super(KernelLikeFS, self).write(os.path.dirname(path) + "/free_hugepages", total - used)
            super(KernelLikeFS, self).write(os.path.dirname(path) + "/surplus_hugepages", surplus)
            return
        super(KernelLikeFS, self).write(path, value)


class FakeModule:
    def __init__(self, check_mode=False, diff=True, **params):
        self.params = dict({"node": None, "allow_shortfall": False}, **params)
        self.check_mode = check_mode
        self._diff = diff
        self.warnings = []

    def warn(self, text):
        self.warnings.append(text)


def run(fs, check_mode=False, **params):
    module = FakeModule(check_mode=check_mode, **params)
    result = hp.HugepagePool(module, fs=fs, runner=object()).run()
    return result, module


@pytest.fixture
def host(tmp_path):
    one_node_host(tmp_path)
    return tmp_path


@pytest.fixture
def numa_host(tmp_path):
    two_node_host(tmp_path)
    return tmp_path


def total(fs, size_kb, node=None):
    return fs.read_int(hp.pool_dir(size_kb, node) + "/nr_hugepages")


# -- validation --------------------------------------------------------------
@pytest.mark.parametrize("params,message", [
    ({"size": "16M", "count": 1}, "hugepage size 16M is not supported by this host; it supports: 2M, 1G"),
    ({"size": "huge", "count": 1}, "this host supports: 2M, 1G"),
    ({"size": "2M", "count": -1}, "count must be an integer >= 0, got -1"),
    ({"size": "2M", "count": True}, "count must be an integer >= 0"),
    ({"size": "2M", "count": "3"}, "count must be an integer >= 0"),
    ({"size": "1G", "count": 1, "node": 5}, "NUMA node 5 does not exist; this host has node(s): 0"),
    ({"size": "1G", "count": 1, "node": -1}, "node must be a NUMA node id"),
])
def test_bad_input_fails_and_writes_nothing(host, params, message):
    fs = KernelLikeFS(str(host))
    with pytest.raises(NfvError) as err:
        run(fs, **params)
    assert message in err.value.msg
    assert fs.writes == []


def test_node_on_a_host_without_numa_sysfs(tmp_path):
    tree = SysfsTree(tmp_path)
    tree.meminfo()
    tree.hugepage_sizes()
    fs = KernelLikeFS(str(tmp_path))
    with pytest.raises(NfvError) as err:
        run(fs, size="2M", count=4, node=0)
    assert "exposes no NUMA nodes" in err.value.msg and "omit node" in err.value.msg
    assert fs.writes == []
    # the system-wide pool works on such a host
    result, _module = run(fs, size="2M", count=4)
    assert result["changed"] and total(fs, KB_2M) == 4


def test_node_without_that_pool(tmp_path):
    tree = SysfsTree(tmp_path)
    tree.meminfo()
    tree.hugepage_sizes()
    tree.numa_node(0, "0-1", 1 << 20, 1 << 19, sizes_kb=(KB_2M,))
    with pytest.raises(NfvError) as err:
        run(KernelLikeFS(str(tmp_path)), size="1G", count=1, node=0)
    assert "NUMA node 0 has no 1G hugepage pool" in err.value.msg


# -- planning ----------------------------------------------------------------
def test_plan_is_the_nr_hugepages_file():
    pool = {"size_kb": KB_1G, "node": 1, "total": 2, "surplus": 0, "free": 2}
    plan = hp.plan_pool(pool, 4)
    assert plan.as_list() == [{"key": "/sys/devices/system/node/node1/hugepages/hugepages-1048576kB/nr_hugepages",
                               "action": "set", "before": 2, "after": 4}]
    assert not hp.plan_pool(pool, 2).changed


def test_plan_compares_persistent_pages_not_surplus():
    pool = {"size_kb": KB_2M, "node": None, "total": 10, "surplus": 3, "free": 0}
    assert not hp.plan_pool(pool, 7).changed
    assert hp.plan_pool(pool, 10).as_list()[0]["before"] == 7


@pytest.mark.parametrize("size", ["1G", "1048576kB", "1g"])
def test_size_forms_name_the_same_pool(host, size):
    fs = KernelLikeFS(str(host))
    result, _module = run(fs, size=size, count=2)
    assert result["size"] == "1G" and result["size_kb"] == KB_1G
    assert fs.writes == [("/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages", 2)]


# -- apply, check mode, idempotence --------------------------------------------
def test_set_read_back_and_second_run_unchanged(numa_host):
    fs = KernelLikeFS(str(numa_host))
    result, _module = run(fs, size="1G", count=3, node=1)
    assert result["changed"] is True
    assert (result["before"], result["after"], result["free"], result["node"]) == (2, 3, 3, 1)
    assert result["diff"]["before"] == {hp.pool_dir(KB_1G, 1) + "/nr_hugepages": 2}
    assert result["diff"]["after"] == {hp.pool_dir(KB_1G, 1) + "/nr_hugepages": 3}
    assert result["diff"]["before_header"] == "1G hugepages on node 1"
    assert total(fs, KB_1G, 1) == 3 and total(fs, KB_1G, 0) == 2
    again, _module = run(fs, size="1G", count=3, node=1)
    assert again["changed"] is False and again["changes"] == [] and len(fs.writes) == 1
    assert (again["before"], again["after"]) == (3, 3)


def test_check_mode_predicts_and_writes_nothing(numa_host):
    fs = KernelLikeFS(str(numa_host))
    predicted, _module = run(fs, check_mode=True, size="1G", count=5, node=0)
    assert fs.writes == [] and total(fs, KB_1G, 0) == 2
    assert predicted["changed"] is True
    assert (predicted["before"], predicted["after"], predicted["free"]) == (2, 5, 4)
    real, _module = run(fs, size="1G", count=5, node=0)
    assert real["changes"] == predicted["changes"] and real["diff"] == predicted["diff"]
    assert (real["after"], real["free"]) == (5, 4)


def test_check_mode_predicts_free_when_shrinking(numa_host):
    fs = KernelLikeFS(str(numa_host))  # node 0: 2 pages, 1 free
    predicted, _module = run(fs, check_mode=True, size="1G", count=1, node=0)
    real, module = run(fs, size="1G", count=1, node=0)
    assert predicted["free"] == real["free"] == 0
    assert real["after"] == 1 and module.warnings == []


def test_shrinking_below_pages_in_use_warns_about_surplus(numa_host):
    fs = KernelLikeFS(str(numa_host))  # node 0: 2 pages, 1 in use
    result, module = run(fs, size="1G", count=0, node=0)
    assert result["after"] == 0 and result["pool"]["surplus"] == 1
    assert any("became surplus" in w for w in module.warnings)


def test_shortfall_fails_and_restores_the_previous_count(host):
    fs = KernelLikeFS(str(host), limit={KB_1G: 3})
    run(fs, size="1G", count=2)
    with pytest.raises(NfvError) as err:
        run(fs, size="1G", count=30)
    assert err.value.msg == "allocated 3 of 30 pages of 1G system wide; restored the previous count 2"
    assert err.value.details["allocated"] == 3 and err.value.details["after"] == 2
    assert total(fs, KB_1G) == 2
    assert fs.writes[-2:] == [(hp.pool_dir(KB_1G) + "/nr_hugepages", 30), (hp.pool_dir(KB_1G) + "/nr_hugepages", 2)]


def test_shortfall_message_names_the_node(numa_host):
    fs = KernelLikeFS(str(numa_host), limit={KB_2M: 10})
    with pytest.raises(NfvError) as err:
        run(fs, size="2M", count=512, node=1)
    assert err.value.msg.startswith("allocated 10 of 512 pages of 2M on node 1;")
    assert total(fs, KB_2M, 1) == 0


def test_shortfall_accepted_with_a_warning(host):
    fs = KernelLikeFS(str(host), limit={KB_1G: 3})
    result, module = run(fs, size="1G", count=8, allow_shortfall=True)
    assert result["changed"] is True and result["after"] == 3 and total(fs, KB_1G) == 3
    assert module.warnings == ["allocated 3 of 8 pages of 1G system wide (shortfall accepted: "
                               "allow_shortfall is true)"]
    # nothing more can be had: the next run writes again, gets 3 again, and reports no change
    again, _module = run(fs, size="1G", count=8, allow_shortfall=True)
    assert again["changed"] is False and again["after"] == 3


def test_refused_write_is_reported_with_the_pool(host):
    class RefusingFS(KernelLikeFS):
        def write(self, path, value):
            raise NfvError("writing %r to %s failed: Cannot allocate memory" % (str(value), path), errno=12)

    with pytest.raises(NfvError) as err:
        run(RefusingFS(str(host)), size="2M", count=4)
    assert err.value.msg.startswith("setting 2M pages system wide to 4 failed: writing '4'")


# -- issue 15: a pool larger than the memory is refused before anything is written ----------------
@pytest.mark.parametrize("tree, params, message", [
    (one_node_host, {"size": "1G", "count": 1000000000},
     "count 1000000000 of 1G pages is 976562.5T, more than this host has (MemTotal 32G); nothing was changed"),
    (one_node_host, {"size": "1G", "count": 33}, "count 33 of 1G pages is 33G, more than this host has (MemTotal 32G)"),
    (one_node_host, {"size": "2M", "count": 16385}, "count 16385 of 2M pages is 32.0G, more than this host has"),
    (one_node_host, {"size": "1G", "count": 5, "node": 0}, "count 5 of 1G pages is 5G, more than NUMA node 0 has "
                                                           "(MemTotal 4.6G)"),
    (two_node_host, {"size": "1G", "count": 17, "node": 1}, "count 17 of 1G pages is 17G, more than NUMA node 1 has "
                                                            "(MemTotal 16G)"),
])
def test_pool_larger_than_memory_is_refused(tmp_path, tree, params, message):
    tree(tmp_path)
    for check_mode in (True, False):
        fs = KernelLikeFS(str(tmp_path))
        with pytest.raises(NfvError) as err:
            run(fs, check_mode=check_mode, **params)
        assert message in err.value.msg
        assert err.value.details["count"] == params["count"] and err.value.details["size"] == params["size"]
        assert fs.writes == []


@pytest.mark.parametrize("tree, params", [
    (one_node_host, {"size": "1G", "count": 32}),
    (one_node_host, {"size": "2M", "count": 16384}),
    (two_node_host, {"size": "1G", "count": 16, "node": 1}),
])
def test_pool_up_to_the_memory_is_planned(tmp_path, tree, params):
    tree(tmp_path)
    result, _module = run(KernelLikeFS(str(tmp_path)), check_mode=True, **params)
    assert result["changed"] is True and result["after"] == params["count"]
