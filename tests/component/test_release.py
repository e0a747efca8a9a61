"""site.yml on a release the collection does not support fails before it changes anything, naming the release.

This machine runs a supported Debian; each run here happens in a private mount namespace (unshare) where
/etc/os-release is another release's own file, bind-mounted over the real one, so the modules read it as
they would on such a host. The description asks for a hugepage pool of this machine's real kernel: the
pool must be as it was.
"""

import json
import os
import subprocess

import pytest

from module_call import REPO, VENV_BIN, ansible_env

pytestmark = pytest.mark.component

POOL = "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"
# as these releases ship /etc/os-release
RELEASES = {
    "Debian 11": ('PRETTY_NAME="Debian GNU/Linux 11 (bullseye)"\nNAME="Debian GNU/Linux"\nVERSION_ID="11"\n'
                  'VERSION="11 (bullseye)"\nVERSION_CODENAME=bullseye\nID=debian\n',
                  "Debian GNU/Linux 11 (bullseye) (debian 11)"),
    "Ubuntu 24.04": ('PRETTY_NAME="Ubuntu 24.04.1 LTS"\nNAME="Ubuntu"\nVERSION_ID="24.04"\nVERSION="24.04.1 LTS (Noble '
                     'Numbat)"\nVERSION_CODENAME=noble\nID=ubuntu\nID_LIKE=debian\n',
                     "Ubuntu 24.04.1 LTS (ubuntu 24.04)"),
    "Rocky Linux 9": ('NAME="Rocky Linux"\nVERSION="9.4 (Blue Onyx)"\nID="rocky"\nID_LIKE="rhel centos fedora"\n'
                      'VERSION_ID="9.4"\nPRETTY_NAME="Rocky Linux 9.4 (Blue Onyx)"\n',
                      "Rocky Linux 9.4 (Blue Onyx) (rocky 9.4)"),
}


def read_pool():
    with open(POOL) as handle:
        return int(handle.read())


@pytest.mark.parametrize("release", sorted(RELEASES))
def test_an_unsupported_release_fails_first_and_changes_nothing(tmp_path, release):
    text, found = RELEASES[release]
    fake = tmp_path / "os-release"
    fake.write_text(text)
    before = read_pool()
    with open("/etc/os-release") as handle:
        own = handle.read()
    inventory = tmp_path / "hosts.json"
    inventory.write_text(json.dumps({"dpdk_hosts": {"hosts": {"node1": {
        "ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3",
        "host_hugepages": [{"size": "2M", "count": before + 8}],
        "host_hugepage_mounts": [], "host_ovs": {"bridges": [{"name": "br-x", "datapath_type": "netdev"}]}}}}}))
    playbook = [os.path.join(VENV_BIN, "ansible-playbook"), "-i", str(inventory),
                os.path.join(REPO, "playbooks", "site.yml")]
    # /etc/os-release is a link to /usr/lib/os-release on Debian: bind both, as a host of that release has them
    script = ('mount --make-rprivate / && for f in /etc/os-release /usr/lib/os-release; do '
              '[ -e "$f" ] && mount --bind "$0" "$f"; done; exec "$@"')
    proc = subprocess.run(["unshare", "--mount", "sh", "-c", script, str(fake)] + playbook, env=ansible_env(),
                          cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=300, check=False)
    output = proc.stdout
    assert proc.returncode != 0, output
    fatal = output.split("fatal: [node1]", 1)[-1]
    assert "TASK [nfv.dpdk.host : Check the host's release before anything changes" in output
    assert ("node1 runs %s, which nfv.dpdk does not support: supported are Debian 12 (bookworm), "
            "Debian 13 (trixie)" % found) in fatal, output
    assert "changed=0" in output.split("PLAY RECAP")[-1], output
    assert "Check the whole description" not in output  # nothing after the release check ran
    assert read_pool() == before
    # the bind mounts went with the run's namespace: this machine's own os-release is as it was
    with open("/etc/os-release") as handle:
        assert handle.read() == own
