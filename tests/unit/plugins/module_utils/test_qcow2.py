# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 27, class 4: a qcow2 disk whose backing chain leaves the disk's directory is refused (qcow2.py).

The images are qcow2 headers as QEMU's docs/interop/qcow2.txt lays them out (version 3, 104-byte header),
with the backing file name after the header.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import struct

import pytest

from ansible_collections.nfv.dpdk.plugins.module_utils.qemu.qcow2 import MAX_DEPTH, chain_problems, disk_problems


def qcow2(path, backing=None, incompatible=0, version=3):
    name = backing.encode("utf-8") if backing else b""
    header = b"QFI\xfb" + struct.pack(">IQI", version, 104 if name else 0, len(name))
    header += struct.pack(">IQIIQQIIQ", 16, 1 << 30, 0, 0, 0, 0x10000, 1, 0, 0)  # cluster bits .. snapshots
    header += struct.pack(">QQQII", incompatible, 0, 0, 4, 104)
    assert len(header) == 104
    path.write_bytes(header + name)
    return str(path)


def test_a_chain_inside_the_disks_directory_is_taken(tmp_path):
    qcow2(tmp_path / "base.qcow2")
    qcow2(tmp_path / "mid.qcow2", backing="base.qcow2")
    top = qcow2(tmp_path / "vm1.qcow2", backing=str(tmp_path / "mid.qcow2"))
    assert chain_problems("disks[0].path", top) == []


def test_a_raw_file_is_no_qcow2_and_has_no_chain(tmp_path):
    raw = tmp_path / "vm1.img"
    raw.write_bytes(b"\0" * 4096)
    assert chain_problems("disks[0].path", str(raw)) == []


@pytest.mark.parametrize("backing, why", [
    ("../vm2/disk.qcow2", "is backed by {other}/disk.qcow2, outside {top}"),
    ("{other}/disk.qcow2", "is backed by {other}/disk.qcow2, outside {top}"),
    ("json:{{\"file.filename\": \"/etc/shadow\"}}", "which is not a plain file name"),
    ("nbd://10.0.0.1/export", "which is not a plain file name"),
    ("file:/etc/shadow", "which is not a plain file name"),
])
def test_a_backing_file_outside_the_directory_is_refused(tmp_path, backing, why):
    top_dir, other = tmp_path / "vm1", tmp_path / "vm2"
    top_dir.mkdir()
    other.mkdir()
    qcow2(other / "disk.qcow2")
    top = qcow2(top_dir / "disk.qcow2", backing=backing.format(other=other))
    problems = chain_problems("disks[0].path", top)
    assert len(problems) == 1
    assert problems[0].startswith("disks[0].path: %s " % top)
    assert why.format(other=other, top=top_dir) in problems[0]


def test_a_symlink_into_another_directory_is_followed_and_refused(tmp_path):
    (tmp_path / "vm2").mkdir()
    (tmp_path / "vm1").mkdir()
    qcow2(tmp_path / "vm2" / "disk.qcow2")
    (tmp_path / "vm1" / "base.qcow2").symlink_to(tmp_path / "vm2" / "disk.qcow2")
    top = qcow2(tmp_path / "vm1" / "disk.qcow2", backing="base.qcow2")
    assert "outside" in chain_problems("disks[0].path", top)[0]


def test_the_second_link_of_a_chain_is_checked_too(tmp_path):
    (tmp_path / "vm1").mkdir()
    qcow2(tmp_path / "elsewhere.qcow2")
    qcow2(tmp_path / "vm1" / "base.qcow2", backing="../elsewhere.qcow2")
    top = qcow2(tmp_path / "vm1" / "disk.qcow2", backing="base.qcow2")
    assert "%s/vm1/base.qcow2 is backed by %s/elsewhere.qcow2" % (tmp_path, tmp_path) in \
        chain_problems("disks[0].path", top)[0]


def test_an_external_data_file_is_refused(tmp_path):
    top = qcow2(tmp_path / "disk.qcow2", incompatible=1 << 2)
    assert "external data file" in chain_problems("disks[0].path", top)[0]


def test_loops_and_deep_chains_end(tmp_path):
    qcow2(tmp_path / "a.qcow2", backing="b.qcow2")
    qcow2(tmp_path / "b.qcow2", backing="a.qcow2")
    assert "loops" in chain_problems("disks[0].path", str(tmp_path / "a.qcow2"))[0]
    for index in range(MAX_DEPTH + 1):
        qcow2(tmp_path / ("d%d.qcow2" % index), backing="d%d.qcow2" % (index + 1))
    qcow2(tmp_path / ("d%d.qcow2" % (MAX_DEPTH + 1)))
    assert "deeper than %d" % MAX_DEPTH in chain_problems("disks[0].path", str(tmp_path / "d0.qcow2"))[0]


def test_only_qcow2_disks_are_read(tmp_path):
    (tmp_path / "vm1").mkdir()
    bad = qcow2(tmp_path / "vm1" / "disk.qcow2", backing="/etc/passwd")
    assert disk_problems([{"path": bad, "format": "raw"}]) == []  # QEMU opens it as raw: no header is read
    assert len(disk_problems([{"path": bad, "format": "qcow2"}, {"path": "/nonexistent", "format": "qcow2"}])) == 1
