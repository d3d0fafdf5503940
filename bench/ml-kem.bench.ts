/**
 * ML-KEM-512/768/1024 per operation: PQClean's C code (ml-kem-pqclean.ts, what fresh
 * operations use) beside ml-kem-native.ts (FIPS 203 in TypeScript on OpenSSL's SHA3/SHAKE, the
 * fallback and the known-answer path). Usage: npm run bench -- ml-kem
 */
import { randomBytes } from 'node:crypto';
import { nativeMlKem } from '../src/ikev2/crypto/ml-kem-native.ts';
import { pqcleanMlKem } from '../src/ikev2/crypto/ml-kem-pqclean.ts';
import { lastResult, measure } from './lib/measure.ts';
import { fmt, table } from './lib/table.ts';

const OPTS = { warmupMs: 300, runMs: 700, runs: 3 };
const us = (fn: () => unknown): string => fmt(1e6 / measure(fn, OPTS).median, 1);

const rows: string[][] = [];
for (const size of [512, 768, 1024] as const) {
  const js = nativeMlKem[size];
  const jsPair = js.keygen(randomBytes(64));
  const jsCt = js.encapsulate(jsPair.encapsulationKey, randomBytes(32)).ciphertext;
  rows.push([`ML-KEM-${size}`, 'ml-kem-native.ts', us(() => js.keygen(randomBytes(64))), us(() => js.encapsulate(jsPair.encapsulationKey, randomBytes(32))), us(() => jsPair.decapsulate(jsCt))]);
  const pq = pqcleanMlKem?.[size];
  if (!pq) {
    rows.push([`ML-KEM-${size}`, 'PQClean', 'not loaded', '', '']);
    continue;
  }
  const pair = pq.keygen();
  const ct = pq.encapsulate(pair.encapsulationKey).ciphertext;
  rows.push([`ML-KEM-${size}`, 'PQClean (pqclean addon)', us(() => pq.keygen()), us(() => pq.encapsulate(pair.encapsulationKey)), us(() => pair.decapsulate(ct))]);
}
console.log(table(['parameter set', 'implementation', 'keygen µs', 'encaps µs', 'decaps µs'], rows));
void lastResult();
