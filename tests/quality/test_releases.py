"""One owner for what differs between the supported releases: plugins/module_utils/host/release.py.

scripts/setup cannot import it (it installs the Python that would), so its table is checked against it here;
nothing else in the tree may spell a release's DPDK package name or QEMU suite as data.
"""

import glob
import os
import re

import yaml

from ansible_collections.nfv.dpdk.plugins.module_utils.host.release import SUPPORTED
from module_call import REPO

# a DPDK library package with an ABI number: librte-net-vhost23, librte-net-e1000-25
ABI_PACKAGE = re.compile(r"librte-[a-z0-9-]+?-?\d\d\b")
TEXT_KEYS = ("description", "short_description", "msg", "fail_msg", "name")


def read(*parts):
    with open(os.path.join(REPO, *parts), encoding="utf-8") as handle:
        return handle.read()


def test_setup_picks_the_packages_of_release_py():
    rows = re.findall(r"(?m)^  (\w+):(\d+)\) codename=(\w+) dpdk_abi=(\d+) qemu_suite=([\w-]*) ;;",
                      read("scripts", "setup"))
    assert rows == [(e["id"], e["version_id"], e["codename"], e["dpdk_abi"], e["qemu_suite"]) for e in SUPPORTED]


def values(node, key=None):
    """Every string of a YAML document that is data, not prose (descriptions, messages, task names)."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from values(v, k)
    elif isinstance(node, list):
        for item in node:
            yield from values(item, key)
    elif isinstance(node, str) and key not in TEXT_KEYS:
        yield node


def yaml_files():
    for pattern in ("roles/**/*.yml", "playbooks/**/*.yml", "inventory/**/*.yml", "lab/**/*.yml",
                    "molecule/**/*.yml", "examples/**/*.yml"):
        yield from glob.glob(os.path.join(REPO, pattern), recursive=True)


def test_no_release_specific_package_name_or_suite_in_the_data():
    suites = [e["qemu_suite"] for e in SUPPORTED if e["qemu_suite"]]
    found = []
    for path in yaml_files():
        with open(path, encoding="utf-8") as handle:
            for doc in yaml.safe_load_all(handle):
                for text in values(doc):
                    if ABI_PACKAGE.search(text) or any(suite in text for suite in suites):
                        found.append("%s: %s" % (os.path.relpath(path, REPO), text.strip()[:120]))
    assert found == []


def test_the_labs_take_their_release_from_release_py():
    for script in ("nspawn_lab.py", "lab_vm.py"):
        text = read("scripts", script)
        assert "RELEASE = lab_release()" in text and not re.search(r"SUITE = \"\w+\"", text), script
        assert not ABI_PACKAGE.search(re.sub(r"(?m)#.*$", "", text)), script
