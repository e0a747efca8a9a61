"""A private OVS-DPDK (ovsdb-server + ovs-vswitchd-dpdk) for component tests and benchmarks.

Everything lives in its own run directory: database, sockets, pidfiles, logs,
a private hugetlbfs mount of 2M pages and a directory for vhost-user sockets.
Nothing of the system's Open vSwitch is used or touched.

    from ovs_lab import OvsLab

    with OvsLab() as lab:
        lab.vsctl("add-br", "br0", "--", "set", "Bridge", "br0", "datapath_type=netdev")
        lab.db          # "unix:/tmp/nfvlab-XXXX/db.sock", the OVSDB remote for modules
        lab.vhost_dir   # directory for vhost-user sockets
        lab.log_file    # ovs-vswitchd's log

In a pytest module (the daemon runs only while that module's tests run):

    from ovs_lab import ovs_lab_fixture
    ovs_lab = ovs_lab_fixture()                 # fixture named "ovs_lab", module scope

Network namespace: ovs-vswitchd runs in a network namespace of its own (`lab.netns`), because
the userspace (netdev) datapath creates tap devices (`ovs-netdev`, one per bridge) that would
collide with any other OVS-DPDK on the machine (a container sharing the host network, another
lab). vhost-user sockets are files and work across namespaces.

Hugepages: the lab adds the 2M pages it needs to the current system pool
(current + needed, never an absolute count), mounts them privately with a size
quota, and gives exactly that many back afterwards. The 1G pool is never
touched. CPU: the DPDK main lcore and the PMD thread are pinned (lcore_mask,
pmd_cpu_mask), and an idle PMD sleeps (load-based sleeping) instead of spinning
its core. Cleanup (daemons killed, mount removed, pages returned, run
directory removed) happens on exit even when start-up or the test failed.
"""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid

SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"
VSWITCHD_DPDK = "/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk"
POOL_2M = "/sys/kernel/mm/hugepages/hugepages-2048kB"
IDLE_SLEEP_US = 10000  # the most an idle PMD thread may sleep per iteration (OVS's maximum)


class OvsLabError(RuntimeError):
    pass


def _read_int(path):
    with open(path) as handle:
        return int(handle.read().strip())


def _write(path, value):
    with open(path, "w") as handle:
        handle.write("%s\n" % value)


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); treat it as gone.
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().split(") ", 1)[1][:1] != "Z"
    except (OSError, IndexError):
        return False


def missing_requirements():
    """Why this machine cannot run the lab, or None."""
    if os.geteuid() != 0:
        return "needs root"
    for path in (SCHEMA, VSWITCHD_DPDK, POOL_2M):
        if not os.path.exists(path):
            return "missing %s" % path
    for tool in ("ovsdb-tool", "ovsdb-server", "ovs-vsctl", "ovs-appctl", "ip"):
        if shutil.which(tool) is None:
            return "missing %s" % tool
    return None


class OvsLab:
    """A private OVS-DPDK instance. Use as a context manager (or call start()/stop())."""

    def __init__(self, socket_mem=512, extra_pages=64, lcore_mask="0x1", pmd_cpu_mask="0x2",
                 per_port_memory=False, other_config=None, start_vswitchd=True,
                 base_dir="/tmp", start_timeout=60, netns=True):
        """
        socket_mem: MB of hugepage memory DPDK preallocates (dpdk-socket-mem); also the socket limit
          minus `extra_pages`.
        extra_pages: 2M pages reserved beyond socket_mem for DPDK's own needs.
        per_port_memory: OVS mempool model; False shares one mempool per MTU, which lets hundreds
          of vhost-user ports fit in a small socket-mem.
        other_config: more Open_vSwitch other_config keys set before ovs-vswitchd starts.
        netns: run ovs-vswitchd in a private network namespace (lab.netns); False uses the host's.
        """
        self.socket_mem = int(socket_mem)
        self.pages = self.socket_mem // 2 + int(extra_pages)
        self.lcore_mask = lcore_mask
        self.pmd_cpu_mask = pmd_cpu_mask
        self.per_port_memory = per_port_memory
        self.other_config = dict(other_config or {})
        self.start_vswitchd_on_enter = start_vswitchd
        self.base_dir = base_dir
        self.start_timeout = start_timeout
        self.file_prefix = "nfvlab%d%s" % (os.getpid(), uuid.uuid4().hex[:6])
        self.netns = self.file_prefix if netns else None
        self._netns_created = False

        self.rundir = None
        self._pages_added = 0
        self._mounted = False

    # ---- public paths and strings -------------------------------------------------------
    @property
    def db_sock(self):
        return os.path.join(self.rundir, "db.sock")

    @property
    def db(self):
        """The OVSDB remote string modules take as `db`."""
        return "unix:" + self.db_sock

    @property
    def vhost_dir(self):
        return os.path.join(self.rundir, "vhost")

    @property
    def huge_dir(self):
        return os.path.join(self.rundir, "huge")

    @property
    def log_file(self):
        return os.path.join(self.rundir, "ovs-vswitchd.log")

    @property
    def ovsdb_log_file(self):
        return os.path.join(self.rundir, "ovsdb-server.log")

    @property
    def env(self):
        """Environment that points OVS tools at this instance."""
        env = dict(os.environ)
        env.update({"OVS_RUNDIR": self.rundir, "OVS_LOGDIR": self.rundir, "OVS_DBDIR": self.rundir,
                    "OVS_SYSCONFDIR": self.rundir, "LC_ALL": "C"})
        return env

    def _ctl(self, daemon):
        return os.path.join(self.rundir, "%s.ctl" % daemon)

    def _pidfile(self, daemon):
        return os.path.join(self.rundir, "%s.pid" % daemon)

    # ---- running tools against it -------------------------------------------------------
    def run(self, argv, check=True, timeout=60):
        proc = subprocess.run(argv, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, timeout=timeout, check=False)
        if check and proc.returncode != 0:
            detail = (proc.stderr or proc.stdout).strip()
            raise OvsLabError("%s failed rc=%d: %s" % (" ".join(argv), proc.returncode, detail))
        return proc

    def vsctl(self, *args, check=True, wait=True):
        """ovs-vsctl against this instance; returns stdout. wait=False adds --no-wait."""
        argv = ["ovs-vsctl", "--db=" + self.db, "--timeout=30"]
        if not wait:
            argv.append("--no-wait")
        return self.run(argv + list(args), check=check).stdout

    def appctl(self, *args, target="ovs-vswitchd", check=True):
        return self.run(["ovs-appctl", "-t", self._ctl(target)] + list(args), check=check).stdout

    def list_table(self, table):
        """Rows of a table as dicts (raw OVSDB JSON cells)."""
        doc = json.loads(self.vsctl("--format=json", "--data=json", "list", table, wait=False))
        return [dict(zip(doc["headings"], row)) for row in doc["data"]]

    def dump(self):
        """Full dump of every table (ovsdb-client dump, JSON), for before/after comparisons."""
        out = self.run(["ovsdb-client", "--format=json", "dump", self.db, "Open_vSwitch"]).stdout
        # One JSON document per table, one per line.
        tables = {}
        for raw in out.splitlines():
            line = raw.strip()
            if line:
                doc = json.loads(line)
                tables[doc["caption"]] = doc
        return tables

    def log_tail(self, lines=40):
        try:
            with open(self.log_file) as handle:
                return "".join(handle.readlines()[-lines:])
        except OSError:
            return ""

    # ---- lifecycle ----------------------------------------------------------------------
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def start(self):
        why = missing_requirements()
        if why:
            raise OvsLabError("cannot start a private OVS-DPDK: " + why)
        try:
            self.rundir = tempfile.mkdtemp(prefix="nfvlab-", dir=self.base_dir)
            os.chmod(self.rundir, 0o755)
            os.mkdir(self.vhost_dir, 0o770)
            os.mkdir(self.huge_dir, 0o700)
            if self.netns:
                self.run(["ip", "netns", "add", self.netns])
                self._netns_created = True
            self._reserve_pages()
            self.run(["mount", "-t", "hugetlbfs", "-o", "pagesize=2M,size=%dM" % (self.pages * 2),
                      "nodev", self.huge_dir])
            self._mounted = True
            self._start_ovsdb()
            if self.start_vswitchd_on_enter:
                self.start_vswitchd()
        except BaseException:
            self.stop()
            raise
        return self

    def _reserve_pages(self):
        nr_path = os.path.join(POOL_2M, "nr_hugepages")
        current = _read_int(nr_path)
        _write(nr_path, current + self.pages)
        # Whatever the kernel managed to add is ours to give back, even if short.
        self._pages_added = min(self.pages, max(0, _read_int(nr_path) - current))
        if self._pages_added < self.pages:
            raise OvsLabError("could not reserve %d 2M hugepages (got %d)" % (self.pages, self._pages_added))

    def _release_pages(self):
        if not self._pages_added:
            return
        nr_path = os.path.join(POOL_2M, "nr_hugepages")
        current = _read_int(nr_path)
        _write(nr_path, max(0, current - self._pages_added))
        self._pages_added = 0

    def _start_ovsdb(self):
        conf = os.path.join(self.rundir, "conf.db")
        self.run(["ovsdb-tool", "create", conf, SCHEMA])
        self.run(["ovsdb-server", conf, "--remote=punix:" + self.db_sock,
                  "--pidfile=" + self._pidfile("ovsdb-server"), "--unixctl=" + self._ctl("ovsdb-server"),
                  "--log-file=" + self.ovsdb_log_file, "--detach", "--no-chdir"])
        self.vsctl("init", wait=False)
        config = {
            "dpdk-init": "true",
            "dpdk-socket-mem": str(self.socket_mem),
            "dpdk-socket-limit": str(self.pages * 2),
            "dpdk-lcore-mask": self.lcore_mask,
            "pmd-cpu-mask": self.pmd_cpu_mask,
            "per-port-memory": "true" if self.per_port_memory else "false",
            "dpdk-extra": "--huge-dir=%s --file-prefix=%s" % (self.huge_dir, self.file_prefix),
            # an idle PMD sleeps up to 10 ms instead of spinning its core at 100 % (measured: 6.5 CPU-s
            # in 10 s without, 0.1 with, one vhost-user port, no traffic); the key is pmd-maxsleep in
            # OVS 3.1 and pmd-sleep-max from 3.2 on, and OVS ignores the one it does not know
            "pmd-maxsleep": str(IDLE_SLEEP_US),
            "pmd-sleep-max": str(IDLE_SLEEP_US),
        }
        config.update(self.other_config)
        args = ["set", "Open_vSwitch", "."]
        for key, value in sorted(config.items()):
            args.append('other_config:%s="%s"' % (key, value.replace('"', '\\"')))
        self.vsctl(*args, wait=False)

    def start_vswitchd(self):
        """Start ovs-vswitchd-dpdk and wait until DPDK is initialized and it answers."""
        if self.vswitchd_running():
            return
        prefix = ["ip", "netns", "exec", self.netns] if self.netns else []
        argv = [VSWITCHD_DPDK, self.db, "--pidfile=" + self._pidfile("ovs-vswitchd"),
                "--unixctl=" + self._ctl("ovs-vswitchd"), "--log-file=" + self.log_file, "--detach", "--no-chdir"]
        self.run(prefix + argv, timeout=self.start_timeout)
        deadline = time.time() + self.start_timeout
        while time.time() < deadline:
            root = self.list_table("Open_vSwitch")[0]
            if root.get("dpdk_initialized") is True and root.get("cur_cfg") == root.get("next_cfg"):
                self.appctl("version")
                return
            if not self.vswitchd_running():
                break
            time.sleep(0.2)
        raise OvsLabError("ovs-vswitchd-dpdk did not initialize DPDK:\n" + self.log_tail())

    def _pid(self, daemon):
        try:
            return _read_int(self._pidfile(daemon))
        except (OSError, ValueError, TypeError):
            return None

    def vswitchd_running(self):
        pid = self._pid("ovs-vswitchd") if self.rundir else None
        return bool(pid) and _pid_alive(pid)

    def ovsdb_running(self):
        pid = self._pid("ovsdb-server") if self.rundir else None
        return bool(pid) and _pid_alive(pid)

    def _stop_daemon(self, daemon, timeout=15):
        pid = self._pid(daemon)
        if not pid or not _pid_alive(pid):
            return
        self.run(["ovs-appctl", "-t", self._ctl(daemon), "exit"], check=False, timeout=timeout)
        deadline = time.time() + timeout
        while _pid_alive(pid) and time.time() < deadline:
            time.sleep(0.1)
        if _pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
            deadline = time.time() + 10
            while _pid_alive(pid) and time.time() < deadline:
                time.sleep(0.1)

    def stop_vswitchd(self):
        self._stop_daemon("ovs-vswitchd")

    def stop_ovsdb(self):
        self._stop_daemon("ovsdb-server")

    def start_ovsdb(self):
        """Restart ovsdb-server on the existing database (after stop_ovsdb)."""
        if self.ovsdb_running():
            return
        self.run(["ovsdb-server", os.path.join(self.rundir, "conf.db"), "--remote=punix:" + self.db_sock,
                  "--pidfile=" + self._pidfile("ovsdb-server"), "--unixctl=" + self._ctl("ovsdb-server"),
                  "--log-file=" + self.ovsdb_log_file, "--detach", "--no-chdir"])

    def stop(self):
        """Kill daemons, unmount, give the pages back, remove the run directory. Idempotent."""
        if self.rundir is None:
            return
        errors = []
        for step in (self.stop_vswitchd, self.stop_ovsdb, self._unmount, self._release_pages, self._delete_netns):
            try:
                step()
            except Exception as exc:  # keep cleaning up; report at the end
                errors.append("%s: %s" % (step.__name__, exc))
        if not self._mounted:
            shutil.rmtree(self.rundir, ignore_errors=True)
            self.rundir = None
        if errors:
            raise OvsLabError("OVS lab cleanup incomplete: " + "; ".join(errors))

    def _delete_netns(self):
        if self._netns_created:
            self.run(["ip", "netns", "delete", self.netns])
            self._netns_created = False

    def _unmount(self):
        if not self._mounted:
            return
        for _attempt in range(50):
            proc = self.run(["umount", self.huge_dir], check=False)
            if proc.returncode == 0:
                self._mounted = False
                return
            time.sleep(0.1)
        raise OvsLabError("could not unmount %s" % self.huge_dir)


def ovs_lab_fixture(name="ovs_lab", scope="module", **options):
    """A pytest fixture yielding a started OvsLab(**options); skips when the machine cannot run it.

    In a test module:  ovs_lab = ovs_lab_fixture()
    """
    import pytest

    @pytest.fixture(scope=scope, name=name)
    def _lab():
        why = missing_requirements()
        if why:
            pytest.skip("private OVS-DPDK unavailable: " + why)
        with OvsLab(**options) as lab:
            yield lab

    return _lab
