#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nfv.dpdk contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: ovs_bridge
short_description: One Open vSwitch bridge and its ports, in one OVSDB transaction
version_added: "0.1.0"
description:
  - Declares one bridge (datapath type, fail mode, other_config, external_ids) and its ports - single-interface
    ports (interface type, options, MTU, queue settings, other_config, external_ids) and bonds (several members,
    bond mode, LACP, up and down delays), each with its VLAN mode, tag and trunks.
  - Reads the current state as JSON, computes the plan, and applies the whole plan in ONE ovs-vsctl
    transaction (argument list, no shell). ovs-vsctl then waits until ovs-vswitchd has applied the new
    configuration, and the module reads the C(error) and C(ofport) of every interface it created or changed.
  - Existing ports converge to what is asked, interface options included (a changed
    C(vhost-server-path) is changed in OVS). A bond's member added, removed or changed is reconciled in place in
    the same transaction; a single port that becomes a bond (or back) is deleted and created again in it.
  - When OVS rejects an interface (for example a C(dpdk) port whose C(dpdk-devargs) DPDK cannot attach), the
    task fails with OVS's own error text. Ports this run created that OVS rejected are deleted again in a
    second transaction, so the database holds no half-made port; ports that existed before and were
    changed into a rejected configuration are left as configured. A member this run added to an existing bond
    that OVS rejects is taken out of the bond again. RV(rejected) says which happened to each.
author:
  - nfv.dpdk contributors (@nfv-dpdk)
extends_documentation_fragment:
  - nfv.dpdk.attributes
  - nfv.dpdk.attributes.full
  - nfv.dpdk.common_options.db
attributes:
  check_mode:
    details: Reads and plans only; the database is not touched.
  diff_mode:
    details: Before and after of every changed bridge setting and port.
options:
  name:
    description:
      - Bridge name, at most 15 bytes of letters, digits, C(_), C(-) and C(.), starting with a letter, digit or
        C(_) (C(:) and C(@) mean something to ovs-vsctl, a leading C(-) reads as an option, and the bridge's
        internal interface is a Linux interface).
    type: str
    required: true
  state:
    description:
      - V(present) creates or converges the bridge; V(absent) deletes it with all its ports.
    type: str
    choices: [present, absent]
    default: present
  datapath_type:
    description:
      - V(netdev) for OVS-DPDK (userspace datapath), V(system) for the kernel datapath.
      - Not given - left as it is (OVS's default, V(system), on creation).
    type: str
    choices: [system, netdev]
  fail_mode:
    description:
      - OpenFlow fail mode. Not given - left as it is.
    type: str
    choices: [secure, standalone]
  other_config:
    description:
      - Bridge C(other_config) keys to set; V(null) removes a key; keys not listed are left alone.
    type: dict
    default: {}
  external_ids:
    description:
      - Bridge C(external_ids) keys to set; V(null) removes a key; keys not listed are left alone.
    type: dict
    default: {}
  ports:
    description:
      - The ports of the bridge. A port without O(ports[].interfaces) has exactly one interface of the same
        name; a port with O(ports[].interfaces) is a bond of those members.
      - For a listed port, C(type), C(options), C(mtu_request), C(tag), C(trunks), C(vlan_mode) and a bond's
        settings and members are exact (what is not given is cleared), while C(other_config) and
        C(external_ids) are merged (listed keys are set, V(null) removes a key), because other tools keep their
        own keys there.
      - Ports that are not listed are left alone unless O(purge_ports) is true.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Port and interface name, with the same rules as the bridge O(name).
        type: str
        required: true
      type:
        description:
          - Interface type. V(system) is an existing kernel netdev.
        type: str
        default: system
        choices: [system, internal, dpdk, dpdkvhostuser, dpdkvhostuserclient, patch, vxlan, geneve, gre,
                  erspan, ip6erspan, ip6gre, stt, lisp, bareudp, gtpu, srv6, tap, afxdp, afxdp-nonpmd]
      options:
        description:
          - Interface C(options), for example C(dpdk-devargs) for V(dpdk), C(vhost-server-path) for
            V(dpdkvhostuserclient) (required, at most 107 bytes), C(peer) for V(patch), C(remote_ip) and
            C(key) for tunnels. Values are stored as strings (booleans as C(true)/C(false)).
        type: dict
        default: {}
      mtu_request:
        description: Requested MTU of the interface; not given - OVS's default.
        type: int
      tag:
        description:
          - Access VLAN (0-4095) of an V(access) port, or the native VLAN of a V(native-tagged) or
            V(native-untagged) port; not given - no tag.
        type: int
      trunks:
        description: Trunk VLANs; empty - all VLANs.
        type: list
        elements: int
        default: []
      vlan_mode:
        description:
          - The port's VLAN mode, checked with O(ports[].tag) and O(ports[].trunks) - V(access) needs C(tag) and
            takes no C(trunks), V(trunk) takes no C(tag), V(native-tagged) and V(native-untagged) need C(tag)
            (the native VLAN) and carry C(trunks) too.
          - Not given - OVS's default (a port with a C(tag) is an access port, else a trunk); C(tag) and
            C(trunks) together then need a native mode, since OVS would ignore the trunks.
        type: str
        choices: [access, trunk, native-tagged, native-untagged]
      interfaces:
        description:
          - The members of a bond, at least two; the port is then the bond and holds no interface settings of its
            own (C(type), C(options), C(mtu_request), queue settings and C(pmd_rxq_affinity) go on each member),
            while its C(other_config) and C(external_ids) are the Port row's.
          - Each member name must be free - no other port, and no member of another bond, on any bridge; one that
            is a port of this bridge can join when O(purge_ports) deletes that port in the same transaction.
        type: list
        elements: dict
        suboptions:
          name:
            description: Interface name, with the same rules as the bridge O(name).
            type: str
            required: true
          type:
            description: Interface type of the member.
            type: str
            default: dpdk
            choices: [system, dpdk, afxdp, afxdp-nonpmd]
          options:
            description: Interface C(options), C(dpdk-devargs) for V(dpdk) (required) among them.
            type: dict
            default: {}
          mtu_request:
            description: Requested MTU of the member.
            type: int
          n_rxq:
            description: Number of receive queues (C(options:n_rxq)), at least 1.
            type: int
          n_rxq_desc:
            description: Receive queue size (C(options:n_rxq_desc)), a power of two from 1 to 4096.
            type: int
          n_txq_desc:
            description: Transmit queue size (C(options:n_txq_desc)), a power of two from 1 to 4096.
            type: int
          pmd_rxq_affinity:
            description: Pins the member's receive queues to PMD cores (C(other_config:pmd-rxq-affinity)).
            type: str
          other_config:
            description: Interface C(other_config) keys (merged); V(null) removes a key.
            type: dict
            default: {}
          external_ids:
            description: Interface C(external_ids) keys (merged); V(null) removes a key.
            type: dict
            default: {}
      bond_mode:
        description:
          - How a bond spreads traffic; not given - OVS's default, V(active-backup).
          - V(balance-tcp) needs LACP (O(ports[].lacp) V(active) or V(passive)).
        type: str
        choices: [active-backup, balance-slb, balance-tcp]
      lacp:
        description: LACP of a bond; not given - off.
        type: str
        choices: [active, passive, "off"]
      lacp_time:
        description: LACP rate of a bond with LACP (Port C(other_config:lacp-time)); not given - OVS's default, V(slow).
        type: str
        choices: [slow, fast]
      lacp_fallback_ab:
        description:
          - A bond with LACP falls back to active-backup when the partner does not answer LACP
            (Port C(other_config:lacp-fallback-ab)); not given - OVS's default, false.
        type: bool
      bond_updelay:
        description: Milliseconds a member's link must be up before the bond uses it; not given - 0.
        type: int
      bond_downdelay:
        description: Milliseconds a member's link must be down before the bond stops using it; not given - 0.
        type: int
      remote_ip:
        description:
          - The far end's underlay address of a tunnel port (C(options:remote_ip)), or V(flow); required for
            every tunnel type but V(srv6).
          - With an underlay (O(underlay)) that reaches it, the bridge's largest port MTU plus the
            encapsulation (50 bytes for V(vxlan) and V(geneve), 42 for V(gre), 20 more over IPv6) must fit the
            MTU of that underlay's uplink (the bridge's physical ports), or the task fails before any change.
            Tunnel and patch ports do not count for the bridge's largest MTU.
        type: str
      local_ip:
        description: The local underlay address of a tunnel port (C(options:local_ip)), or V(flow).
        type: str
      key:
        description:
          - The tunnel key of a tunnel port (C(options:key)) - the VNI of V(vxlan) and V(geneve) (0-16777215), the
            GRE key (0-4294967295), or V(flow).
        type: str
      dst_port:
        description: The UDP port of a V(vxlan) or V(geneve) tunnel (C(options:dst_port)), 1-65535.
        type: int
      n_rxq:
        description: Number of receive queues (C(options:n_rxq)) of a V(dpdk) port, at least 1.
        type: int
      n_rxq_desc:
        description:
          - Receive queue size (C(options:n_rxq_desc)) of a V(dpdk) port, a power of two from 1 to 4096.
          - The same checks apply to C(n_rxq), C(n_rxq_desc) and C(n_txq_desc) given in O(ports[].options).
        type: int
      n_txq_desc:
        description: Transmit queue size (C(options:n_txq_desc)) of a V(dpdk) port, a power of two from 1 to 4096.
        type: int
      pmd_rxq_affinity:
        description: Pins receive queues to PMD cores (interface C(other_config:pmd-rxq-affinity)), e.g. C(0:3,1:7).
        type: str
      other_config:
        description: Interface C(other_config) keys (merged); V(null) removes a key.
        type: dict
        default: {}
      external_ids:
        description: Interface C(external_ids) keys (merged); V(null) removes a key.
        type: dict
        default: {}
  purge_ports:
    description:
      - Delete ports of this bridge that are not listed in O(ports) (never the bridge's own internal port).
    type: bool
    default: false
  underlay:
    description:
      - The tunnel underlay of a V(netdev) bridge - addresses and routes of its internal port (the Linux device of
        the bridge's name), which the tunnel ports of the userspace datapath send from. They are set with C(ip)
        in the network namespace ovs-vswitchd runs in; ovs-vswitchd mirrors them into its own route table
        (C(ovs-appctl ovs/route/show)), which the module reads back after a change. They stay across an
        ovs-vswitchd restart (the device stays). The wanted underlay is recorded in the bridge's
        C(external_ids:nfv-dpdk-underlay), where the tunnel MTU check of other bridges finds it, and where the
        boot unit C(nfv-dpdk-underlay.service) (O(underlay.persistent)) reads it to set it again after a reboot.
      - Exact - global addresses of the internal port not listed are removed, and so are routes through it that
        this module set (routing protocol 190) and that are not listed; empty O(underlay.addresses) and
        O(underlay.routes) remove them all. Not given - left alone.
      - Only with the local OVS (O(db) unset or a V(unix:) socket) - a remote O(db) is refused before any change.
    type: dict
    suboptions:
      addresses:
        description: Addresses with their prefix length, such as V(172.16.0.1/24) (IPv4 or IPv6), each once.
        type: list
        elements: str
        default: []
      routes:
        description:
          - Routes through the internal port; each gateway must be another host on a subnet of
            O(underlay.addresses).
        type: list
        elements: dict
        default: []
        suboptions:
          dest:
            description: The destination network, such as V(10.20.0.0/16), without host bits.
            type: str
            required: true
          gateway:
            description: The next hop.
            type: str
            required: true
      persistent:
        description:
          - Install and enable the boot unit C(nfv-dpdk-underlay.service) (wanted by C(multi-user.target)) and its
            program C(/usr/local/sbin/nfv-dpdk-underlay), which run after C(ovs-vswitchd.service) (at boot, and
            again when it restarts) and give every bridge whose external_ids record an underlay its addresses
            and routes.
          - The unit is taken away by the run after which no bridge records an underlay (the last underlay
            emptied, or its bridge removed).
        type: bool
        default: true
  timeout:
    description:
      - Seconds ovs-vsctl waits for the database and for ovs-vswitchd to apply the transaction.
    type: int
    default: 60
notes:
  - Validated before anything is sent - bridge and port names (at most 15 bytes, no C(/)), duplicate port names,
    duplicate vhost-user socket paths, socket paths longer than 107 bytes, a V(dpdkvhostuserclient) port without
    C(vhost-server-path), a V(dpdk) port without C(dpdk-devargs), VLAN ranges, a port that already exists on
    another bridge.
  - ovsdb-server unreachable or ovs-vswitchd not running - the task fails with a clear message and changes nothing.
  - Bonds are validated too - at least two members, each member once and free, the LACP settings only with
    LACP, V(balance-tcp) only with LACP, delays in range.
seealso:
  - module: nfv.dpdk.ovs_config
  - module: nfv.dpdk.host_facts
"""

EXAMPLES = r"""
- name: A netdev bridge with a physical DPDK port and two vhost-user client ports
  nfv.dpdk.ovs_bridge:
    name: br-phy
    datapath_type: netdev
    ports:
      - name: dpdk0
        type: dpdk
        options: {dpdk-devargs: "0000:03:00.0"}
        n_rxq: 2
        mtu_request: 9000
      - name: vhu-vm1
        type: dpdkvhostuserclient
        options: {vhost-server-path: /run/vhost/vm1/net0.sock}
        tag: 10
      - name: vhu-vm2
        type: dpdkvhostuserclient
        options: {vhost-server-path: /run/vhost/vm2/net0.sock}
        trunks: [10, 20]
    purge_ports: true

- name: A DPDK bond with LACP (balance-tcp) carrying VLANs 100 and 200, and a guest on VLAN 100
  nfv.dpdk.ovs_bridge:
    name: br-phy
    datapath_type: netdev
    ports:
      - name: dpdkbond0
        interfaces:
          - {name: dpdk0, options: {dpdk-devargs: "0000:03:00.0"}, n_rxq: 2, mtu_request: 9000}
          - {name: dpdk1, options: {dpdk-devargs: "0000:03:00.1"}, n_rxq: 2, mtu_request: 9000}
        bond_mode: balance-tcp
        lacp: active
        lacp_time: fast
        lacp_fallback_ab: true
        vlan_mode: trunk
        trunks: [100, 200]
      - name: vhu-vm1
        type: dpdkvhostuserclient
        options: {vhost-server-path: /run/vhost/vm1/net0.sock}
        vlan_mode: access
        tag: 100

- name: A VXLAN underlay on br-phy's internal port, and the overlay bridge's tunnel to a far end
  nfv.dpdk.ovs_bridge:
    name: br-phy
    datapath_type: netdev
    underlay:
      addresses: [172.16.0.1/24]
      routes:
        - {dest: 172.16.8.0/24, gateway: 172.16.0.254}
    ports:
      - {name: dpdk0, type: dpdk, options: {dpdk-devargs: "0000:03:00.0"}, mtu_request: 9000}

- name: The overlay bridge, VNI 42 to 172.16.8.10
  nfv.dpdk.ovs_bridge:
    name: br-int
    datapath_type: netdev
    ports:
      - {name: vxlan0, type: vxlan, remote_ip: 172.16.8.10, key: "42"}
      - name: vhu-vm1
        type: dpdkvhostuserclient
        options: {vhost-server-path: /run/vhost/vm1/net0.sock}
        mtu_request: 8950

- name: A private OVS instance
  nfv.dpdk.ovs_bridge:
    db: unix:/tmp/ovs/db.sock
    name: br-test
    datapath_type: netdev

- name: Remove a bridge
  nfv.dpdk.ovs_bridge:
    name: br-old
    state: absent
"""

RETURN = r"""
bridge:
  description: The bridge name.
  returned: success
  type: str
ports:
  description: Names of the bridge's ports after the run (the prediction in check mode), the bridge's own
    internal port included.
  returned: success
  type: list
  elements: str
interfaces:
  description: For every listed port, and every member of a listed bond (with C(bond), the bond's name) - C(name),
    C(type), C(ofport) and C(error) as OVS reports them after the run.
  returned: success
  type: list
  elements: dict
  sample: [{"name": "vhu-vm1", "type": "dpdkvhostuserclient", "ofport": 2, "error": null},
           {"name": "dpdk0", "type": "dpdk", "ofport": 3, "error": null, "bond": "dpdkbond0"}]
changes:
  description: The plan - C(key) (C(bridge), C(bridge.<column>) or C(ports.<name>)), C(action)
    (create_bridge, delete_bridge, bridge_column, bridge_map, create_port, update_port, delete_port, update_bond
    for a bond's columns and members, replace_port for a single port that becomes a bond or back, underlay for
    the internal port's addresses and routes),
    C(before), C(after); a bond's C(interfaces) maps each member to its before and after (V(null) - absent).
  returned: always
  type: list
  elements: dict
underlay:
  description: The internal port's C(up), C(addresses) and C(routes) after the run (the prediction in check mode),
    when O(underlay) is given.
  returned: success, with O(underlay)
  type: dict
  sample: {"up": true, "addresses": ["172.16.0.1/24"], "routes": [{"dest": "172.16.8.0/24", "gateway": "172.16.0.254"}]}
rejected:
  description: On failure because OVS rejected interfaces - C(name), C(error), C(ofport), C(bond) for a member, and
    C(outcome) (C(removed again) for ports this run created and members it added, C(left as configured) for
    ports that existed).
  returned: failure
  type: list
  elements: dict
"""

from ansible_collections.nfv.dpdk.plugins.module_utils.core.common_options import DB, merged
from ansible_collections.nfv.dpdk.plugins.module_utils.core.plan import run_module
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.ovs_bridge import ARGUMENT_SPEC as OWN_SPEC
from ansible_collections.nfv.dpdk.plugins.module_utils.ovs.ovs_bridge import OvsBridge

ARGUMENT_SPEC = merged(OWN_SPEC, DB)


def main():
    run_module(OvsBridge, ARGUMENT_SPEC)


if __name__ == "__main__":
    main()
