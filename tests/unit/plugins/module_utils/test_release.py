"""The supported releases: os-release parsing, the profile a host gets, DPDK package names per release.

(Target-side code only: ansible-test units runs these without the controller; the filters are in
tests/unit/plugins/filter/test_release_filters.py.)"""

import pytest

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.host.hostfs import HostFS
from ansible_collections.nfv.dpdk.plugins.module_utils.host.release import (
    dpdk_package,
    parse_os_release,
    read_os,
    require_profile,
)

# /etc/os-release as the releases ship it (base-files)
BOOKWORM = '''PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
'''
TRIXIE = '''PRETTY_NAME="Debian GNU/Linux 13 (trixie)"
NAME="Debian GNU/Linux"
VERSION_ID="13"
VERSION="13 (trixie)"
VERSION_CODENAME=trixie
DEBIAN_VERSION_FULL=13.2
ID=debian
'''
BULLSEYE = 'PRETTY_NAME="Debian GNU/Linux 11 (bullseye)"\nVERSION_ID="11"\nVERSION_CODENAME=bullseye\nID=debian\n'
UBUNTU = ('PRETTY_NAME="Ubuntu 24.04.1 LTS"\nNAME="Ubuntu"\nVERSION_ID="24.04"\nVERSION_CODENAME=noble\n'
          'ID=ubuntu\nID_LIKE=debian\n')
ROCKY = ('NAME="Rocky Linux"\nVERSION_ID="9.4"\nID="rocky"\nID_LIKE="rhel centos fedora"\n'
         'PRETTY_NAME="Rocky Linux 9.4 (Blue Onyx)"\n')


def host(tmp_path, os_release, debian_version=None, where="etc/os-release"):
    (tmp_path / where).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / where).write_text(os_release)
    if debian_version:
        (tmp_path / "etc/debian_version").write_text(debian_version + "\n")
    return HostFS(str(tmp_path))


def test_parse_takes_shell_quoting_and_ignores_other_lines():
    fields = parse_os_release('# comment\nID=debian\nPRETTY_NAME="Debian GNU/Linux 13 (trixie)"\n'
                              "NAME='single quoted'\nbroken line\nEMPTY=\nBAD=\"unterminated\n")
    assert fields == {"ID": "debian", "PRETTY_NAME": "Debian GNU/Linux 13 (trixie)", "NAME": "single quoted",
                      "EMPTY": ""}


@pytest.mark.parametrize("text, version, release, abi", [
    (BOOKWORM, "12.11", "Debian 12 (bookworm)", "23"),
    (TRIXIE, "13.2", "Debian 13 (trixie)", "25"),
])
def test_supported_releases(tmp_path, text, version, release, abi):
    facts = read_os(host(tmp_path, text, version))
    assert facts["release"] == release
    assert facts["debian_version"] == version
    assert require_profile(facts)["dpdk_abi"] == abi


def test_os_release_in_usr_lib_when_etc_has_none(tmp_path):
    facts = read_os(host(tmp_path, TRIXIE, where="usr/lib/os-release"))
    assert (facts["id"], facts["version_id"], facts["codename"]) == ("debian", "13", "trixie")


@pytest.mark.parametrize("text, found", [
    (BULLSEYE, "Debian GNU/Linux 11 (bullseye) (debian 11)"),
    (UBUNTU, "Ubuntu 24.04.1 LTS (ubuntu 24.04)"),
    (ROCKY, "Rocky Linux 9.4 (Blue Onyx) (rocky 9.4)"),
])
def test_unsupported_releases_are_named_with_what_is_supported(tmp_path, text, found):
    facts = read_os(host(tmp_path, text))
    assert facts["release"] is None
    with pytest.raises(NfvError) as err:
        require_profile(facts, field="node7")
    assert err.value.msg == ("node7 runs %s, which nfv.dpdk does not support: supported are "
                             "Debian 12 (bookworm), Debian 13 (trixie)" % found)


def test_no_os_release_at_all(tmp_path):
    facts = read_os(HostFS(str(tmp_path)))
    assert facts["id"] is None and facts["release"] is None
    with pytest.raises(NfvError, match="runs an unknown release"):
        require_profile(facts)


@pytest.mark.parametrize("library, bookworm, trixie", [
    ("mempool-ring", "librte-mempool-ring23", "librte-mempool-ring25"),
    ("net-vhost", "librte-net-vhost23", "librte-net-vhost25"),
    ("net-e1000", "librte-net-e1000-23", "librte-net-e1000-25"),
    ("net-af-packet", "librte-net-af-packet23", "librte-net-af-packet25"),
    ("net-i40e", "librte-net-i40e23", "librte-net-i40e25"),
])
def test_dpdk_package_names_per_release(tmp_path, library, bookworm, trixie):
    profiles = [require_profile(read_os(host(tmp_path / name, text))) for name, text in
                (("12", BOOKWORM), ("13", TRIXIE))]
    assert [dpdk_package(p, library) for p in profiles] == [bookworm, trixie]


@pytest.mark.parametrize("library", ["librte-net-vhost25", "net_vhost", "Net-Vhost", "", "net-", "net-vhost\n",
                                     "net vhost"])
def test_bad_library_names_are_refused(tmp_path, library):
    profile = require_profile(read_os(host(tmp_path, TRIXIE)))
    with pytest.raises(NfvError, match="DPDK library name"):
        dpdk_package(profile, library)
