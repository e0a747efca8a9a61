"""Benchmark: N dpdkvhostuserclient ports on one netdev bridge, first converge and no-op rerun.

Compared on ONE private OVS-DPDK (tests/component/ovs_lab.py), each run a full ansible-playbook:
  (a) nfv.dpdk.ovs_bridge                      one task, one OVSDB transaction
  (b) the floor: ansible.builtin.command       one task running one ovs-vsctl transaction
  (c) openvswitch.openvswitch                  openvswitch_bridge + an openvswitch_port loop

The peer collection comes from the ansible==10.7.0 wheel on PyPI (pip download into .cache/bench,
only ansible_collections/openvswitch/openvswitch unpacked into a bench-only collections path).
Every variant starts from a bridge-less database; each run's outcome is checked in OVSDB.

Run as root:  .venv/bin/python bench/ovs_ports.py [--sizes 64 256] [--peer-max 256]
Not part of CI.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import zipfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(REPO, "tests", "component"), os.path.join(REPO, "tests")]

from module_call import ansible_env  # noqa: E402
from ovs_lab import OvsLab  # noqa: E402

CACHE = os.path.join(REPO, ".cache", "bench")
PEER_COLLECTIONS = os.path.join(CACHE, "collections")
PEER_WHEEL = "ansible-10.7.0-py3-none-any.whl"
PEER_PREFIX = "ansible_collections/openvswitch/openvswitch/"
BRIDGE = "br-bench"
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable


def ensure_peer():
    marker = os.path.join(PEER_COLLECTIONS, PEER_PREFIX, "plugins", "modules", "openvswitch_port.py")
    if os.path.exists(marker):
        return
    os.makedirs(CACHE, exist_ok=True)
    wheel = os.path.join(CACHE, PEER_WHEEL)
    if not os.path.exists(wheel):
        subprocess.run([os.path.join(REPO, ".venv", "bin", "pip"), "download", "--no-deps", "ansible==10.7.0",
                        "-d", CACHE], check=True)
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(PEER_COLLECTIONS, [n for n in archive.namelist() if n.startswith(PEER_PREFIX)])


def ports(lab, count):
    return [{"name": "vhu%d" % i, "type": "dpdkvhostuserclient",
             "options": {"vhost-server-path": "%s/vhu%d.sock" % (lab.vhost_dir, i)}} for i in range(count)]


def play(tasks, extra_vars=None):
    return [{"hosts": "localhost", "connection": "local", "gather_facts": False,
             "vars": dict({"ansible_python_interpreter": PYTHON}, **(extra_vars or {})), "tasks": tasks}]


def playbook_ours(lab, count):
    return play([{"name": "bridge", "nfv.dpdk.ovs_bridge": {
        "db": lab.db, "name": BRIDGE, "datapath_type": "netdev", "ports": "{{ bench_ports }}"}}],
        {"bench_ports": ports(lab, count)})


def playbook_floor(lab, count):
    argv = ["ovs-vsctl", "--db=" + lab.db, "--timeout=120", "--may-exist", "add-br", BRIDGE,
            "--", "set", "Bridge", BRIDGE, "datapath_type=netdev"]
    for port in ports(lab, count):
        argv += ["--", "--may-exist", "add-port", BRIDGE, port["name"],
                 "--", "set", "Interface", port["name"], "type=dpdkvhostuserclient",
                 "options:vhost-server-path=" + port["options"]["vhost-server-path"]]
    return play([{"name": "one ovs-vsctl transaction", "ansible.builtin.command": {"argv": argv}}])


def playbook_peer(lab, count):
    return play([
        {"name": "bridge", "openvswitch.openvswitch.openvswitch_bridge": {
            "bridge": BRIDGE, "database_socket": lab.db, "set": "Bridge %s datapath_type=netdev" % BRIDGE}},
        {"name": "ports", "openvswitch.openvswitch.openvswitch_port": {
            "bridge": BRIDGE, "port": "{{ item.name }}", "database_socket": lab.db, "timeout": 30,
            "set": ["Interface {{ item.name }} type=dpdkvhostuserclient "
                    "options:vhost-server-path={{ item.options['vhost-server-path'] }}"]},
         "loop": "{{ bench_ports }}"},
    ], {"bench_ports": ports(lab, count)})


VARIANTS = [("a", "nfv.dpdk.ovs_bridge", playbook_ours),
            ("b", "floor: one ovs-vsctl via command", playbook_floor),
            ("c", "openvswitch.openvswitch loop", playbook_peer)]


def run_playbook(book, tmp):
    path = os.path.join(tmp, "bench.yml")
    with open(path, "w") as handle:
        json.dump(book, handle)
    env = ansible_env({"ANSIBLE_COLLECTIONS_PATH": os.pathsep.join(
        [os.path.join(REPO, ".build", "collections"), PEER_COLLECTIONS])})
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    proc = subprocess.run([os.path.join(REPO, ".venv", "bin", "ansible-playbook"), "-i", "localhost,", path],
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                          check=False)
    elapsed = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        raise SystemExit("playbook failed:\n" + proc.stdout[-4000:])
    return elapsed, cpu, proc.stdout


def verify(lab, count, what):
    rows = [r for r in lab.list_table("Interface") if r["type"] == "dpdkvhostuserclient"]
    good = [r for r in rows if r["error"] == ["set", []] and isinstance(r["ofport"], int) and r["ofport"] > 0]
    if len(rows) != count or len(good) != count:
        root = lab.list_table("Open_vSwitch")[0]
        raise SystemExit("%s: expected %d working vhost-user ports, found %d (%d with an ofport and no error); "
                         "e.g. %s; cur_cfg %s next_cfg %s; ovs-vswitchd running: %s\n%s"
                         % (what, count, len(rows), len(good),
                            [(r["name"], r["error"], r["ofport"]) for r in rows[:2]],
                            root["cur_cfg"], root["next_cfg"], lab.vswitchd_running(), lab.log_tail(30)))


def median(values):
    values = sorted(values)
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


def reset(lab):
    lab.vsctl("--if-exists", "del-br", BRIDGE)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--peer-max", type=int, default=256,
                        help="skip (c) above this N (it runs one ovs-vsctl per port)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of (a) and (b) per N; the median counts")
    parser.add_argument("--peer-repeat", type=int, default=2, help="runs of (c) at N <= 64; one above (it is slow)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root (private OVS-DPDK, hugepages)")
    ensure_peer()
    results = {}
    with OvsLab(socket_mem=512) as lab, tempfile.TemporaryDirectory(prefix="nfv-bench-") as tmp:
        for count in args.sizes:
            # (a) and (b) back to back, `repeat` times; (c) in the first `peer_repeat` repetitions,
            # between the (a) of its repetition and the next one. Ratios are taken within those pairs,
            # so that load from other work on this 2-core machine (one core taken by the PMD) cancels out.
            for rep in range(args.repeat):
                for key, label, builder in VARIANTS:
                    peer_runs = args.peer_repeat if count <= 64 else 1
                    if key == "c" and (count > args.peer_max or rep >= peer_runs):
                        if rep == 0:
                            print("N=%d (%s) %s: skipped (--peer-max %d)" % (count, key, label, args.peer_max),
                                  flush=True)
                        continue
                    reset(lab)
                    book = builder(lab, count)
                    first, first_cpu, _out = run_playbook(book, tmp)
                    verify(lab, count, "N=%d (%s) first" % (count, key))
                    rerun, rerun_cpu, out = run_playbook(book, tmp)
                    verify(lab, count, "N=%d (%s) rerun" % (count, key))
                    if key == "a" and "changed=0" not in out:
                        raise SystemExit("nfv.dpdk.ovs_bridge rerun was not a no-op:\n" + out[-2000:])
                    results.setdefault((count, key), []).append(
                        {"first": first, "rerun": rerun, "first_cpu": first_cpu, "rerun_cpu": rerun_cpu})
                    print("N=%d (%s) %-34s first %7.2f s (cpu %6.2f)   rerun %7.2f s (cpu %6.2f)"
                          % (count, key, label, first, first_cpu, rerun, rerun_cpu), flush=True)
            reset(lab)

    print()
    print("Wall-clock seconds of whole ansible-playbook runs (medians); ratios are medians of ratios within")
    print("back-to-back pairs ((a)/(b) in each repetition; (c) against the mean of the (a) runs just before and")
    print("after it). cpu: user+sys seconds of ansible-playbook and everything it ran (ovs-vswitchd excluded),")
    print("a cross-check that other load barely moves. Load average at the end: %.2f" % os.getloadavg()[0])
    figures = []
    for unit in ("", "_cpu"):
        print()
        print("%s" % ("wall clock" if not unit else "cpu time"))
        print("%6s %-6s %9s %9s %9s %10s %10s" % ("N", "run", "(a) s", "(b) s", "(c) s", "(a)/(b)", "(c)/(a)"))
        for count in args.sizes:
            for run in ("first", "rerun"):
                field = run + unit
                a_runs = [r[field] for r in results[(count, "a")]]
                b_runs = [r[field] for r in results[(count, "b")]]
                c_runs = [r[field] for r in results.get((count, "c"), [])]
                a_over_b = median([x / y for x, y in zip(a_runs, b_runs)])
                c_over_a = None
                if c_runs:
                    c_over_a = median([c / ((a_runs[i] + a_runs[min(i + 1, len(a_runs) - 1)]) / 2)
                                       for i, c in enumerate(c_runs)])
                a, b = median(a_runs), median(b_runs)
                c = median(c_runs) if c_runs else None
                figures.append({"n": count, "run": run, "measure": "cpu" if unit else "wall", "a": a, "b": b,
                                "c": c, "a_over_b": a_over_b, "c_over_a": c_over_a,
                                "a_runs": a_runs, "b_runs": b_runs, "c_runs": c_runs})
                print("%6d %-6s %9.2f %9.2f %9s %10.2f %10s" % (
                    count, run, a, b, "%.2f" % c if c is not None else "skipped", a_over_b,
                    "%.1f" % c_over_a if c_over_a is not None else "-"))
    figures_all = figures
    figures = [f for f in figures_all if f["measure"] == "wall"]
    goal_ab = all(f["a_over_b"] <= 1.5 for f in figures)
    peer_64 = [f["c_over_a"] for f in figures if f["n"] == 64 and f["c_over_a"] is not None]
    goal_ca = ("met" if all(r >= 15 for r in peer_64) else "NOT met") if peer_64 else "not measured"
    print()
    print("goals, on wall clock:")
    print("goal (a)/(b) <= 1.5 for both runs at every N: %s" % ("met" if goal_ab else "NOT met"))
    print("goal (c)/(a) >= 15 at N=64 (both runs): %s" % goal_ca)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(figures_all, handle, indent=2)


if __name__ == "__main__":
    main()
