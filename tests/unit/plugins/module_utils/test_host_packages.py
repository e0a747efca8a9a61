# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
from ansible_collections.nfv.dpdk.plugins.module_utils.host import packages
from ansible_collections.nfv.dpdk.plugins.module_utils.host.hostfs import HostFS

STATUS = """Package: openvswitch-switch-dpdk
Status: install ok installed
Priority: optional
Version: 3.5.0-1
Description: DPDK enabled Open vSwitch switch implementation
 Status: install ok installed
 Package: librte-fake

Package: qemu-system-x86
Status: deinstall ok config-files
Version: 1:7.2+dfsg-7

Package: librte-net-vhost25
Status: hold ok installed
Version: 24.11.2-1

Package: libc6
Status: install ok installed
Version: 2.41-12

Package: python3-apt
Status: install ok half-configured
Version: 3.0.0
"""


def test_only_installed_packages_of_the_collections_concern():
    # config-files only and half-configured are not installed; libc6 is not ours; continuation lines are not fields
    assert packages.parse_status(STATUS) == {"openvswitch-switch-dpdk": "3.5.0-1", "librte-net-vhost25": "24.11.2-1"}


def test_read_from_the_hosts_dpkg_database(tmp_path):
    (tmp_path / "var/lib/dpkg").mkdir(parents=True)
    (tmp_path / "var/lib/dpkg/status").write_text(STATUS)
    assert packages.read_packages(HostFS(str(tmp_path)))["openvswitch-switch-dpdk"] == "3.5.0-1"
    assert packages.read_packages(HostFS(str(tmp_path / "bare"))) == {}
