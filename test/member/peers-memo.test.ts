/** The responder policy builds one PeerConfig per (connection, local IP, remote IP), not one per IKE_AUTH. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfigText } from '../../src/member/config/load.ts';
import { parseIdentity } from '../../src/member/config/identities.ts';
import { responderPolicy } from '../../src/member/peers.ts';

const text = `connections {
  a {
    remote_addrs = 10.0.0.0/8
    proposals = aes128gcm16-prfsha256-x25519
    local { auth = psk
      id = gw }
    remote { auth = psk }
    children { c { local_ts = dynamic
      remote_ts = dynamic } }
  }
}
secrets {
  ike { secret = s }
}
`;

test('responder PeerConfigs are memoized per connection and address pair', () => {
  const policy = responderPolicy(loadConfigText(text, 'x.conf').connections);
  const local = { ip: '10.0.0.1', port: 500 };
  const resolve = (id: string, ip: string, port = 500) => policy.resolvePeer({ id: parseIdentity(id)!, remote: { ip, port }, local })!;
  const a = resolve('m1@x', '10.1.2.3');
  assert.equal(resolve('m2@x', '10.1.2.3', 4500), a, 'same connection and addresses: same object');
  const b = resolve('m1@x', '10.1.2.4');
  assert.notEqual(b, a);
  assert.deepEqual([...a.children![0]!.remoteTs[0]!.startAddress], [10, 1, 2, 3]);
  assert.deepEqual([...b.children![0]!.remoteTs[0]!.startAddress], [10, 1, 2, 4]);
});
