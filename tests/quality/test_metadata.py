"""Collection metadata tells the truth: the licence the files cite is shipped, and the roles' Galaxy metadata
agrees with meta/runtime.yml and with the platform the tests cover."""

import os
import re

import yaml

from ansible_collections.nfv.dpdk.plugins.module_utils.host.release import SUPPORTED
from module_call import REPO

LICENSE_REF = re.compile(r"\bLICENSES/[A-Za-z0-9.+-]+\.txt")
SKIP_DIRS = {".git", ".venv", ".build", ".cache", ".ansible", ".pytest_cache", ".ruff_cache", "__pycache__",
             "output"}


def load(*parts):
    with open(os.path.join(REPO, *parts)) as handle:
        return yaml.safe_load(handle)


def read(*parts):
    with open(os.path.join(REPO, *parts), encoding="utf-8") as handle:
        return handle.read()


def role_names():
    return sorted(name for name in os.listdir(os.path.join(REPO, "roles"))
                  if os.path.isfile(os.path.join(REPO, "roles", name, "meta", "main.yml")))


def cited_licenses():
    """{LICENSES/<file>: [files citing it]} over the collection's text files."""
    cited = {}
    for top, dirs, files in os.walk(REPO):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not os.path.islink(os.path.join(top, d))]
        for name in files:
            path = os.path.join(top, name)
            if name.endswith((".tar.gz", ".img", ".qcow2")) or os.path.islink(path):
                continue
            try:
                with open(path, encoding="utf-8") as handle:
                    text = handle.read()
            except (UnicodeDecodeError, OSError):
                continue
            for ref in set(LICENSE_REF.findall(text)):
                cited.setdefault(ref, []).append(os.path.relpath(path, REPO))
    return cited


def test_the_cited_licence_files_exist():
    cited = cited_licenses()
    assert "LICENSES/GPL-3.0-or-later.txt" in cited
    missing = sorted(ref for ref in cited if not os.path.isfile(os.path.join(REPO, ref)))
    assert missing == [], {ref: cited[ref] for ref in missing}


def test_the_licence_is_the_gpl3_text_and_copying_is_the_same():
    text = read("LICENSES", "GPL-3.0-or-later.txt")
    assert text.lstrip().startswith("GNU GENERAL PUBLIC LICENSE\n                       Version 3, 29 June 2007")
    assert "END OF TERMS AND CONDITIONS" in text
    assert read("COPYING") == text
    assert load("galaxy.yml")["license"] == ["GPL-3.0-or-later"]


def ansible_cores_tested():
    """The ansible-core minor versions the tests run: requirements-dev.txt's and each requirements-core-X.Y.txt."""
    found = []
    for name in ["requirements-dev.txt"] + sorted(os.listdir(REPO)):
        if name == "requirements-dev.txt" or re.fullmatch(r"requirements-core-[\d.]+\.txt", name):
            found += re.findall(r"(?m)^ansible-core==(\d+)\.(\d+)\.", read(name))
    return sorted(set((int(a), int(b)) for a, b in found))


def test_meta_runtime_claims_exactly_the_tested_ansible_cores():
    requires = load("meta", "runtime.yml")["requires_ansible"]
    match = re.fullmatch(r">=(\d+)\.(\d+)\.0,<(\d+)\.(\d+)\.0", requires)
    assert match, requires
    low, high = (int(match.group(1)), int(match.group(2))), (int(match.group(3)), int(match.group(4)))
    cores = ansible_cores_tested()
    assert low == cores[0] and high == (cores[-1][0], cores[-1][1] + 1), (requires, cores)


def test_roles_declare_the_ansible_version_of_meta_runtime():
    requires = load("meta", "runtime.yml")["requires_ansible"]
    match = re.match(r">=\s*(\d+)\.(\d+)(?:\.\d+)?", requires)
    assert match, requires
    wanted = "%s.%s" % match.groups()
    found = {role: str(load("roles", role, "meta", "main.yml")["galaxy_info"]["min_ansible_version"])
             for role in role_names()}
    assert found == dict.fromkeys(role_names(), wanted)


def test_roles_claim_only_the_tested_platforms():
    # Molecule default runs on Debian 12 and 13 (scripts/test), as plugins/module_utils/host/release.py lists them
    wanted = [{"name": "Debian", "versions": [entry["codename"] for entry in SUPPORTED]}]
    assert [entry["id"] for entry in SUPPORTED] == ["debian"] * len(SUPPORTED)
    found = {role: load("roles", role, "meta", "main.yml")["galaxy_info"]["platforms"] for role in role_names()}
    assert found == dict.fromkeys(role_names(), wanted)


def test_roles_carry_the_collection_licence():
    licence = load("galaxy.yml")["license"]
    found = {role: load("roles", role, "meta", "main.yml")["galaxy_info"]["license"] for role in role_names()}
    assert found == dict.fromkeys(role_names(), " ".join(licence))
