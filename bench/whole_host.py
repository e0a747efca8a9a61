# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a run costs when nothing changes: site.yml and drift.yml on the lab against the ping floor.

Needs the lab up and converged (./scripts/lab). Run as root from the tree:

    .venv/bin/python bench/whole_host.py [--fleet 1,8,32] [--repeat 3]

1. Module executions per host: the lab's python3 is wrapped by a program that counts its starts
   (every module execution is one, whatever the output says), and site.yml (a no-op rerun) and
   drift.yml (--check) run once each through it.
2. Time against the floor: a playbook of as many ansible.builtin.ping tasks as the run executed
   modules, same host, same connection settings, run side by side (medians of --repeat runs).
3. A fleet: drift.yml and its floor on N aliases of the lab host (each with an SSH connection of
   its own, forks N; sshd's MaxStartups raised in the lab), wall time and controller CPU per host.

Prints ratios (run / floor, and controller CPU per host at N against N=1); results in bench/results/.
"""

import argparse
import collections
import json
import os
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import yaml

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONNECTION = os.path.join(TOP, ".build", "lab", "connection.yml")
HOST_VARS = os.path.join(TOP, "inventory", "lab", "host_vars", "nfv-lab.yml")
PLAYBOOK = os.path.join(TOP, ".venv", "bin", "ansible-playbook")
# on the lab host: the counting interpreter and its tally (one line per start)
COUNTER_DIR = "/run/nfv-bench"
WRAPPER = COUNTER_DIR + "/python3"
TALLY = COUNTER_DIR + "/executions"
# the module's name is in the AnsiballZ wrapper it is handed (on stdin with pipelining, else as a file):
# the line `module_fqn='...',`; the counter notes it, then runs python3 on the same input
WRAPPER_TEXT = r"""#!/bin/sh
input=$(mktemp)
[ -t 0 ] || cat > "$input"
source=$input
[ -s "$input" ] || source=${1:-$input}
name=$(sed -n "s/^module_fqn='\(.*\)',$/\1/p" "$source" 2>/dev/null | head -n 1)
echo "$$ ${name:-unknown}" >> %s
exec < "$input"
rm -f "$input"
exec /usr/bin/python3 "$@"
""" % TALLY
SSHD_DROPIN = "/etc/ssh/sshd_config.d/90-nfv-bench.conf"
SSHD_TEXT = "# bench/whole_host.py: a fleet of aliases opens many connections at once\nMaxStartups 200:30:400\n"


def lab_connection():
    if not os.path.exists(CONNECTION):
        sys.exit("%s is missing: bring the lab up first (./scripts/lab)" % CONNECTION)
    with open(CONNECTION) as handle:
        hosts = yaml.safe_load(handle)["all"]["hosts"]
    (name, conn), = hosts.items()
    return name, conn


def ssh(conn, argv, stdin=None):
    """Run argv on the lab host over SSH (setup only, not measured)."""
    # ssh hands the remote shell one string: each word quoted, so argv arrives as it is
    command = ["ssh", "-p", str(conn["ansible_port"]), "-i", conn["ansible_private_key_file"],
               "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
               "%s@%s" % (conn["ansible_user"], conn["ansible_host"]), " ".join(shlex.quote(a) for a in argv)]
    return subprocess.run(command, input=stdin, capture_output=True, text=True, check=True).stdout


def prepare_lab(conn):
    """The counting interpreter and a MaxStartups that lets a fleet of aliases connect at once."""
    ssh(conn, ["mkdir", "-p", COUNTER_DIR])
    ssh(conn, ["sh", "-c", 'cat > "$1" && chmod 0755 "$1"', "sh", WRAPPER], stdin=WRAPPER_TEXT)
    if ssh(conn, ["sh", "-c", 'cat "$1" 2>/dev/null || true', "sh", SSHD_DROPIN]) != SSHD_TEXT:
        ssh(conn, ["sh", "-c", 'cat > "$1"', "sh", SSHD_DROPIN], stdin=SSHD_TEXT)
        ssh(conn, ["systemctl", "reload", "ssh"])


def executions(conn):
    """The modules the host ran so far, one name per execution."""
    tally = ssh(conn, ["sh", "-c", 'cat "$1" 2>/dev/null || true', "sh", TALLY])
    return [line.split(" ", 1)[-1] for line in tally.splitlines() if line.strip()]


def inventory(workdir, conn, count, counted):
    """N aliases of the lab host in group dpdk_hosts, each its own SSH connection and the lab's description."""
    with open(HOST_VARS) as handle:
        description = yaml.safe_load(handle)
    hosts = {}
    for index in range(count):
        alias = "nfv-bench-%d" % index
        host = dict(conn, ansible_control_path_dir=os.path.join(workdir, "ssh", alias))
        if counted:
            host["ansible_python_interpreter"] = WRAPPER
        hosts[alias] = host
    path = os.path.join(workdir, "inventory-%d-%s.yml" % (count, "counted" if counted else "timed"))
    with open(path, "w") as handle:
        yaml.safe_dump({"all": {"children": {"dpdk_hosts": {"hosts": hosts, "vars": description}}}}, handle)
    return path


def ping_playbook(workdir, tasks):
    path = os.path.join(workdir, "ping-%d.yml" % tasks)
    play = [{"name": "The floor: as many pings as the run executed modules", "hosts": "dpdk_hosts",
             "gather_facts": False,
             "tasks": [{"name": "Ping %d" % i, "ansible.builtin.ping": {}} for i in range(tasks)]}]
    with open(path, "w") as handle:
        yaml.safe_dump(play, handle)
    return path


def run(workdir, argv, forks):
    """(wall seconds, controller CPU seconds, output) of one ansible-playbook run."""
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(TOP, "ansible.cfg"), ANSIBLE_FORKS=str(forks),
               ANSIBLE_CALLBACKS_ENABLED="nfv.dpdk.change_report",
               NFV_DPDK_CHANGE_REPORT=os.path.join(workdir, "report.json"),
               PATH=os.path.join(TOP, ".venv", "bin") + os.pathsep + os.environ["PATH"])
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    done = subprocess.run([PLAYBOOK] + argv, check=False, cwd=TOP, env=env, capture_output=True, text=True)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        sys.exit("ansible-playbook %s failed (%d):\n%s" % (" ".join(argv), done.returncode, done.stdout[-4000:]))
    return wall, cpu, done.stdout


def unchanged(output):
    """True when every host's recap says changed=0."""
    recap = output.split("PLAY RECAP", 1)[-1]
    return all("changed=0" in line for line in recap.splitlines() if "ok=" in line)


def site_argv(inv):
    return ["-i", inv, os.path.join(TOP, "playbooks", "site.yml"), "-e", "nfv_dpdk_targets=dpdk_hosts"]


def drift_argv(inv):
    return ["--check", "--diff", "-i", inv, os.path.join(TOP, "playbooks", "drift.yml"),
            "-e", "nfv_dpdk_targets=dpdk_hosts"]


def count(workdir, conn, name, argv_of):
    """Module executions on the host for one run of a playbook on one alias."""
    inv = inventory(workdir, conn, 1, counted=True)
    start = len(executions(conn))
    _wall, _cpu, output = run(workdir, argv_of(inv), 1)
    if not unchanged(output):
        sys.exit("%s changed the lab: converge it first (./scripts/lab)\n%s" % (name, output[-3000:]))
    ran = executions(conn)[start:]
    by_module = collections.Counter(module.replace("ansible_collections.", "").replace(".plugins.modules.", ".")
                                    for module in ran)
    return len(ran), dict(by_module)


def median_pair(workdir, argv, floor_argv, forks, repeat):
    """Medians of (wall, cpu) for the run and for the floor, alternated so that drift in the machine hits both."""
    runs, floors = [], []
    for _run in range(repeat):
        runs.append(run(workdir, argv, forks)[:2])
        floors.append(run(workdir, floor_argv, forks)[:2])
    return medians(runs), medians(floors)


def medians(pairs):
    return statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fleet", default="1,8,32", help="inventory sizes for the drift benchmark")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (medians)")
    args = parser.parse_args()
    fleet = [int(n) for n in args.fleet.split(",")]
    _name, conn = lab_connection()
    prepare_lab(conn)
    workdir = tempfile.mkdtemp(prefix="nfv-bench-")
    results = {"executions": {}, "modules": {}, "single": {}, "fleet": {}}
    try:
        for name, argv_of in (("site.yml", site_argv), ("drift.yml", drift_argv)):
            tasks, by_module = count(workdir, conn, name, argv_of)
            results["executions"][name] = tasks
            results["modules"][name] = by_module
            inv = inventory(workdir, conn, 1, counted=False)
            (wall, _c), (floor, _f) = median_pair(workdir, argv_of(inv), ["-i", inv, ping_playbook(workdir, tasks)],
                                                  1, args.repeat)
            results["single"][name] = {"wall": wall, "floor": floor, "ratio": wall / floor}
            print("%-9s %3d module executions per host; no-op run %.2fx the floor of %d pings (%.1f s vs %.1f s)"
                  % (name, tasks, wall / floor, tasks, wall, floor))
            print("          " + ", ".join("%s %d" % item for item in sorted(by_module.items(), key=lambda i: -i[1])))
        tasks = results["executions"]["drift.yml"]
        for size in fleet:
            inv = inventory(workdir, conn, size, counted=False)
            (wall, cpu), (floor, floor_cpu) = median_pair(
                workdir, drift_argv(inv), ["-i", inv, ping_playbook(workdir, tasks)], size, args.repeat)
            results["fleet"][size] = {"wall": wall, "cpu_per_host": cpu / size, "floor_wall": floor,
                                      "floor_cpu_per_host": floor_cpu / size}
        base = results["fleet"].get(1) or results["fleet"][fleet[0]]
        print("drift.yml across a fleet (aliases of the lab host, forks = N):")
        print("  %4s  %12s  %16s  %22s" % ("N", "wall / floor", "CPU/host / floor", "CPU/host vs smallest N"))
        for size, row in results["fleet"].items():
            print("  %4d  %11.2fx  %15.2fx  %21.2fx" % (
                size, row["wall"] / row["floor_wall"], row["cpu_per_host"] / row["floor_cpu_per_host"],
                row["cpu_per_host"] / base["cpu_per_host"]))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(os.path.join(TOP, "bench", "results"), exist_ok=True)
    out = os.path.join(TOP, "bench", "results", "whole_host.json")
    with open(out, "w") as handle:
        json.dump(results, handle, indent=2, sort_keys=True)
    print("results: %s" % os.path.relpath(out, TOP))


if __name__ == "__main__":
    main()
