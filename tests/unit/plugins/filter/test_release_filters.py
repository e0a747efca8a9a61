"""The filters release and dpdk_packages: the controller's side of plugins/module_utils/host/release.py."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.nfv.dpdk.plugins.filter.dpdk_packages import dpdk_packages_filter
from ansible_collections.nfv.dpdk.plugins.filter.release import release_filter

TRIXIE = {"id": "debian", "version_id": "13", "codename": "trixie", "pretty_name": "Debian GNU/Linux 13 (trixie)"}
UBUNTU = {"id": "ubuntu", "version_id": "24.04", "codename": "noble", "pretty_name": "Ubuntu 24.04.1 LTS"}


def test_a_supported_host_gets_its_release_profile():
    profile = release_filter(TRIXIE, field="node7")
    assert (profile["name"], profile["dpdk_abi"], profile["qemu_suite"]) == ("Debian 13 (trixie)", "25", "")
    packages = dpdk_packages_filter(profile, ["mempool-ring", "net-e1000"])
    assert packages == ["librte-mempool-ring25", "librte-net-e1000-25"]


def test_an_unsupported_host_fails_naming_it_and_the_supported_releases():
    with pytest.raises(AnsibleFilterError) as err:
        release_filter(UBUNTU, field="node7")
    assert err.value.message == ("node7 runs Ubuntu 24.04.1 LTS (ubuntu 24.04), which nfv.dpdk does not support: "
                                 "supported are Debian 12 (bookworm), Debian 13 (trixie)")


@pytest.mark.parametrize("library", ["librte-net-vhost25", "net_vhost", "net vhost", ""])
def test_bad_library_names_are_refused(library):
    with pytest.raises(AnsibleFilterError, match="DPDK library name"):
        dpdk_packages_filter(release_filter(TRIXIE), [library])


def test_filters_refuse_what_is_not_theirs():
    with pytest.raises(AnsibleFilterError, match="takes host_facts' os"):
        release_filter("debian")
    with pytest.raises(AnsibleFilterError, match="takes a release profile"):
        dpdk_packages_filter({"name": "x"}, ["net-vhost"])
    with pytest.raises(AnsibleFilterError, match="must be a list"):
        dpdk_packages_filter({"dpdk_abi": "25"}, "net-vhost")
