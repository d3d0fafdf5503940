import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EncrId, IntegId, KeId, PrfId, ProtocolId, SnId } from '../../src/ikev2/registry/index.ts';
import { IssueList } from '../../src/member/config/errors.ts';
import { DEFAULT_PROPOSALS, parseProposal, parseProposalList, type ProposalKind } from '../../src/member/config/proposals.ts';

function ok(text: string, kind: ProposalKind) {
  const problems: string[] = [];
  const spec = parseProposal(text, kind, (offset, message) => problems.push(`${offset}: ${message}`));
  assert.deepEqual(problems, []);
  return spec;
}

function errors(text: string, kind: ProposalKind): string[] {
  const problems: string[] = [];
  assert.equal(parseProposal(text, kind, (offset, message) => problems.push(`${offset}: ${message}`)), undefined);
  return problems;
}

const gcm16 = (bits: number) => ({ id: EncrId.AES_GCM_16, keyLength: bits });

test('IKE: AEAD with PRF and KE, as strongSwan writes it', () => {
  assert.deepEqual(ok('aes256gcm16-prfsha256-x25519', 'ike'), { protocolId: ProtocolId.IKE, encr: [gcm16(256)], prf: [PrfId.HMAC_SHA2_256], ke: [KeId.CURVE25519] });
});

test('IKE: alternatives per type keep their order; ICV-in-bits aliases', () => {
  assert.deepEqual(ok('aes128gcm128-aes256gcm12-chacha20poly1305-prfsha384-prfsha512-ecp256-ecp384-ecp521-x448-modp2048', 'ike'), {
    protocolId: ProtocolId.IKE,
    encr: [gcm16(128), { id: EncrId.AES_GCM_12, keyLength: 256 }, { id: EncrId.CHACHA20_POLY1305 }],
    prf: [PrfId.HMAC_SHA2_384, PrfId.HMAC_SHA2_512],
    ke: [KeId.ECP256, KeId.ECP384, KeId.ECP521, KeId.CURVE448, KeId.MODP2048],
  });
});

test('IKE: CBC with integrity; the PRF follows the integrity algorithm when not named', () => {
  assert.deepEqual(ok('aes128-aes192-sha256-sha384-ecp256', 'ike'), {
    protocolId: ProtocolId.IKE,
    encr: [{ id: EncrId.AES_CBC, keyLength: 128 }, { id: EncrId.AES_CBC, keyLength: 192 }],
    integ: [IntegId.HMAC_SHA2_256_128, IntegId.HMAC_SHA2_384_192],
    prf: [PrfId.HMAC_SHA2_256, PrfId.HMAC_SHA2_384],
    ke: [KeId.ECP256],
  });
});

test('IKE: additional key exchanges (RFC 9370), optional rounds with keN_none', () => {
  assert.deepEqual(ok('aes256gcm16-prfsha384-x25519-ke1_mlkem768-ke1_mlkem1024-ke3_mlkem512-ke3_none', 'ike'), {
    protocolId: ProtocolId.IKE,
    encr: [gcm16(256)],
    prf: [PrfId.HMAC_SHA2_384],
    ke: [KeId.CURVE25519],
    addke: [[KeId.ML_KEM_768, KeId.ML_KEM_1024], [], [KeId.ML_KEM_512, KeId.NONE]],
  });
});

test('keywords are case-insensitive', () => {
  assert.deepEqual(ok('AES256GCM16-PRFSHA256-X25519', 'ike'), ok('aes256gcm16-prfsha256-x25519', 'ike'));
});

test('ESP: sequence numbers default to 32-bit; esn; PFS groups kept for CREATE_CHILD_SA', () => {
  assert.deepEqual(ok('aes128gcm16', 'esp'), { protocolId: ProtocolId.ESP, encr: [gcm16(128)], sn: [SnId.SEQ32] });
  assert.deepEqual(ok('aes256-sha512-x25519-ke1_mlkem768-esn-noesn', 'esp'), {
    protocolId: ProtocolId.ESP,
    encr: [{ id: EncrId.AES_CBC, keyLength: 256 }],
    integ: [IntegId.HMAC_SHA2_512_256],
    ke: [KeId.CURVE25519],
    addke: [[KeId.ML_KEM_768]],
    sn: [SnId.ESN64, SnId.SEQ32],
  });
});

test('default stands for the default proposals, also when the setting is absent', () => {
  const issues = new IssueList('x.conf');
  const pos = { line: 1, column: 1 };
  const absent = parseProposalList([], 'ike', issues, pos, 'p');
  const named = parseProposalList([{ text: 'default', pos, quoted: false }], 'ike', issues, pos, 'p');
  assert.equal(issues.count, 0);
  assert.equal(absent.length, DEFAULT_PROPOSALS.ike.length);
  assert.deepEqual(named, absent);
  assert.equal(parseProposalList([], 'esp', issues, pos, 'p').length, DEFAULT_PROPOSALS.esp.length);
});

const BAD: readonly { text: string; kind: ProposalKind; offset: number; message: RegExp }[] = [
  { text: 'aes256gcm16-prfsha256-x25519-aes257', kind: 'ike', offset: 29, message: /unknown algorithm keyword "aes257"/ },
  { text: 'aes256gcm16--x25519', kind: 'ike', offset: 12, message: /empty keyword/ },
  { text: 'aes128gcm16-prfsha256', kind: 'esp', offset: 12, message: /ESP proposals have no PRF/ },
  { text: 'aes128gcm16-prfsha256-x25519-esn', kind: 'ike', offset: 29, message: /belong to ESP proposals/ },
  { text: 'aes128gcm16-sha256-prfsha256-x25519', kind: 'ike', offset: 0, message: /an AEAD algorithm takes no integrity algorithm/ },
  { text: 'aes128gcm16-aes128-sha256-prfsha256-x25519', kind: 'ike', offset: 0, message: /AEAD and non-AEAD/ },
  { text: 'aes128-x25519-prfsha256', kind: 'ike', offset: 0, message: /no integrity algorithm/ },
  { text: 'aes128gcm16-x25519', kind: 'ike', offset: 0, message: /no PRF/ },
  { text: 'aes128-sha1-x25519', kind: 'ike', offset: 0, message: /no PRF/ },
  { text: 'aes128gcm16-prfsha256', kind: 'ike', offset: 0, message: /no key exchange method/ },
  { text: 'prfsha256-x25519', kind: 'ike', offset: 0, message: /no encryption algorithm/ },
  { text: 'aes128gcm16-prfsha256-x25519-ke8_mlkem768', kind: 'ike', offset: 29, message: /ke1_ to ke7_/ },
  { text: 'aes128gcm16-prfsha256-x25519-ke1_aes128', kind: 'ike', offset: 29, message: /unknown key exchange method "aes128"/ },
  { text: 'aes128gcm16-ke1_mlkem768', kind: 'esp', offset: 0, message: /need a key exchange method/ },
  { text: 'aes128gcm16-prfsha256-x25519-x25519', kind: 'ike', offset: 29, message: /x25519 given twice/ },
  { text: 'aes128gcm16-aes128gcm16', kind: 'esp', offset: 12, message: /aes128gcm16 given twice/ },
];

for (const c of BAD) {
  test(`bad ${c.kind} proposal ${JSON.stringify(c.text)}: ${c.message.source}`, () => {
    const problems = errors(c.text, c.kind);
    assert.equal(problems.length, 1, problems.join('\n'));
    assert.match(problems[0]!, new RegExp(`^${c.offset}: `));
    assert.match(problems[0]!, c.message);
  });
}

test('a bad keyword is reported at its column in the file, quoted items one further', () => {
  const issues = new IssueList('x.conf');
  const items = [
    { text: 'aes128gcm16-prfsha256-x25519', pos: { line: 4, column: 17 }, quoted: false },
    { text: 'aes128gcm16-prfsha256-x2551', pos: { line: 4, column: 47 }, quoted: true },
  ];
  const specs = parseProposalList(items, 'ike', issues, { line: 4, column: 5 }, 'connections.gw.proposals');
  assert.equal(specs.length, 1);
  assert.throws(() => issues.throwIfAny(), /x\.conf:4:70: connections\.gw\.proposals: unknown algorithm keyword "x2551"/);
});
