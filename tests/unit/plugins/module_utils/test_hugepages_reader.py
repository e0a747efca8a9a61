"""The hugepage reader (module_utils/hugepages.py) on fixture trees in the kernel's layout."""

import pytest

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.host import hugepages
from ansible_collections.nfv.dpdk.plugins.module_utils.host.hostfs import HostFS
from ansible_collections.nfv.dpdk.tests.unit.sysfs_tree import KB_1G, KB_2M, SysfsTree, one_node_host, two_node_host


@pytest.mark.parametrize("text,kb", [
    ("2M", 2048), ("1G", 1048576), ("2048kB", 2048), ("1048576kB", 1048576), ("2MiB", 2048),
    ("1g", 1048576), (" 2M ", 2048), ("64K", 64), ("16GB", 16 * 1024 * 1024), (2048, 2048),
])
def test_size_to_kb_accepts_the_forms_users_write(text, kb):
    assert hugepages.size_to_kb(text) == kb


@pytest.mark.parametrize("text", ["", "2", "M", "2T", "two M", "2.5M", "-2M", "2M2", None])
def test_size_to_kb_rejects_what_is_not_a_size(text):
    with pytest.raises(ValueError):
        hugepages.size_to_kb(text)


@pytest.mark.parametrize("kb,label", [(2048, "2M"), (1048576, "1G"), (64, "64K"), (16 * 1048576, "16G"),
                                      (524288, "512M")])
def test_kb_to_label(kb, label):
    assert hugepages.kb_to_label(kb) == label


def test_resolve_size_accepts_supported_sizes(tmp_path):
    one_node_host(tmp_path)
    fs = HostFS(str(tmp_path))
    assert hugepages.supported_sizes_kb(fs) == [KB_2M, KB_1G]
    assert hugepages.resolve_size(fs, "1048576kB") == KB_1G
    assert hugepages.resolve_size(fs, "2M") == KB_2M


@pytest.mark.parametrize("text", ["16M", "4K", "junk"])
def test_resolve_size_lists_the_supported_sizes(tmp_path, text):
    one_node_host(tmp_path)
    with pytest.raises(NfvError) as err:
        hugepages.resolve_size(HostFS(str(tmp_path)), text)
    assert "2M, 1G" in err.value.msg
    assert err.value.details["supported_sizes"] == ["2M", "1G"]


def test_resolve_size_without_hugetlb_support(tmp_path):
    tree = SysfsTree(tmp_path)
    tree.meminfo()
    with pytest.raises(NfvError) as err:
        hugepages.resolve_size(HostFS(str(tmp_path)), "2M")
    assert "no hugetlb support" in err.value.msg


def test_pool_dir_layout():
    assert hugepages.pool_dir(KB_2M) == "/sys/kernel/mm/hugepages/hugepages-2048kB"
    assert hugepages.pool_dir(KB_1G, 1) == "/sys/devices/system/node/node1/hugepages/hugepages-1048576kB"


def test_read_pools_two_nodes(tmp_path):
    two_node_host(tmp_path)
    pools = hugepages.read_pools(HostFS(str(tmp_path)))
    keyed = dict(((p["size"], p["node"]), p) for p in pools)
    assert list(keyed) == [("2M", None), ("1G", None), ("2M", 0), ("1G", 0), ("2M", 1), ("1G", 1)]
    assert keyed[("1G", None)]["total"] == 4 and keyed[("1G", None)]["free"] == 3
    assert keyed[("1G", 0)] == {"size": "1G", "size_kb": KB_1G, "node": 0, "total": 2, "free": 1, "surplus": 0}
    assert keyed[("1G", None)]["reserved"] == 0 and keyed[("1G", None)]["overcommit"] == 0
    assert "reserved" not in keyed[("1G", 1)]


def test_read_pools_without_numa_sysfs(tmp_path):
    tree = SysfsTree(tmp_path)
    tree.meminfo()
    tree.hugepage_sizes()
    tree.pool(KB_2M, total=512, free=500)
    pools = hugepages.read_pools(HostFS(str(tmp_path)))
    assert [(p["size"], p["node"], p["total"], p["free"]) for p in pools] == [("2M", None, 512, 500),
                                                                              ("1G", None, 0, 0)]


def test_default_size_and_mounts(tmp_path):
    tree = two_node_host(tmp_path)
    tree.write("/proc/mounts", "sysfs /sys sysfs rw 0 0\n"
               "hugetlbfs /dev/hugepages hugetlbfs rw,relatime,pagesize=1024M 0 0\n"
               "nodev /mnt/huge\\0402M hugetlbfs rw,relatime,pagesize=2M,mode=1770,gid=107 0 0\n"
               "none /mnt/default hugetlbfs rw,relatime 0 0\n")
    fs = HostFS(str(tmp_path))
    assert hugepages.default_size_kb(fs) == KB_1G
    mounts = hugepages.read_mounts(fs)
    assert [(m["path"], m["size"]) for m in mounts] == [("/dev/hugepages", "1G"), ("/mnt/huge 2M", "2M"),
                                                        ("/mnt/default", "1G")]


@pytest.mark.parametrize("text, mb", [("256M", 256), ("4G", 4096), ("4GiB", 4096), ("1T", 1048576),
                                      ("2048", 2048), (512, 512)])
def test_parse_memory(text, mb):
    assert hugepages.parse_memory_mb(text) == mb


def test_format_mb():
    assert [hugepages.format_mb(m) for m in (4096, 768, 1024)] == ["4G", "768M", "1G"]
