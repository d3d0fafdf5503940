/**
 * Recovers IKE SA keys from a charon log, so that a capture of a strongSwan-to-strongSwan
 * session can be decrypted by tshark through our own key-log writer (the same path our
 * engine's `--keylog` takes). charon 5.9.8 prints SK_* at `ike = 4` but not the SPIs
 * they belong to; `mgr = 2` prints each IKE SA's SPIs at checkin. Needs the harness's
 * log format (`ike_name = yes`, one time token), see `KEYLOG_LOG_LEVELS`.
 *
 * Attribution: a derivation (or proposal selection) logged in the context of an IKE SA
 * that is not yet established belongs to that SA (IKE_SA_INIT/IKE_AUTH); in the context
 * of an established SA it is a rekey and belongs to the SA that the same thread next
 * moves from CONNECTING to ESTABLISHED (charon derives and installs rekeyed SAs in one go).
 */
import { EncrId, IntegId, PrfId } from '../../src/ikev2/registry/transform.ts';
import type { IkeSaKeyRecord } from '../../src/ikev2/keylog/wireshark.ts';
import type { LogLevels } from './strongswan-conf.ts';

/** Log levels that make `ikeKeysFromCharonLog` work (keys and SPIs are printed). */
export const KEYLOG_LOG_LEVELS: LogLevels = { ike: 4, mgr: 2 };

interface LogLine {
  readonly thread: string;
  /** IKE SA unique id the line is logged for, if any. */
  readonly sa?: number;
  readonly text: string;
}

/** `HH:MM:SS 14[IKE] <conn|3> text` or `... <3> text` (unnamed SA). */
const LINE = /^\S+ (\d+)\[[A-Z]+\] (?:<(?:[^|>]*\|)?(\d+)> )?(.*)$/;

function parseLine(raw: string): LogLine | undefined {
  const m = raw.match(LINE);
  if (!m) return undefined;
  return { thread: m[1]!, sa: m[2] === undefined ? undefined : Number(m[2]), text: m[3]! };
}

export interface IkeAlgorithms {
  readonly encrId: number;
  readonly encrKeyBits?: number;
  readonly integId: number;
  readonly prfId: number;
}

const PRF: Record<string, number> = {
  PRF_HMAC_SHA1: PrfId.HMAC_SHA1,
  PRF_HMAC_SHA2_256: PrfId.HMAC_SHA2_256,
  PRF_HMAC_SHA2_384: PrfId.HMAC_SHA2_384,
  PRF_HMAC_SHA2_512: PrfId.HMAC_SHA2_512,
};
const INTEG: Record<string, number> = {
  HMAC_SHA1_96: IntegId.HMAC_SHA1_96,
  HMAC_SHA2_256_128: IntegId.HMAC_SHA2_256_128,
  HMAC_SHA2_384_192: IntegId.HMAC_SHA2_384_192,
  HMAC_SHA2_512_256: IntegId.HMAC_SHA2_512_256,
};
const ENCR: Record<string, number> = {
  AES_CBC: EncrId.AES_CBC,
  AES_CTR: EncrId.AES_CTR,
  AES_GCM_8: EncrId.AES_GCM_8,
  AES_GCM_12: EncrId.AES_GCM_12,
  AES_GCM_16: EncrId.AES_GCM_16,
  CHACHA20_POLY1305: EncrId.CHACHA20_POLY1305,
};

/** strongSwan's proposal text, e.g. `IKE:AES_GCM_16_128/PRF_HMAC_SHA2_256/CURVE_25519`. */
export function parseIkeProposal(text: string): IkeAlgorithms | undefined {
  const parts = text.replace(/^IKE:/, '').split('/');
  let encr: { id: number; bits?: number } | undefined;
  let integId: number = IntegId.NONE;
  let prfId: number | undefined;
  for (const p of parts) {
    if (PRF[p] !== undefined) prfId = PRF[p];
    else if (INTEG[p] !== undefined) integId = INTEG[p]!;
    else {
      const m = p.match(/^([A-Z0-9_]+?)(?:_(128|192|256))?$/);
      const id = m ? ENCR[m[1]!] : undefined;
      if (id !== undefined && !encr) encr = { id, bits: id === EncrId.CHACHA20_POLY1305 ? undefined : Number(m![2]) };
    }
  }
  if (!encr || prfId === undefined) return undefined;
  return { encrId: encr.id, encrKeyBits: encr.bits, integId, prfId };
}

type KeyName = 'skD' | 'skAi' | 'skAr' | 'skEi' | 'skEr' | 'skPi' | 'skPr';
const KEY_NAMES: Record<string, KeyName> = {
  'Sk_d secret': 'skD',
  'Sk_ai secret': 'skAi',
  'Sk_ar secret': 'skAr',
  'Sk_ei secret': 'skEi',
  'Sk_er secret': 'skEr',
  'Sk_pi secret': 'skPi',
  'Sk_pr secret': 'skPr',
};

interface SaFacts {
  state?: string;
  spiI?: string;
  spiR?: string;
  algorithms?: IkeAlgorithms;
  keys: Partial<Record<KeyName, Buffer>>;
}

type Fact = { kind: 'key'; name: KeyName; value: Buffer } | { kind: 'proposal'; value: IkeAlgorithms };

/** Reads `NAME => N bytes @ 0x...` hex dumps, which continue on later lines of the same thread. */
class HexDumps {
  private readonly open = new Map<string, { label: string; sa?: number; want: number; bytes: number[] }>();

  /** Starts a dump if the line opens one; returns a finished dump when the line completes one. */
  feed(l: LogLine): { label: string; sa?: number; value: Buffer } | undefined {
    const cur = this.open.get(l.thread);
    if (cur) {
      const m = l.text.match(/^\s*\d+: (.{1,48})/);
      if (m) {
        for (const h of m[1]!.match(/[0-9A-F]{2}/g) ?? []) cur.bytes.push(parseInt(h, 16));
        if (cur.bytes.length >= cur.want) {
          this.open.delete(l.thread);
          return { label: cur.label, sa: cur.sa, value: Buffer.from(cur.bytes.slice(0, cur.want)) };
        }
        return undefined;
      }
      this.open.delete(l.thread);
    }
    const start = l.text.match(/^(.*) => (\d+) bytes @ 0x[0-9a-f]+$/);
    if (start) {
      const want = Number(start[2]);
      if (want === 0) return { label: start[1]!, sa: l.sa, value: Buffer.alloc(0) };
      this.open.set(l.thread, { label: start[1]!, sa: l.sa, want, bytes: [] });
    }
    return undefined;
  }
}

const NOT_YET_ESTABLISHED = new Set([undefined, 'CREATED', 'CONNECTING']);

/** Every IKE SA whose SPIs, algorithms and SK_e/SK_p keys appear in the log. */
export function ikeKeysFromCharonLog(log: string): IkeSaKeyRecord[] {
  const sas = new Map<number, SaFacts>();
  const sa = (id: number): SaFacts => {
    let f = sas.get(id);
    if (!f) sas.set(id, (f = { keys: {} }));
    return f;
  };
  const pending = new Map<string, Fact[]>(); // per thread: facts of a rekey's new SA
  const dumps = new HexDumps();

  const assign = (l: LogLine, fact: Fact): void => {
    if (l.sa === undefined) return;
    if (NOT_YET_ESTABLISHED.has(sas.get(l.sa)?.state)) apply(sa(l.sa), fact);
    else pending.set(l.thread, [...(pending.get(l.thread) ?? []), fact]);
  };
  const apply = (f: SaFacts, fact: Fact): void => {
    if (fact.kind === 'key') f.keys[fact.name] = fact.value;
    else f.algorithms = fact.value;
  };

  for (const raw of log.split('\n')) {
    const l = parseLine(raw);
    if (!l) continue;
    const dump = dumps.feed(l);
    if (dump) {
      const name = KEY_NAMES[dump.label];
      if (name) assign({ ...l, sa: dump.sa }, { kind: 'key', name, value: dump.value });
      continue;
    }
    let m: RegExpMatchArray | null;
    if ((m = l.text.match(/^selected proposal: (IKE:\S+)$/))) {
      const algorithms = parseIkeProposal(m[1]!);
      if (algorithms) assign(l, { kind: 'proposal', value: algorithms });
    } else if ((m = l.text.match(/^IKE_SA .*\[(\d+)\] state change: (\w+) => (\w+)$/))) {
      const id = Number(m[1]);
      sa(id).state = m[3];
      const facts = pending.get(l.thread);
      if (facts && m[2] === 'CONNECTING' && m[3] === 'ESTABLISHED' && id !== l.sa) {
        for (const fact of facts) apply(sa(id), fact);
        pending.delete(l.thread);
      }
    } else if ((m = l.text.match(/^checkin IKEv2 SA .*\[(\d+)\] with SPIs ([0-9a-f]{16})_i ([0-9a-f]{16})_r$/))) {
      if (m[3] !== '0000000000000000') Object.assign(sa(Number(m[1])), { spiI: m[2], spiR: m[3] });
    }
  }

  const records: IkeSaKeyRecord[] = [];
  for (const f of sas.values()) {
    const k = f.keys;
    if (!f.spiI || !f.spiR || !f.algorithms || !k.skD || !k.skEi || !k.skEr || !k.skPi || !k.skPr) continue;
    records.push({
      spiI: Buffer.from(f.spiI, 'hex'),
      spiR: Buffer.from(f.spiR, 'hex'),
      ...f.algorithms,
      skD: k.skD,
      skAi: k.skAi ?? Buffer.alloc(0),
      skAr: k.skAr ?? Buffer.alloc(0),
      skEi: k.skEi,
      skEr: k.skEr,
      skPi: k.skPi,
      skPr: k.skPr,
    });
  }
  return records;
}
