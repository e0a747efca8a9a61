"""runtime_dirs: the rules of a runtime directory (unit_paths), checked on a root tree, created and removed for real.

The tests run as root (as the module does) on a temporary tree that HostFS maps as '/': directories are really
created, chowned, chmodded and removed, so the owner, symlink and world-writable checks meet the real kernel.
"""

import grp
import os
import socket
import stat

import pytest

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.host.hostfs import HostFS
from ansible_collections.nfv.dpdk.plugins.module_utils.runtime import runtime_dirs
from ansible_collections.nfv.dpdk.plugins.module_utils.runtime.runtime_dirs import RuntimeDirs, checked_paths
from ansible_collections.nfv.dpdk.plugins.module_utils.runtime.unit_paths import run_dir_problem

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="creates root:<group> directories")
GROUP = grp.getgrgid(1).gr_name  # daemon on Debian: a real group other than root


class FakeModule:
    def __init__(self, check_mode=False, **params):
        self.params = dict({"state": "present", "group": GROUP, "mode": "0770", "sockets": [], "removed_before": []},
                           **params)
        self.check_mode = check_mode
        self._diff = True
        self.warnings = []

    def warn(self, text):
        self.warnings.append(text)


def run_with_module(root, check_mode=False, **params):
    params["paths"] = [p if isinstance(p, dict) else {"path": p, "field": None} for p in params["paths"]]
    module = FakeModule(check_mode=check_mode, **params)
    return RuntimeDirs(module, fs=HostFS(str(root)), runner=object()).run(), module


def run(root, check_mode=False, **params):
    return run_with_module(root, check_mode=check_mode, **params)[0]


@pytest.fixture
def root(tmp_path):
    os.chmod(str(tmp_path), 0o755)
    (tmp_path / "run").mkdir(mode=0o755)
    (tmp_path / "var").mkdir(mode=0o755)
    os.symlink("../run", str(tmp_path / "var" / "run"))
    return tmp_path


def make_socket(path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    sock.close()


@pytest.mark.parametrize("path, expected", [
    ("/run/vhost", None),
    ("/var/run/vhost", None),
    ("/run/nfv/vhost", None),
    ("/run", "not a directory of its own below /run"),
    ("/var/run", "not a directory of its own below /run"),
    ("/tmp/vhost", "not a directory of its own below /run"),
    ("/var/lib/nfv-qemu", "not a directory of its own below /run"),
    ("/etc", "not a directory of its own below /run"),
    ("/", "not a directory of its own below /run"),
    ("run/vhost", "must be an absolute path"),
    ("/run/vhost/", "not a normalized path"),
    ("/run/../etc", "not a normalized path"),
    ("/run//vhost", "not a normalized path"),
    ("/run/my vhost", "contains whitespace"),
    ("/run/%t", "contains whitespace"),
    ("/run/systemd/vhost", "inside /run/systemd, the runtime directory of other software"),
    ("/var/run/openvswitch", "inside /var/run/openvswitch"),
    ("/run/user/1000/vhost", "inside /run/user"),
    ("/run/nfv-dpdk", "inside /run/nfv-dpdk"),
])
def test_run_dir_rules(path, expected):
    why = run_dir_problem("ovs_dpdk_vhost_socket_dir", path)
    if expected is None:
        assert why is None
    else:
        assert why.startswith("ovs_dpdk_vhost_socket_dir") and expected in why


def test_checked_paths_names_each_entry_and_every_problem():
    assert checked_paths("/run/vhost", "v") == [{"path": "/run/vhost", "field": "v"}]
    assert checked_paths(["/run/a", "/run/b"], "d") == [{"path": "/run/a", "field": "d[0]"},
                                                        {"path": "/run/b", "field": "d[1]"}]
    with pytest.raises(NfvError) as err:
        checked_paths(["/run/a", "/etc/x", "/run/systemd/y"], "qemu_vms_socket_dirs")
    assert err.value.details["problems"][0].startswith("qemu_vms_socket_dirs[1] /etc/x is not")
    assert err.value.details["problems"][1].startswith("qemu_vms_socket_dirs[2] /run/systemd/y is inside")
    with pytest.raises(NfvError, match="must be a path or a list"):
        checked_paths({"a": 1}, "v")


def test_creates_root_group_directory_then_changes_nothing(root):
    result = run(root, check_mode=True, paths=[{"path": "/run/vhost", "field": "ovs_dpdk_vhost_socket_dir"}])
    assert result["changed"] and not (root / "run" / "vhost").exists()
    assert result["changes"] == [{"key": "/run/vhost", "action": "create", "before": None,
                                  "after": {"owner": "root", "group": GROUP, "mode": "0770"}}]
    real = run(root, paths=["/run/vhost"])
    assert real["changes"] == result["changes"]
    info = os.lstat(str(root / "run" / "vhost"))
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (0, 1, 0o770)
    again = run(root, paths=["/run/vhost"])
    assert again["changed"] is False and again["changes"] == []


def test_missing_parents_are_made_root_root_0755(root):
    result = run(root, paths=["/var/run/nfv/vhost"])
    assert [c["key"] for c in result["changes"]] == ["/var/run/nfv", "/var/run/nfv/vhost"]
    parent = os.lstat(str(root / "run" / "nfv"))
    assert (parent.st_uid, parent.st_gid, stat.S_IMODE(parent.st_mode)) == (0, 0, 0o755)
    assert os.lstat(str(root / "run" / "nfv" / "vhost")).st_gid == 1


def test_an_existing_directory_gets_the_mode_but_is_never_reowned(root):
    path = root / "run" / "vhost"
    path.mkdir(mode=0o700)
    os.chown(str(path), 0, 1)
    result = run(root, paths=["/run/vhost"])
    assert result["changes"] == [{"key": "/run/vhost", "action": "chmod", "before": {"mode": "0700"},
                                  "after": {"mode": "0770"}}]
    assert stat.S_IMODE(os.lstat(str(path)).st_mode) == 0o770
    os.chown(str(path), 0, 0)
    with pytest.raises(NfvError, match="v: /run/vhost exists with group root, not %s: the collection never re-owns"
                       % GROUP):
        run(root, paths=[{"path": "/run/vhost", "field": "v"}])
    os.chown(str(path), 1, 1)
    with pytest.raises(NfvError, match="belongs to uid 1, not root"):
        run(root, paths=["/run/vhost"])


def test_refused_on_the_host_before_any_change(root):
    (root / "elsewhere").mkdir()
    os.symlink("../elsewhere", str(root / "run" / "link"))
    (root / "run" / "file").write_text("x")
    (root / "run" / "user1").mkdir()
    os.chown(str(root / "run" / "user1"), 1000, 1000)
    cases = [
        ("/run/link", "is a symbolic link, not a directory"),
        ("/run/link/vhost", "leads through /run/link, a symbolic link"),
        ("/run/file", "is a file, not a directory"),
        ("/run/file/vhost", "leads through /run/file, a file"),
        ("/run/user1/vhost", "below /run/user1, which belongs to uid 1000, not root"),
    ]
    for path, expected in cases:
        with pytest.raises(NfvError) as err:
            run(root, paths=[{"path": "/run/ok", "field": "a"}, {"path": path, "field": "b"}])
        assert err.value.msg.startswith("b: ") and expected in err.value.msg, err.value.msg
        assert not (root / "run" / "ok").exists()  # the good directory of the same call was not made either
    assert not (root / "elsewhere" / "vhost").exists()


@pytest.mark.parametrize("mode, sticky", [(0o777, ""), (0o1777, " (sticky, like /tmp)")])
def test_a_world_writable_parent_is_refused_sticky_or_not(root, mode, sticky):
    os.chmod(str(root / "run"), mode)
    with pytest.raises(NfvError) as err:
        run(root, paths=[{"path": "/run/vhost", "field": "ovs_dpdk_vhost_socket_dir"}], check_mode=True)
    assert err.value.msg == ("ovs_dpdk_vhost_socket_dir: /run/vhost is below /run, which every user may write in%s: "
                             "another user could put anything in its place; use a directory below /run whose "
                             "parents only root writes" % sticky)
    with pytest.raises(NfvError, match="every user may write in"):
        run(root, paths=["/run/vhost"], state="absent")
    assert not (root / "run" / "vhost").exists()


def test_bad_options_are_refused_before_the_host_is_read(root):
    for params, expected in [
        ({"mode": "0777"}, "mode 0777 lets every user write"),
        ({"mode": "rwx"}, "mode must be an octal mode"),
        ({"group": None}, "group is required with state=present"),
        ({"sockets": ["/run/vhost/a.sock"]}, "sockets are removed with state=absent only"),
        ({"state": "absent", "sockets": ["/run/other/a.sock"]}, "sockets[0] /run/other/a.sock is not directly in"),
        ({"paths": ["/run/systemd/x"]}, "paths[0] /run/systemd/x is inside /run/systemd"),
    ]:
        with pytest.raises(NfvError, match=expected.replace("[", r"\[").replace("]", r"\]")):
            run(root, **dict({"paths": ["/run/vhost"]}, **params))


def test_absent_removes_its_sockets_and_the_empty_directory(root):
    run(root, paths=["/run/vhost"])
    make_socket(root / "run" / "vhost" / "vm1.sock")
    check = run(root, check_mode=True, state="absent", paths=["/run/vhost", "/run/never-made"],
                sockets=["/run/vhost/vm1.sock", "/run/vhost/vm2.sock"])
    assert [(c["key"], c["action"]) for c in check["changes"]] == [("/run/vhost/vm1.sock", "unlink"),
                                                                   ("/run/vhost", "rmdir")]
    assert (root / "run" / "vhost" / "vm1.sock").exists()
    real = run(root, state="absent", paths=["/run/vhost", "/run/never-made"],
               sockets=["/run/vhost/vm1.sock", "/run/vhost/vm2.sock"])
    assert real["changes"] == check["changes"] and not (root / "run" / "vhost").exists()
    again = run(root, state="absent", paths=["/run/vhost"], sockets=["/run/vhost/vm1.sock"])
    assert again["changed"] is False


def test_absent_never_removes_what_it_did_not_make(root):
    run(root, paths=["/run/vhost"])
    make_socket(root / "run" / "vhost" / "vm1.sock")
    (root / "run" / "vhost" / "vm2.sock").write_text("a file, not a socket")
    (root / "run" / "vhost" / "keep").mkdir()
    (root / "run" / "vhost" / "keep" / "data").write_text("someone else's")
    params = dict(state="absent", paths=[{"path": "/run/vhost", "field": "ovs_dpdk_vhost_socket_dir"}],
                  sockets=["/run/vhost/vm1.sock", "/run/vhost/vm2.sock"])
    result, module = run_with_module(root, **params)
    assert [(c["key"], c["action"]) for c in result["changes"]] == [("/run/vhost/vm1.sock", "unlink")]
    assert sorted(os.listdir(str(root / "run" / "vhost"))) == ["keep", "vm2.sock"]
    assert (root / "run" / "vhost" / "keep" / "data").read_text() == "someone else's"
    assert result["kept"] == [{"path": "/run/vhost", "field": "ovs_dpdk_vhost_socket_dir",
                               "entries": ["keep", "vm2.sock"]}]
    assert "/run/vhost/vm2.sock is a file, not a socket the collection made: left in place" in module.warnings[0]
    assert module.warnings[1].startswith("ovs_dpdk_vhost_socket_dir: /run/vhost is left in place: it holds "
                                         "2 entries the collection did not make (keep, vm2.sock)")
    again = run(root, **params)
    assert again["changed"] is False


def test_absent_takes_root_root_and_nested_directories_deepest_first(root):
    (root / "run" / "nfv-qemu").mkdir(mode=0o755)  # as systemd leaves a guest's RuntimeDirectory= parent
    run(root, paths=["/run/nfv-qemu/vhost"])
    result = run(root, state="absent", paths=["/run/nfv-qemu", "/run/nfv-qemu/vhost"])
    assert [(c["key"], c["action"]) for c in result["changes"]] == [
        ("/run/nfv-qemu/vhost", "rmdir"), ("/run/nfv-qemu", "rmdir")]
    assert not (root / "run" / "nfv-qemu").exists()
    (root / "run" / "other").mkdir()
    os.chown(str(root / "run" / "other"), 0, 54321)  # a group the host does not have
    with pytest.raises(NfvError, match="exists with group 54321: it is not a directory the collection made"):
        run(root, state="absent", paths=["/run/other"])
    assert (root / "run" / "other").exists()


def test_absent_takes_a_guests_own_socket_directory_of_its_accounts_group(root, monkeypatch):
    """/run/vhost/vm1 as vm1's unit makes it: root:<vm1's account>; a directory of another group stays refused."""
    nogroup = grp.getgrnam("nogroup")
    monkeypatch.setattr(runtime_dirs, "guest_account", lambda name: "nogroup" if name == "vm1" else "x-" + name)
    run(root, paths=["/run/vhost"])
    for name in ("vm1", "vm2"):
        (root / "run" / "vhost" / name).mkdir(mode=0o770)
        os.chown(str(root / "run" / "vhost" / name), 0, nogroup.gr_gid)
    make_socket(root / "run" / "vhost" / "vm1" / "net0.sock")
    paths = ["/run/vhost/vm1", "/run/vhost"]
    check = run(root, check_mode=True, state="absent", paths=paths, sockets=["/run/vhost/vm1/net0.sock"])
    assert [(c["key"], c["action"]) for c in check["changes"]] == [("/run/vhost/vm1/net0.sock", "unlink"),
                                                                   ("/run/vhost/vm1", "rmdir")]
    with pytest.raises(NfvError, match="/run/vhost/vm2 exists with group nogroup: it is not a directory the"):
        run(root, state="absent", paths=["/run/vhost/vm2"])
    real = run(root, state="absent", paths=paths, sockets=["/run/vhost/vm1/net0.sock"])
    assert real["changes"] == check["changes"] and not (root / "run" / "vhost" / "vm1").exists()


def test_absent_counts_what_earlier_steps_remove_as_gone(root):
    """The guests' RuntimeDirectory= in the run directory: there in check mode, gone in the real run."""
    run(root, paths=["/run/nfv-qemu"])
    (root / "run" / "nfv-qemu" / "vm1").mkdir()
    check = run(root, check_mode=True, state="absent", paths=["/run/nfv-qemu"], removed_before=["/run/nfv-qemu/vm1"])
    assert [(c["key"], c["action"]) for c in check["changes"]] == [("/run/nfv-qemu", "rmdir")]
    (root / "run" / "nfv-qemu" / "vm1").rmdir()  # as systemd does when the guest stops
    real = run(root, state="absent", paths=["/run/nfv-qemu"], removed_before=["/run/nfv-qemu/vm1"])
    assert real["changes"] == check["changes"] and not (root / "run" / "nfv-qemu").exists()
    with pytest.raises(NfvError, match="removed_before goes with state=absent only"):
        run(root, paths=["/run/nfv-qemu"], removed_before=["/run/nfv-qemu/vm1"])
