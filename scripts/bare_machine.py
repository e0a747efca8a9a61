"""A bare Debian machine of a release, as a stand-in for a CI machine of that release: README's test command
on it, from a copy of this tree.

    scripts/bare-machine trixie                      scripts/test --stage unit on a bare Debian 13
    scripts/bare-machine bookworm -- --stage unit    the same on Debian 12 (arguments after -- go to scripts/test)

The machine is a debootstrap minbase tree (no Python, no git: what scripts/setup must install itself) in
.cache/bare/<suite>, made afresh on every run, and entered with systemd-nspawn (no boot, the host's network).
The tree's committed files are copied in (git ls-files), so nothing this machine built (.venv, .build) helps.
What the machine's platform gives every machine of its kind, not scripts/setup, is given to it too: the local
CA certificates (/usr/local/share/ca-certificates: a TLS-inspecting egress proxy signs with its own CA; the
ca-certificates package that setup's packages pull in adds them to the bundle) and the variables that point
pip and Python at that bundle. It is removed afterwards unless --keep is given.
"""

import argparse
import os
import shutil
import subprocess
import sys
import time

from lab_common import TOP, mirror, release_table, run

CACHE = os.environ.get("NFV_BARE_CACHE", os.path.join(TOP, ".cache", "bare"))
# the platform's network trust, as a machine of this kind has it
LOCAL_CAS = "/usr/local/share/ca-certificates"
CA_VARIABLES = ("PIP_CERT", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")


def log(msg):
    print("[bare-machine] %s" % msg, file=sys.stderr, flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("suite", choices=[p["codename"] for p in release_table().SUPPORTED])
    parser.add_argument("--keep", action="store_true", help="keep the machine's tree afterwards")
    parser.add_argument("test_args", nargs="*", default=["--stage", "unit"],
                        help="arguments of scripts/test (default: --stage unit)")
    args = parser.parse_args()
    root = os.path.join(CACHE, args.suite)
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(CACHE, exist_ok=True)
    started = time.time()
    log("debootstrap %s (minbase) into %s" % (args.suite, root))
    run(["debootstrap", "--variant=minbase", args.suite, root, mirror()], stdout=subprocess.DEVNULL)
    debootstrapped = time.time()
    work = os.path.join(root, "work", "nfv.dpdk")
    files = subprocess.run(["git", "ls-files", "-z"], cwd=TOP, stdout=subprocess.PIPE, check=True).stdout
    os.makedirs(work)
    run(["cp", "-a", "--parents", "-t", work] + [f for f in files.decode().split("\0") if f], cwd=TOP)
    with open(os.path.join(root, "etc", "os-release")) as handle:
        log("a bare %s: %s" % (args.suite, next(line for line in handle if line.startswith("PRETTY_NAME")).strip()))
    cas = sorted(os.listdir(LOCAL_CAS)) if os.path.isdir(LOCAL_CAS) else []
    if cas:
        shutil.copytree(LOCAL_CAS, os.path.join(root, LOCAL_CAS.lstrip("/")), dirs_exist_ok=True)
    variables = [(name, os.environ[name]) for name in CA_VARIABLES if os.environ.get(name)]
    log("from the platform: CA certificates %s, %s" % (", ".join(cas) or "none",
                                                       ", ".join("%s=%s" % v for v in variables) or "no CA variables"))
    argv = (["systemd-nspawn", "-q", "-D", root, "--register=no", "--keep-unit", "--chdir=/work/nfv.dpdk",
             "--setenv=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "--setenv=LC_ALL=C.UTF-8"]
            + ["--setenv=%s=%s" % v for v in variables]
            + ["./scripts/test"] + args.test_args)
    log("running %s" % " ".join(argv[argv.index("./scripts/test"):]))
    rc = subprocess.run(argv, check=False).returncode
    log("scripts/test exited %d; debootstrap %d s, then %d s in the machine"
        % (rc, debootstrapped - started, time.time() - debootstrapped))
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
