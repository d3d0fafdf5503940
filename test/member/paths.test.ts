import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSettings } from '../../src/member/config/build.ts';
import type { ConnectionSettings } from '../../src/member/config/model.ts';
import { initiationPorts, planSockets, routeSource, SocketPaths } from '../../src/member/paths.ts';
import type { BoundSocket } from '../../src/ikev2/transport/index.ts';

function conn(local: string, remote: string, localPort: number, remotePort = 500): ConnectionSettings {
  const text = `connections {\n  c {\n    local_addrs = ${local}\n    remote_addrs = ${remote}\n    local_port = ${localPort}\n    remote_port = ${remotePort}\n    local { auth = psk }\n    remote { auth = psk }\n  }\n}\n`;
  return buildSettings(text, 'x.conf').settings.connections[0]!;
}

const plan = (...cs: ConnectionSettings[]): string[] => planSockets(cs).map((s) => `${s.kind}@${s.address}:${s.port}`);

test('sockets: a plain port gets its NAT-T socket on 4500; other ports one NAT-T socket', () => {
  assert.deepEqual(plan(conn('127.0.0.1', '127.0.0.2', 500)), ['ike@127.0.0.1:500', 'natt@127.0.0.1:4500']);
  assert.deepEqual(plan(conn('127.0.0.1', '127.0.0.2', 848)), ['ike@127.0.0.1:848', 'natt@127.0.0.1:4500']);
  assert.deepEqual(plan(conn('127.0.0.1', '127.0.0.2', 15000)), ['natt@127.0.0.1:15000']);
  assert.deepEqual(plan(conn('127.0.0.1', '127.0.0.2', 500), conn('127.0.0.1', '127.0.0.3', 500)), ['ike@127.0.0.1:500', 'natt@127.0.0.1:4500'], 'no duplicates');
});

test('sockets: %any binds wildcards for the families the peers use; a wildcard absorbs specific addresses', () => {
  assert.deepEqual(plan(conn('%any', '192.0.2.1', 15000)), ['natt@0.0.0.0:15000']);
  assert.deepEqual(plan(conn('%any', '2001:db8::/32', 15000)), ['natt@:::15000']);
  assert.deepEqual(plan(conn('%any', '%any', 15000)), ['natt@0.0.0.0:15000', 'natt@:::15000']);
  assert.deepEqual(plan(conn('127.0.0.1', '192.0.2.1', 15000), conn('%any', '192.0.2.2', 15000), conn('127.0.0.1', '192.0.2.1', 15001)), ['natt@0.0.0.0:15000', 'natt@127.0.0.1:15001']);
});

test('initiation: from the NAT-T socket when the peer port is not plain (strongSwan), else from local_port', () => {
  assert.deepEqual(initiationPorts(conn('127.0.0.1', '192.0.2.1', 500, 500)), { localPort: 500, remote: '192.0.2.1' });
  assert.deepEqual(initiationPorts(conn('127.0.0.1', '192.0.2.1', 500, 4500)), { localPort: 4500, remote: '192.0.2.1' });
  assert.deepEqual(initiationPorts(conn('127.0.0.1', '192.0.2.1', 15000, 15001)), { localPort: 15000, remote: '192.0.2.1' });
  assert.deepEqual(initiationPorts(conn('127.0.0.1', '10.0.0.0/8', 500)), { localPort: 500, remote: undefined }, 'no literal address to initiate to');
});

const bound = (address: string, port: number, kind: 'ike' | 'natt'): BoundSocket => ({ local: { address, port, family: address.includes(':') ? 'IPv6' : 'IPv4' }, kind, marker: 'auto' });

test('engine endpoints map to sockets: exact address first, then the wildcard of the family on that port', () => {
  const paths = new SocketPaths([bound('127.0.0.1', 500, 'ike'), bound('0.0.0.0', 4500, 'natt'), bound('::', 4500, 'natt')]);
  assert.deepEqual(paths.via({ ip: '127.0.0.1', port: 500 }), { address: '127.0.0.1', port: 500 });
  assert.deepEqual(paths.via({ ip: '127.0.0.1', port: 4500 }), { address: '0.0.0.0', port: 4500 });
  assert.deepEqual(paths.via({ ip: '::1', port: 4500 }), { address: '::', port: 4500 });
  assert.equal(paths.via({ ip: '127.0.0.2', port: 500 }), undefined);
});

test('a datagram on a wildcard socket gets the real local address (NAT detection hashes it)', async () => {
  assert.equal(await routeSource('127.0.0.1'), '127.0.0.1');
  const paths = new SocketPaths([bound('0.0.0.0', 15000, 'natt')]);
  assert.deepEqual(await paths.endpoints({ address: '127.0.0.1', port: 999 }, { address: '0.0.0.0', port: 15000 }), {
    remote: { ip: '127.0.0.1', port: 999 },
    local: { ip: '127.0.0.1', port: 15000 },
  });
  assert.deepEqual(await paths.endpoints({ address: '127.0.0.1', port: 999 }, { address: '127.0.0.1', port: 15000 }), {
    remote: { ip: '127.0.0.1', port: 999 },
    local: { ip: '127.0.0.1', port: 15000 },
  });
  assert.equal(await paths.localFor(['10.0.0.1', '::1'], '127.0.0.1'), '10.0.0.1', 'a configured address of the family');
  assert.equal(await paths.localFor([], '127.0.0.1'), '127.0.0.1', 'else the route source');
});
