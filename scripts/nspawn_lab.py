"""The systemd-container lab: a Debian host with systemd as PID 1, reached over SSH.

    scripts/nspawn-lab up      build (cached) and boot the lab, wait for systemd, print the instance as JSON
    scripts/nspawn-lab down    stop it, leave nothing behind, give the host's hugepages back
    scripts/nspawn-lab status  print the instance as JSON, or exit 1 when it is not running

NFV_LAB_SUITE names its release: trixie (Debian 13, the default) or bookworm
(Debian 12). The rootfs is built once per release with debootstrap into
.cache/lab/rootfs-<suite>-<key>, where <key> hashes everything that goes into it; every `up` boots a fresh copy of it
so a run starts from a bare host. systemd-nspawn shares the host's network
(sshd listens on a free loopback port), kernel and hugepage pools
(/dev/hugepages is bound in); /sys is writable inside. What `up` found in the
host's pools is restored by `down`.
"""

import argparse
import contextlib
import glob
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time

from lab_common import TOP, Lab, alive, free_port, lab_release, mirror, run

CACHE = os.environ.get("NFV_LAB_CACHE", os.path.join(TOP, ".cache", "lab"))
RUN = os.environ.get("NFV_LAB_RUN", "/run/nfv-lab")
NAME = "nfv-lab"
RELEASE = lab_release()
SUITE = RELEASE["codename"]
PACKAGES = ["systemd", "systemd-sysv", "dbus", "python3", "openssh-server", "iproute2", "ca-certificates",
            "procps", "kmod", "udev"]
HUGEPAGES = "/dev/hugepages"
LAB = Lab("nspawn-lab", NAME, CACHE, RUN)
log, key_path, ensure_key, state_path, read_state, ssh_argv = (
    LAB.log, LAB.key_path, LAB.ensure_key, LAB.state_path, LAB.read_state, LAB.ssh_argv)


def rootfs_key():
    with open(__file__) as handle:
        configure = handle.read().split("# -- configure --")[1]
    recipe = json.dumps({"suite": SUITE, "packages": PACKAGES, "mirror": mirror(), "configure": configure})
    return hashlib.sha256(recipe.encode()).hexdigest()[:12]


# -- configure --
def configure_rootfs(root, public_key):
    """Make a debootstrapped tree a bootable, reachable lab host."""
    def write(path, text, mode=0o644):
        full = os.path.join(root, path.lstrip("/"))
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as handle:
            handle.write(text)
        os.chmod(full, mode)

    write("/etc/hostname", NAME + "\n")
    write("/etc/hosts", "127.0.0.1 localhost\n127.0.1.1 %s\n" % NAME)
    write("/root/.ssh/authorized_keys", public_key, 0o600)
    os.chmod(os.path.join(root, "root/.ssh"), 0o700)
    # the port is set at boot from /etc/nfv-lab/port (written by `up`), so one rootfs serves any port
    write("/etc/ssh/sshd_config.d/nfv-lab.conf",
          "Include /etc/nfv-lab/sshd-port.conf\nListenAddress 127.0.0.1\nPermitRootLogin prohibit-password\n"
          "PasswordAuthentication no\nUseDNS no\n")
    # units that have no job in a container sharing the host's network and console
    for unit in ("getty@tty1.service", "console-getty.service", "systemd-networkd.service",
                 "systemd-resolved.service", "systemd-timesyncd.service", "apt-daily.timer",
                 "apt-daily-upgrade.timer", "e2scrub_all.timer", "fstrim.timer"):
        link = os.path.join(root, "etc/systemd/system", unit)
        if not os.path.lexists(link):
            os.symlink("/dev/null", link)
    write("/etc/apt/apt.conf.d/90nfv-lab", 'APT::Install-Recommends "false";\nAcquire::Retries "3";\n')
# -- configure --


def build():
    """The cached golden rootfs, built when missing."""
    public_key = ensure_key()
    golden = os.path.join(CACHE, "rootfs-%s-%s" % (SUITE, rootfs_key()))
    if os.path.exists(os.path.join(golden, ".nfv-lab-complete")):
        return golden
    # older builds of this release go; the other release's build stays
    for stale in (glob.glob(os.path.join(CACHE, "rootfs-%s-*" % SUITE))
                  + glob.glob(os.path.join(CACHE, "rootfs-????????????"))):
        shutil.rmtree(stale, ignore_errors=True)
    partial = golden + ".partial"
    shutil.rmtree(partial, ignore_errors=True)
    log("building the lab rootfs with debootstrap (%s, %s, about two minutes)" % (RELEASE["name"], SUITE))
    run(["debootstrap", "--variant=minbase", "--include=" + ",".join(PACKAGES), SUITE, partial, mirror()],
        stdout=subprocess.DEVNULL)
    configure_rootfs(partial, public_key)
    open(os.path.join(partial, ".nfv-lab-complete"), "w").close()
    os.rename(partial, golden)
    return golden


def instance(state):
    return {"instance": NAME, "address": "127.0.0.1", "user": "root", "port": state["port"],
            "identity_file": key_path(), "pid": state["pid"], "root": state["root"],
            "suite": state.get("suite", "bookworm")}


def pool_files():
    return sorted(glob.glob("/sys/kernel/mm/hugepages/hugepages-*/nr_hugepages")
                  + glob.glob("/sys/devices/system/node/node*/hugepages/hugepages-*/nr_hugepages"))


def read_pools():
    pools = {}
    for path in pool_files():
        with open(path) as handle:
            pools[path] = int(handle.read())
    return pools


def ensure_hugetlbfs():
    os.makedirs(HUGEPAGES, exist_ok=True)
    with open("/proc/mounts") as handle:
        if any(line.split()[1] == HUGEPAGES for line in handle):
            return False
    run(["mount", "-t", "hugetlbfs", "-o", "pagesize=2M", "nodev", HUGEPAGES])
    return True


def up(args):
    state = read_state()
    if state and alive(state["pid"]):
        running = state.get("suite", "bookworm")
        if running != SUITE:
            log("already running %s, not %s (NFV_LAB_SUITE): 'scripts/nspawn-lab down' first" % (running, SUITE))
            return 1
        log("already running %s (pid %d, ssh port %d)" % (running, state["pid"], state["port"]))
        print(json.dumps(instance(state)))
        return 0
    golden = build()
    os.makedirs(RUN, exist_ok=True)
    root = os.path.join(CACHE, "run-rootfs")
    shutil.rmtree(root, ignore_errors=True)
    log("copying the golden rootfs for a fresh boot")
    run(["cp", "-a", "--reflink=auto", golden, root])
    port = args.port or free_port()
    os.makedirs(os.path.join(root, "etc/nfv-lab"), exist_ok=True)
    with open(os.path.join(root, "etc/nfv-lab/sshd-port.conf"), "w") as handle:
        handle.write("Port %d\n" % port)
    mounted = ensure_hugetlbfs()
    env = dict(os.environ, SYSTEMD_NSPAWN_API_VFS_WRITABLE="1", SYSTEMD_NSPAWN_TMPFS_TMP="0")
    with open(os.path.join(RUN, "console.log"), "w") as console:  # the child keeps its own descriptor
        proc = subprocess.Popen(
            ["systemd-nspawn", "-D", root, "-b", "-M", NAME, "--register=no", "--keep-unit",
             "--capability=all", "--bind=" + HUGEPAGES, "--console=passive"],
            env=env, stdin=subprocess.DEVNULL, stdout=console, stderr=subprocess.STDOUT, start_new_session=True)
    state = {"pid": proc.pid, "port": port, "root": root, "pools": read_pools(), "mounted_hugetlbfs": mounted,
             "suite": SUITE}
    with open(state_path(), "w") as handle:
        json.dump(state, handle)
    log("booting %s (pid %d), ssh on 127.0.0.1:%d" % (RELEASE["name"], proc.pid, port))
    deadline = time.time() + args.timeout
    status = None
    while time.time() < deadline:
        if proc.poll() is not None:
            log("systemd-nspawn exited with %s; console log: %s" % (proc.returncode, os.path.join(RUN, "console.log")))
            return 1
        result = subprocess.run(ssh_argv(state, "systemctl", "is-system-running", "--wait"),
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, universal_newlines=True,
                                check=False)
        status = result.stdout.strip()
        if status in ("running", "degraded"):
            break
        time.sleep(1)
    else:
        log("the lab did not come up within %d s (last state %r)" % (args.timeout, status))
        return 1
    if status == "degraded":
        failed = subprocess.run(ssh_argv(state, "systemctl", "--failed", "--no-legend", "--plain"),
                                stdout=subprocess.PIPE, universal_newlines=True, check=False).stdout
        log("systemd is degraded; failed units:\n%s" % failed)
        if args.strict:
            return 1
    log("systemd is %s" % status)
    print(json.dumps(instance(state)))
    return 0


def container_pids(root):
    """Processes whose root directory is the lab's rootfs."""
    pids = []
    real = os.path.realpath(root)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.path.realpath("/proc/%s/root" % entry) == real:
                    pids.append(int(entry))
            except OSError:
                pass
    return pids


def down(args):
    state = read_state()
    if not state:
        log("not running")
        return 0
    pid = state["pid"]
    if alive(pid):
        log("powering off (pid %d)" % pid)
        os.kill(pid, signal.SIGTERM)  # nspawn asks the container's systemd to power off
        deadline = time.time() + 60
        while alive(pid) and time.time() < deadline:
            time.sleep(0.5)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
        if alive(pid):
            log("still running after 60 s: killing")
            os.kill(pid, signal.SIGKILL)
    for leftover in container_pids(state["root"]):
        log("killing leftover process %d" % leftover)
        with contextlib.suppress(OSError):
            os.kill(leftover, signal.SIGKILL)
    with open("/proc/mounts") as handle:
        mounts = [line.split()[1] for line in handle if line.split()[1].startswith(state["root"] + "/")]
    for mount in sorted(mounts, reverse=True):
        subprocess.run(["umount", "-l", mount], check=False)
    for path, count in state["pools"].items():
        try:
            with open(path, "w") as handle:
                handle.write(str(count))
        except OSError as exc:
            log("could not restore %s to %d: %s" % (path, count, exc))
    if state.get("mounted_hugetlbfs"):
        subprocess.run(["umount", HUGEPAGES], check=False, stderr=subprocess.DEVNULL)
    shutil.rmtree(state["root"], ignore_errors=True)
    left = leftovers(state)
    if left:
        log("down left these behind: %s" % "; ".join(left))
        return 1
    os.unlink(state_path())
    log("stopped; nothing left: no process, no mount, no rootfs copy, pools as before")
    return 0


def leftovers(state):
    """What of the lab is still on this machine after down: processes, mounts, its rootfs copy, pools."""
    left = ["process %d" % pid for pid in container_pids(state["root"])]
    with open("/proc/mounts") as handle:
        left += ["mount %s" % line.split()[1] for line in handle
                 if line.split()[1] == state["root"] or line.split()[1].startswith(state["root"] + "/")
                 or (state.get("mounted_hugetlbfs") and line.split()[1] == HUGEPAGES)]
    if os.path.exists(state["root"]):
        left.append("directory %s" % state["root"])
    now = read_pools()
    left += ["%s holds %d pages, %d before the lab" % (path, now.get(path, 0), count)
             for path, count in sorted(state["pools"].items()) if now.get(path, 0) != count]
    return left


def status(args):
    state = read_state()
    if state and alive(state["pid"]):
        print(json.dumps(instance(state)))
        return 0
    log("not running")
    return 1


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p_up = sub.add_parser("up")
    p_up.add_argument("--port", type=int, default=0, help="ssh port (default: a free one)")
    p_up.add_argument("--timeout", type=int, default=180)
    p_up.add_argument("--strict", action="store_true", help="fail when systemd is degraded")
    sub.add_parser("down")
    sub.add_parser("status")
    sub.add_parser("build")
    args = parser.parse_args()
    if args.command == "build":
        print(build())
        return 0
    return {"up": up, "down": down, "status": status}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
