"""The filter runtime_dir_paths: the controller's side of the runtime directory rules (module_utils/unit_paths.py)."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.nfv.dpdk.plugins.filter.runtime_dir_paths import runtime_dir_paths


def test_paths_come_back_named_for_the_module():
    assert runtime_dir_paths("/run/vhost", "ovs_dpdk_vhost_socket_dir") == [
        {"path": "/run/vhost", "field": "ovs_dpdk_vhost_socket_dir"}]
    assert runtime_dir_paths([], "qemu_vms_socket_dirs") == []
    assert runtime_dir_paths(["/run/a", "/var/run/b"], "qemu_vms_socket_dirs") == [
        {"path": "/run/a", "field": "qemu_vms_socket_dirs[0]"},
        {"path": "/var/run/b", "field": "qemu_vms_socket_dirs[1]"}]


@pytest.mark.parametrize("value, expected", [
    ("/run/systemd/vhost", "ovs_dpdk_vhost_socket_dir /run/systemd/vhost is inside /run/systemd, the runtime "
                           "directory of other software: use a directory of its own like /run/vhost"),
    ("/tmp/vhost", "ovs_dpdk_vhost_socket_dir /tmp/vhost is not a directory of its own below /run"),
    ("/run", "ovs_dpdk_vhost_socket_dir /run is not a directory of its own below /run"),
    ("", "ovs_dpdk_vhost_socket_dir must be an absolute path, got ''"),
    ("/run/a b", "ovs_dpdk_vhost_socket_dir '/run/a b' contains whitespace"),
    (None, "ovs_dpdk_vhost_socket_dir must be a path or a list of paths, got None"),
])
def test_a_bad_directory_fails_naming_the_variable(value, expected):
    with pytest.raises(AnsibleFilterError) as err:
        runtime_dir_paths(value, "ovs_dpdk_vhost_socket_dir")
    assert str(err.value).startswith(expected)


def test_every_bad_entry_of_a_list_is_named():
    with pytest.raises(AnsibleFilterError) as err:
        runtime_dir_paths(["/run/ok", "/var/lib/x", "/run/libvirt/y"], "qemu_vms_socket_dirs")
    assert "qemu_vms_socket_dirs[1] /var/lib/x is not" in str(err.value)
    assert "qemu_vms_socket_dirs[2] /run/libvirt/y is inside /run/libvirt" in str(err.value)


def test_field_is_required():
    with pytest.raises(AnsibleFilterError, match="field must name the variable"):
        runtime_dir_paths("/run/vhost", "")
