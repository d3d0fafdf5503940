/**
 * strongSwan's proposal strings (swanctl.conf `proposals`, `esp_proposals`) to ProposalSpec:
 *
 *   aes256gcm16-aes128gcm16-prfsha256-x25519-ke1_mlkem768     one IKE proposal
 *   aes128-sha256-ecp256-esn                                   one ESP proposal (PFS, ESN)
 *
 * Keywords joined by '-' form one proposal; several keywords of one transform type are
 * alternatives. `keN_<method>` (N = 1..7) is an additional key exchange (RFC 9370), with
 * `keN_none` making that round optional. `default` stands for our default proposals.
 * Only what this implementation negotiates and runs is known; anything else is an error
 * naming the keyword and its column.
 */
import { EncrId, IntegId, KeId, PrfId, SnId } from '../../ikev2/registry/transform.ts';
import { ProtocolId } from '../../ikev2/registry/misc.ts';
import type { EncrChoice, ProposalSpec } from '../../ikev2/wire/payloads/index.ts';
import type { IssueList, SourcePos } from './errors.ts';
import type { ValueItem } from './syntax.ts';

export type ProposalKind = 'ike' | 'esp';

type Algorithm =
  | { readonly type: 'encr'; readonly choice: EncrChoice; readonly aead: boolean }
  | { readonly type: 'integ' | 'prf' | 'ke' | 'sn'; readonly id: number };

const AES_BITS = [128, 192, 256] as const;
const GCM_ICV = [
  [8, EncrId.AES_GCM_8],
  [12, EncrId.AES_GCM_12],
  [16, EncrId.AES_GCM_16],
] as const;

const KEYWORDS: ReadonlyMap<string, Algorithm> = (() => {
  const m = new Map<string, Algorithm>();
  const encr = (name: string, id: number, aead: boolean, keyLength?: number): void => {
    m.set(name, { type: 'encr', choice: keyLength === undefined ? { id } : { id, keyLength }, aead });
  };
  for (const bits of AES_BITS) {
    encr(`aes${bits}`, EncrId.AES_CBC, false, bits);
    for (const [icv, id] of GCM_ICV) {
      encr(`aes${bits}gcm${icv}`, id, true, bits);
      encr(`aes${bits}gcm${icv * 8}`, id, true, bits); // strongSwan's ICV-in-bits aliases
    }
  }
  encr('aes', EncrId.AES_CBC, false, 128);
  encr('chacha20poly1305', EncrId.CHACHA20_POLY1305, true);
  const plain: [string, Exclude<Algorithm['type'], 'encr'>, number][] = [
    ['sha1', 'integ', IntegId.HMAC_SHA1_96],
    ['sha', 'integ', IntegId.HMAC_SHA1_96],
    ['sha256', 'integ', IntegId.HMAC_SHA2_256_128],
    ['sha2_256', 'integ', IntegId.HMAC_SHA2_256_128],
    ['sha384', 'integ', IntegId.HMAC_SHA2_384_192],
    ['sha2_384', 'integ', IntegId.HMAC_SHA2_384_192],
    ['sha512', 'integ', IntegId.HMAC_SHA2_512_256],
    ['sha2_512', 'integ', IntegId.HMAC_SHA2_512_256],
    ['prfsha256', 'prf', PrfId.HMAC_SHA2_256],
    ['prfsha384', 'prf', PrfId.HMAC_SHA2_384],
    ['prfsha512', 'prf', PrfId.HMAC_SHA2_512],
    ['modp2048', 'ke', KeId.MODP2048],
    ['ecp256', 'ke', KeId.ECP256],
    ['ecp384', 'ke', KeId.ECP384],
    ['ecp521', 'ke', KeId.ECP521],
    ['x25519', 'ke', KeId.CURVE25519],
    ['curve25519', 'ke', KeId.CURVE25519],
    ['x448', 'ke', KeId.CURVE448],
    ['curve448', 'ke', KeId.CURVE448],
    ['mlkem512', 'ke', KeId.ML_KEM_512],
    ['mlkem768', 'ke', KeId.ML_KEM_768],
    ['mlkem1024', 'ke', KeId.ML_KEM_1024],
    ['esn', 'sn', SnId.ESN64],
    ['noesn', 'sn', SnId.SEQ32],
  ];
  for (const [name, type, id] of plain) m.set(name, { type, id });
  return m;
})();

/** The PRF strongSwan derives from an integrity keyword when an IKE proposal names none. */
const PRF_OF_INTEG: ReadonlyMap<number, number> = new Map([
  [IntegId.HMAC_SHA2_256_128, PrfId.HMAC_SHA2_256],
  [IntegId.HMAC_SHA2_384_192, PrfId.HMAC_SHA2_384],
  [IntegId.HMAC_SHA2_512_256, PrfId.HMAC_SHA2_512],
]);

export const DEFAULT_PROPOSALS: Readonly<Record<ProposalKind, readonly string[]>> = {
  // Hybrid X25519 + ML-KEM-768 first (RFC 9370, one IKE_INTERMEDIATE round) where the peer
  // agrees; the classic proposals follow for peers without RFC 9370, which reject a proposal
  // with transform types they do not know.
  ike: [
    'aes256gcm16-aes128gcm16-chacha20poly1305-prfsha256-prfsha384-prfsha512-x25519-ke1_mlkem768',
    'aes256gcm16-aes128gcm16-chacha20poly1305-prfsha256-prfsha384-prfsha512-x25519-ecp256-ecp384',
    'aes256-aes128-sha256-sha384-sha512-x25519-ecp256-ecp384',
  ],
  esp: ['aes256gcm16-aes128gcm16-chacha20poly1305', 'aes256-aes128-sha256-sha384-sha512'],
};

const ADDKE = /^ke([0-9]+)_(.*)$/;
const MAX_ADDKE_ROUND = 7;

interface Collected {
  encr: EncrChoice[];
  aead: boolean[];
  integ: number[];
  prf: number[];
  ke: number[];
  sn: number[];
  addke: number[][];
}

/**
 * Parses the items of a `proposals` / `esp_proposals` setting (absent = default); `where`
 * names the setting in messages.
 */
export function parseProposalList(items: readonly ValueItem[], kind: ProposalKind, issues: IssueList, settingPos: SourcePos, where: string): ProposalSpec[] {
  if (items.length === 0) return parseDefault(kind, issues, settingPos, where);
  return items.flatMap((item) => {
    if (item.text === 'default') return parseDefault(kind, issues, item.pos, where);
    const p = parseProposal(item.text, kind, (offset, message) => issues.error(at(item, offset), `${where}: ${message}`));
    return p ? [p] : [];
  });
}

function parseDefault(kind: ProposalKind, issues: IssueList, pos: SourcePos, where: string): ProposalSpec[] {
  return DEFAULT_PROPOSALS[kind].flatMap((text) => parseProposal(text, kind, (_, message) => issues.error(pos, `${where}: default proposal: ${message}`)) ?? []);
}

/** Column of character `offset` of an item's text (quoted items start one later). */
function at(item: ValueItem, offset: number): SourcePos {
  return { line: item.pos.line, column: item.pos.column + offset + (item.quoted ? 1 : 0) };
}

/**
 * One proposal string. Problems go to `report(offset, message)` with the offset of the
 * offending keyword in `text`; the result is undefined when there were any.
 */
export function parseProposal(text: string, kind: ProposalKind, report: (offset: number, message: string) => void): ProposalSpec | undefined {
  const c: Collected = { encr: [], aead: [], integ: [], prf: [], ke: [], sn: [], addke: [] };
  let errors = 0;
  const fail = (offset: number, message: string): void => {
    errors++;
    report(offset, message);
  };
  let offset = 0;
  for (const word of text.split('-')) {
    const keyword = word.toLowerCase();
    if (keyword === '') fail(offset, `empty keyword in proposal ${JSON.stringify(text)}`);
    else addKeyword(c, keyword, kind, (message) => fail(offset, message));
    offset += word.length + 1;
  }
  if (errors === 0) checkProposal(c, kind, (message) => fail(0, `${message} in proposal ${JSON.stringify(text)}`));
  return errors === 0 ? toSpec(c, kind) : undefined;
}

function addKeyword(c: Collected, keyword: string, kind: ProposalKind, fail: (message: string) => void): void {
  const round = ADDKE.exec(keyword);
  if (round) {
    const n = Number(round[1]);
    const method = round[2] === 'none' ? KeId.NONE : keMethod(round[2] ?? '');
    if (!(n >= 1 && n <= MAX_ADDKE_ROUND)) return fail(`${keyword}: additional key exchange rounds are ke1_ to ke${MAX_ADDKE_ROUND}_`);
    if (method === undefined) return fail(`${keyword}: unknown key exchange method ${JSON.stringify(round[2])}`);
    const list = (c.addke[n - 1] ??= []);
    return pushUnique(list, method, keyword, fail);
  }
  const a = KEYWORDS.get(keyword);
  if (!a) return fail(`unknown algorithm keyword ${JSON.stringify(keyword)}`);
  switch (a.type) {
    case 'encr':
      if (c.encr.some((e) => e.id === a.choice.id && e.keyLength === a.choice.keyLength)) return fail(`${keyword} given twice`);
      c.encr.push(a.choice);
      c.aead.push(a.aead);
      return;
    case 'sn':
      if (kind === 'ike') return fail(`${keyword}: sequence numbers (esn/noesn) belong to ESP proposals`);
      return pushUnique(c.sn, a.id, keyword, fail);
    case 'prf':
      if (kind === 'esp') return fail(`${keyword}: ESP proposals have no PRF`);
      return pushUnique(c.prf, a.id, keyword, fail);
    default:
      return pushUnique(c[a.type], a.id, keyword, fail);
  }
}

function keMethod(name: string): number | undefined {
  const a = KEYWORDS.get(name);
  return a?.type === 'ke' ? a.id : undefined;
}

function pushUnique(list: number[], id: number, keyword: string, fail: (message: string) => void): void {
  if (list.includes(id)) fail(`${keyword} given twice`);
  else list.push(id);
}

/** Completeness rules (strongSwan proposal.c check_proposal, RFC 7296 §3.3.3). */
function checkProposal(c: Collected, kind: ProposalKind, fail: (message: string) => void): void {
  if (c.encr.length === 0) return fail('no encryption algorithm');
  const aead = c.aead.every(Boolean);
  if (!aead && c.aead.some(Boolean)) return fail('AEAD and non-AEAD encryption algorithms mixed');
  if (aead && c.integ.length > 0) return fail('an AEAD algorithm takes no integrity algorithm');
  if (!aead && c.integ.length === 0) return fail('no integrity algorithm for a non-AEAD encryption algorithm');
  if (kind === 'ike') {
    if (c.prf.length === 0) c.prf.push(...c.integ.flatMap((i) => PRF_OF_INTEG.get(i) ?? []));
    if (c.prf.length === 0) return fail('no PRF (add e.g. prfsha256)');
    if (c.ke.length === 0) return fail('no key exchange method (add e.g. x25519)');
  }
  if (c.addke.length > 0 && c.ke.length === 0) fail('additional key exchanges (keN_) need a key exchange method');
}

function toSpec(c: Collected, kind: ProposalKind): ProposalSpec {
  const addke = c.addke.length > 0 ? { addke: Array.from({ length: c.addke.length }, (_, i) => c.addke[i] ?? []) } : {};
  return {
    protocolId: kind === 'ike' ? ProtocolId.IKE : ProtocolId.ESP,
    encr: c.encr,
    ...(c.integ.length ? { integ: c.integ } : {}),
    ...(c.prf.length ? { prf: c.prf } : {}),
    ...(c.ke.length ? { ke: c.ke } : {}),
    ...addke,
    ...(kind === 'esp' ? { sn: c.sn.length ? c.sn : [SnId.SEQ32] } : {}),
  };
}

