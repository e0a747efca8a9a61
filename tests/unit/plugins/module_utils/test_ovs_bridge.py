"""ovs_bridge planning, validation and the one-transaction argv, on OVSDB JSON as ovs-vsctl prints it."""

import json

import pytest

from ansible_collections.nfv.dpdk.plugins.module_utils.core.errors import NfvError
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.bridge_plan import plan_bridge, predicted_ports
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.bridge_state import (
    BRIDGE_COLUMNS,
    INTERFACE_COLUMNS,
    PORT_COLUMNS,
    index_state,
)
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.bridge_transaction import map_literal, q, transaction_args
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.bridge_validation import validate
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.ovs_bridge import OvsBridge
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.ovsdb import list_tables, rundir_of
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.port_validation import PORT_SPEC


def doc(columns, rows):
    return json.dumps({"headings": columns, "data": rows})


def ovs_map(values):
    return ["map", [[k, v] for k, v in sorted(values.items())]]


EMPTY = ["set", []]


def interface_row(uuid, name, kind="", options=None, mtu=None, error=None, ofport=1, ext=None):
    mtu = EMPTY if mtu is None else mtu
    error = EMPTY if error is None else error
    return [["uuid", uuid], name, kind, ovs_map(options or {}), mtu, ovs_map({}), ovs_map(ext or {}), error, ofport]


class FakeOvsDb:
    """Answers list_tables' single ovs-vsctl call with canned JSON documents, and records the argv."""

    def __init__(self, docs):
        self.docs = docs
        self.calls = []

    def vsctl(self, args):
        self.calls.append(args)
        return 0, "\n".join(self.docs) + "\n", ""


def lab_state():
    """br0 (netdev) with vhu0 (client, tag 10) and vhu1; br1 with eth9."""
    bridges = doc(BRIDGE_COLUMNS, [
        [["uuid", "b0"], "br0", ["set", [["uuid", "p0"], ["uuid", "p1"], ["uuid", "p2"]]], "netdev", EMPTY,
         ovs_map({}), ovs_map({"owner": "nfv"})],
        [["uuid", "b1"], "br1", ["uuid", "p9"], "", "secure", ovs_map({}), ovs_map({})],
    ])
    ports = doc(PORT_COLUMNS, [
        [["uuid", "p0"], "br0", ["uuid", "i0"], EMPTY, EMPTY],
        [["uuid", "p1"], "vhu0", ["uuid", "i1"], 10, EMPTY],
        [["uuid", "p2"], "vhu1", ["uuid", "i2"], EMPTY, ["set", [20, 30]]],
        [["uuid", "p9"], "eth9", ["uuid", "i9"], EMPTY, EMPTY],
    ])
    interfaces = doc(INTERFACE_COLUMNS, [
        interface_row("i0", "br0", "internal", ofport=65534),
        interface_row("i1", "vhu0", "dpdkvhostuserclient", {"vhost-server-path": "/run/vhost/vhu0.sock"},
                      ext={"vm": "vm0"}),
        interface_row("i2", "vhu1", "dpdkvhostuserclient", {"vhost-server-path": "/run/vhost/vhu1.sock"},
                      mtu=9000, ofport=2),
        interface_row("i9", "eth9"),
    ])
    fake = FakeOvsDb([bridges, ports, interfaces])
    tables = list_tables(fake, [("Bridge", BRIDGE_COLUMNS, None), ("Port", PORT_COLUMNS, None),
                                ("Interface", INTERFACE_COLUMNS, None)])
    return fake, tables


def params(**overrides):
    base = {"name": "br0", "state": "present", "datapath_type": None, "fail_mode": None, "other_config": {},
            "external_ids": {}, "ports": [], "purge_ports": False}
    base.update(overrides)
    return base


def port(name, kind="dpdkvhostuserclient", path=None, **extra):
    entry = dict((k, None) for k in PORT_SPEC)
    entry.update({"name": name, "type": kind, "options": {}, "trunks": [], "other_config": {}, "external_ids": {}})
    if kind == "dpdkvhostuserclient":
        entry["options"] = {"vhost-server-path": path or "/run/vhost/%s.sock" % name}
    entry.update(extra)
    return entry


def plan_for(p):
    _fake, (bridges, ports, interfaces) = lab_state()
    state = index_state(bridges, ports, interfaces, p["name"])
    return plan_bridge(p, validate(p), state), state


def test_list_tables_reads_three_tables_in_one_call():
    fake, (bridges, ports, interfaces) = lab_state()
    assert len(fake.calls) == 1
    argv = fake.calls[0]
    assert argv[:2] == ["--format=json", "--data=json"]
    assert argv.count("list") == 3 and argv.count("--") == 3
    state = index_state(bridges, ports, interfaces, "br0")
    assert sorted(state["ports"]) == ["br0", "vhu0", "vhu1"]
    assert state["owner"]["eth9"] == "br1"
    assert state["ports"]["vhu0"]["tag"] == 10 and state["ports"]["vhu1"]["trunks"] == [20, 30]
    assert state["ports"]["vhu1"]["mtu_request"] == 9000 and state["ports"]["vhu0"]["mtu_request"] is None
    assert state["bridge"]["datapath_type"] == "netdev" and state["bridge"]["fail_mode"] is None


def test_unchanged_spec_plans_nothing():
    p = params(ports=[port("vhu0", tag=10, external_ids={"vm": "vm0"}),
                      port("vhu1", mtu_request=9000, trunks=[30, 20])], datapath_type="netdev")
    plan, _state = plan_for(p)
    assert plan.changes == []


def test_changed_server_path_and_exact_fields_converge():
    p = params(ports=[port("vhu0", path="/run/vhost/new.sock"), port("vhu1")])
    plan, _state = plan_for(p)
    assert [(c.key, c.action) for c in plan] == [("ports.vhu0", "update_port"), ("ports.vhu1", "update_port")]
    assert plan.changes[0].before == {"options": {"vhost-server-path": "/run/vhost/vhu0.sock"}, "tag": 10}
    assert plan.changes[0].after == {"options": {"vhost-server-path": "/run/vhost/new.sock"}, "tag": None}
    # external_ids are merged: vm0 stays although not listed
    assert "external_ids" not in plan.changes[0].after
    assert plan.changes[1].after == {"mtu_request": None, "trunks": []}
    args = transaction_args(plan, "br0")
    assert args == [
        "--", "set", "Interface", "vhu0", 'options={"vhost-server-path"="/run/vhost/new.sock"}',
        "--", "clear", "Port", "vhu0", "tag",
        "--", "clear", "Interface", "vhu1", "mtu_request",
        "--", "clear", "Port", "vhu1", "trunks",
    ]


def test_new_ports_purge_and_bridge_settings_in_one_argv():
    p = params(ports=[port("vhu0", tag=10, external_ids={"vm": "vm0"}),
                      port("dpdk0", kind="dpdk", options={"dpdk-devargs": "0000:03:00.0"}, n_rxq=2, mtu_request=9000,
                           pmd_rxq_affinity="0:1"),
                      port("vhu9", trunks=[5], external_ids={"iface-id": "a=b c"})],
               purge_ports=True, fail_mode="secure", external_ids={"owner": None, "site": "lab"})
    plan, _state = plan_for(p)
    assert [(c.key, c.action) for c in plan] == [
        ("bridge.fail_mode", "bridge_column"), ("bridge.external_ids", "bridge_map"),
        ("ports.dpdk0", "create_port"), ("ports.vhu9", "create_port"), ("ports.vhu1", "delete_port")]
    args = transaction_args(plan, "br0")
    assert args == [
        "--", "set", "Bridge", "br0", 'fail_mode="secure"',
        "--", "set", "Bridge", "br0", 'external_ids:"site"="lab"',
        "--", "remove", "Bridge", "br0", "external_ids", '"owner"',
        "--", "del-port", "br0", "vhu1",
        "--", "add-port", "br0", "dpdk0", "--", "set", "Interface", "dpdk0", 'type="dpdk"',
        'options={"dpdk-devargs"="0000:03:00.0","n_rxq"="2"}', "mtu_request=9000",
        'other_config={"pmd-rxq-affinity"="0:1"}',
        "--", "add-port", "br0", "vhu9", "--", "set", "Interface", "vhu9", 'type="dpdkvhostuserclient"',
        'options={"vhost-server-path"="/run/vhost/vhu9.sock"}', 'external_ids={"iface-id"="a=b c"}',
        "--", "set", "Port", "vhu9", "trunks=[5]",
    ]
    assert predicted_ports(plan, _state) == ["br0", "dpdk0", "vhu0", "vhu9"]


def test_new_bridge_and_absent():
    p = params(name="br-new", datapath_type="netdev", ports=[port("vhu5")])
    plan, state = plan_for(p)
    assert [c.action for c in plan] == ["create_bridge", "create_port"]
    expected = ["--", "add-br", "br-new", "--", "set", "Bridge", "br-new", 'datapath_type="netdev"', "--"]
    assert transaction_args(plan, "br-new")[:9] == expected
    assert predicted_ports(plan, state) == ["br-new", "vhu5"]
    plan, _state = plan_for(params(state="absent"))
    assert [c.action for c in plan] == ["delete_bridge"]
    assert transaction_args(plan, "br0") == ["--", "del-br", "br0"]
    plan, _state = plan_for(params(name="br-gone", state="absent"))
    assert not plan.changed


def test_port_on_another_bridge_is_refused():
    with pytest.raises(NfvError, match="eth9' \\(on bridge br1\\)"):
        plan_for(params(ports=[port("eth9", kind="system")]))


@pytest.mark.parametrize("ports, message", [
    ([port("vhu0"), port("vhu0", path="/x.sock")], "listed more than once"),
    ([port("a"), port("b", path="/run/vhost/a.sock")], "same vhost-server-path"),
    ([port("vhu0", path="/" + "p" * 107)], "108 bytes, longer than the 107"),
    ([port("vhu0", path="relative.sock")], "must be absolute"),
    ([port("sixteen-chars-xx")], "at most 15"),
    ([dict(port("vhu0"), options={})], "needs options.vhost-server-path"),
    ([port("d0", kind="dpdk")], "needs options.dpdk-devargs"),
    ([port("p0", kind="patch")], "needs options.peer"),
    ([port("t0", kind="vxlan")], "needs remote_ip"),
    ([port("v0", tag=4096)], "VLAN id 0-4095"),
    ([port("v0", trunks=[1, 5000])], "trunks must be VLAN ids"),
    ([port("v0", n_rxq=2, options={"vhost-server-path": "/a.sock", "n_rxq": "4"})], "conflicts with options.n_rxq"),
    ([port("br0", kind="internal")], "has the bridge's name"),
    ([port("v0", options={"vhost-server-path": "/a.sock", "x": None})], "null is not allowed"),
])
def test_validation(ports, message):
    with pytest.raises(NfvError, match=message.replace("(", "\\(").replace(".", "\\.")):
        validate(params(ports=ports))


def test_path_of_exactly_107_bytes_is_fine():
    validate(params(ports=[port("vhu0", path="/" + "p" * 106)]))


def test_bridge_name_length():
    with pytest.raises(NfvError, match="at most 15"):
        validate(params(name="br-0123456789abc"))


def test_quoting_needs_no_shell():
    assert q('a "b" =c') == '"a \\"b\\" =c"'
    assert map_literal({"k=1": "v w"}) == '{"k=1"="v w"}'


def test_rundir_of():
    assert rundir_of("unix:/tmp/lab/db.sock") == "/tmp/lab"
    assert rundir_of("tcp:10.0.0.1:6640") is None


# ---- issue 15: names ovs-vsctl or Linux read specially; queue sizes ------------------------------

@pytest.mark.parametrize("name", ["a:b", "vhu:0", "@vhu", "-vhu", "vhu 0", "vhu/0", "vhu%0", "vhu\t0", "vhu\n",
                                  "vh\"u", "vhu'0", "vhu=0", "vhu,0", ".", "..", "vhü0"])
def test_port_names_ovs_vsctl_or_linux_read_specially_are_refused(name):
    with pytest.raises(NfvError) as err:
        validate(params(ports=[port("vhu0"), port(name, kind="internal")]))
    assert "ports[1].name %r may hold only letters, digits, '_', '-' and '.'" % name in err.value.msg


@pytest.mark.parametrize("name", ["br:0", "-br", "br 0", "@br"])
def test_bridge_names_ovs_vsctl_or_linux_read_specially_are_refused(name):
    with pytest.raises(NfvError) as err:
        validate(params(name=name))
    assert "bridge name %r may hold only" % name in err.value.msg


@pytest.mark.parametrize("name", ["br-phy", "vhu_vm1", "eth0.100", "dpdk0", "_x", "a" * 15])
def test_usual_names_are_accepted(name):
    validate(params(name="br0", ports=[port(name, kind="internal")]))
    validate(params(name=name))


@pytest.mark.parametrize("extra, message", [
    ({"n_rxq_desc": 1000}, "port d0: n_rxq_desc must be a power of two from 1 to 4096 (queue descriptors), got 1000"),
    ({"n_txq_desc": 8192}, "port d0: n_txq_desc must be a power of two from 1 to 4096"),
    ({"n_txq_desc": 0}, "port d0: n_txq_desc must be a power of two from 1 to 4096"),
    ({"n_rxq": 0}, "port d0: n_rxq must be an integer of at least 1, got 0"),
    ({"options": {"dpdk-devargs": "0000:03:00.0", "n_rxq_desc": "1000"}},
     "port d0: options.n_rxq_desc must be a power of two from 1 to 4096"),
    ({"options": {"dpdk-devargs": "0000:03:00.0", "n_txq_desc": "lots"}}, "port d0: options.n_txq_desc must be a "
                                                                          "power of two"),
    ({"options": {"dpdk-devargs": "0000:03:00.0", "n_rxq": "-1"}}, "port d0: options.n_rxq must be an integer"),
])
def test_queue_sizes(extra, message):
    entry = port("d0", kind="dpdk", options={"dpdk-devargs": "0000:03:00.0"})
    entry.update(extra)
    with pytest.raises(NfvError) as err:
        validate(params(ports=[entry]))
    assert message in err.value.msg


@pytest.mark.parametrize("extra, options", [
    ({"n_rxq_desc": 4096, "n_txq_desc": 1}, {"n_rxq_desc": "4096", "n_txq_desc": "1"}),
    ({"options": {"dpdk-devargs": "0000:03:00.0", "n_rxq_desc": 512}}, {"n_rxq_desc": "512"}),
    ({"options": {"dpdk-devargs": "0000:03:00.0", "n_rxq": "02"}}, {"n_rxq": "2"}),
])
def test_good_queue_sizes_are_kept(extra, options):
    entry = port("d0", kind="dpdk", options={"dpdk-devargs": "0000:03:00.0"})
    entry.update(extra)
    wanted = validate(params(ports=[entry]))[0]["options"]
    assert dict((k, wanted[k]) for k in options) == options


class FakeModule:
    def __init__(self, module_params, check_mode=False):
        self.params = module_params
        self.check_mode = check_mode
        self._diff = True

    def warn(self, msg):
        pass


class NoVsctl:
    """Any ovs-vsctl call fails the test: bad input is refused before OVS is read or written."""

    def __init__(self):
        self.calls = []

    def has(self, name):
        return True

    def run(self, name, args, check=True, data=None, env=None):
        self.calls.append([name] + list(args))
        raise AssertionError("unexpected command %s %s" % (name, args))


@pytest.mark.parametrize("given, message", [
    ({"name": "br:0"}, "bridge name 'br:0' may hold only"),
    ({"ports": [port("vhu:0")]}, "ports[0].name 'vhu:0' may hold only"),
    ({"ports": [port("d0", kind="dpdk", options={"dpdk-devargs": "0000:03:00.0"}, n_rxq_desc=1000)]},
     "n_rxq_desc must be a power of two"),
])
def test_bad_input_sends_nothing_to_ovs(given, message):
    for check_mode in (True, False):
        runner = NoVsctl()
        module_params = dict(params(**given), db=None, timeout=5)
        with pytest.raises(NfvError) as err:
            OvsBridge(FakeModule(module_params, check_mode), runner=runner).run()
        assert message in err.value.msg
        assert runner.calls == []
