/**
 * The load generator's GM key pairs made before the timed phase. Each registration still
 * sends a KE payload of its own (a fresh X25519 pair per GM, never reused) and derives g^ir
 * in the timed phase; only the GMs' key generation, which a fleet of GMs does on CPUs of
 * their own, no longer shares this machine's two cores with the GCKS under test
 * (docs/decisions.md, "The registration benchmark makes its GMs' key pairs before the clock
 * starts"). GCKS_BENCH_GM_KEYS_AHEAD=0 turns it off.
 */
import { nativeXdhGroup, type DhGroup } from '../../src/ikev2/crypto/ke-dh.ts';
import type { KeyPairSource, PooledKeyPair } from '../../src/ikev2/crypto/keypair-pool.ts';
import { ikeNativeCrypto } from '../../src/ikev2/crypto/native.ts';

const X25519 = { size: 32, id: 25519 } as const;

/** `count` X25519 key pairs, each handed out once, then undefined (the group generates then). */
export function precomputedX25519(count: number): { readonly group: DhGroup; readonly made: number } | undefined {
  const native = ikeNativeCrypto();
  if (!native) return undefined; // no addon: the generator keeps the registry's path
  const pairs: (PooledKeyPair | undefined)[] = [];
  for (let i = 0; i < count; i++) {
    const pair = { privateKey: Buffer.alloc(X25519.size), publicData: Buffer.alloc(X25519.size) };
    native.xdhGenerate(X25519.id, pair.privateKey, pair.publicData);
    pairs.push(pair);
  }
  let next = 0;
  const source: KeyPairSource = {
    take() {
      if (next >= pairs.length) return undefined;
      const pair = pairs[next];
      pairs[next++] = undefined; // handed out once, then forgotten
      return pair;
    },
  };
  return { group: nativeXdhGroup('x25519', native, source), made: count };
}
