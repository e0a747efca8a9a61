"""What the two labs share (scripts/nspawn_lab.py, scripts/lab_vm.py): commands, the host's Debian
mirror, and one lab's files: its SSH key, the state of the running lab, SSH to it on loopback."""

import json
import os
import socket
import subprocess
import sys

SOURCES = "/etc/apt/sources.list.d/debian.sources"
TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_SUITE = "trixie"


def release_table():
    """plugins/module_utils/host/release.py of this tree, the collection's table of supported releases.

    Imported through the collection link scripts/setup makes (.build/collections), as Ansible would.
    """
    collections = os.path.join(TOP, ".build", "collections")
    if not os.path.isdir(os.path.join(collections, "ansible_collections", "nfv", "dpdk")):
        sys.exit("%s is missing: run scripts/setup first" % collections)
    if collections not in sys.path:
        sys.path.insert(0, collections)
    from ansible_collections.nfv.dpdk.plugins.module_utils.host import release  # pylint: disable=import-outside-toplevel
    return release


def lab_release():
    """The release a lab runs: NFV_LAB_SUITE (a codename the collection supports), Debian 13 by default."""
    release = release_table()
    suite = os.environ.get("NFV_LAB_SUITE") or DEFAULT_SUITE
    for profile in release.SUPPORTED:
        if profile["codename"] == suite:
            return dict(profile)
    sys.exit("NFV_LAB_SUITE=%s is not a release nfv.dpdk supports: give one of %s"
             % (suite, ", ".join(p["codename"] for p in release.SUPPORTED)))


def run(argv, check=True, **kwargs):
    return subprocess.run(argv, check=check, **kwargs)


def mirror():
    """The Debian mirror the host uses (first URIs of its deb822 source)."""
    if os.path.exists(SOURCES):
        with open(SOURCES) as handle:
            for line in handle:
                if line.startswith("URIs:"):
                    return line.split()[1]
    return "http://deb.debian.org/debian"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


class Lab:
    """One lab: NAME, its cache directory (SSH key, images) and run directory (state.json)."""

    def __init__(self, tag, name, cache, run_dir):
        self.tag, self.name, self.cache, self.run_dir = tag, name, cache, run_dir

    def log(self, msg):
        print("[%s] %s" % (self.tag, msg), file=sys.stderr, flush=True)

    def key_path(self):
        return os.path.join(self.cache, "id_ed25519")

    def ensure_key(self):
        """The lab's SSH key, created once; returns the public key."""
        os.makedirs(self.cache, exist_ok=True)
        if not os.path.exists(self.key_path()):
            run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", self.name, "-f", self.key_path()])
        with open(self.key_path() + ".pub") as handle:
            return handle.read()

    def state_path(self):
        return os.path.join(self.run_dir, "state.json")

    def read_state(self):
        try:
            with open(self.state_path()) as handle:
                return json.load(handle)
        except (IOError, ValueError):
            return None

    def ssh_argv(self, state, *command):
        return ["ssh", "-i", self.key_path(), "-p", str(state["port"]), "-o", "StrictHostKeyChecking=no",
                "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "BatchMode=yes",
                "-o", "ConnectTimeout=5", "root@127.0.0.1"] + list(command)
