/**
 * IKEv2 / G-IKEv2 key schedules: SKEYSEED and SK_* (RFC 7296 §2.14, §2.18), additional key
 * exchanges (RFC 9370 §2.2.2, §2.2.4), Child SA KEYMAT (RFC 7296 §2.17), GSK_w (RFC 9838
 * §3.1.1), PSK AUTH and signed octets (RFC 7296 §2.15) with IntAuth (RFC 9242 §3.3).
 *
 * Nonces are the Nonce payload data (no generic header); SPIs are the 8-octet IKE SPIs;
 * shared secrets are the KE method outputs (g^ir, ML-KEM shared secret, ...).
 */
import { GkmError } from '../errors.ts';
import { GSK_W_LABEL } from '../registry/group.ts';
import { suiteKeySizes, type ProtectionSuite, type SuiteKeySizes } from './algorithms.ts';
import { prfPlus, type Octets, type Prf } from './prf.ts';
import { wipe } from './zeroize.ts';

const KEY_PAD_FOR_IKEV2 = Buffer.from('Key Pad for IKEv2', 'ascii'); // RFC 7296 §2.15, no NUL
const GSK_W_SEED = Buffer.from(GSK_W_LABEL, 'ascii');
const EMPTY = Buffer.alloc(0);

/**
 * Copies consecutive slices of `material` into one allocation of its own and returns views
 * of it: each key can still be wiped on its own, and the keys of a long-lived SA never sit in
 * Node's shared 8 KiB Buffer pool, where one small slice keeps a whole slab alive.
 */
function split(material: Buffer, lengths: readonly number[]): Buffer[] {
  const own = Buffer.allocUnsafeSlow(lengths.reduce((a, b) => a + b, 0));
  material.copy(own, 0, 0, own.length);
  let off = 0;
  return lengths.map((len) => own.subarray(off, (off += len)));
}

function checkSpi(spi: Buffer, field: string): void {
  if (spi.length !== 8) throw new GkmError('GKM_CRYPTO_INTERNAL', { field, detail: `IKE SPI of ${spi.length} octets` });
}

// --- IKE SA -----------------------------------------------------------------------------

/** Sizes of the IKE SA keys: SK_d/SK_pi/SK_pr (PRF key size), SK_a* and SK_e* per direction. */
export interface IkeKeySizes extends SuiteKeySizes {
  readonly prf: number;
}

export function ikeKeySizes(prf: Prf, suite: ProtectionSuite): IkeKeySizes {
  return { prf: prf.keyLength, ...suiteKeySizes(suite) };
}

export interface IkeSaKeys {
  readonly skD: Buffer;
  readonly skAi: Buffer;
  readonly skAr: Buffer;
  /** Encryption keys, salt included at the end for combined modes (RFC 5282 §7.1). */
  readonly skEi: Buffer;
  readonly skEr: Buffer;
  readonly skPi: Buffer;
  readonly skPr: Buffer;
}

/** SKEYSEED = prf(Ni | Nr, g^ir) (RFC 7296 §2.14). HMAC PRFs take the full nonces as key. */
export function skeyseed(prf: Prf, ni: Buffer, nr: Buffer, sharedSecret: Buffer): Buffer {
  return prf.compute(Buffer.concat([ni, nr]), sharedSecret);
}

/**
 * {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr)
 * (RFC 7296 §2.14), in that order. With AEAD SK_ai/SK_ar are empty.
 */
export function deriveIkeKeys(
  prf: Prf,
  seed: Buffer,
  ni: Buffer,
  nr: Buffer,
  spiI: Buffer,
  spiR: Buffer,
  sizes: IkeKeySizes,
): IkeSaKeys {
  checkSpi(spiI, 'SPIi');
  checkSpi(spiR, 'SPIr');
  return splitIkeKeys(prfPlus(prf, seed, [ni, nr, spiI, spiR], ikeKeymatLength(sizes)), sizes);
}

const ikeKeyLengths = (sizes: IkeKeySizes): number[] => [sizes.prf, sizes.integ, sizes.integ, sizes.encr, sizes.encr, sizes.prf, sizes.prf];

/** Octets of prf+ output the seven IKE SA keys take (RFC 7296 §2.14). */
export function ikeKeymatLength(sizes: IkeKeySizes): number {
  return ikeKeyLengths(sizes).reduce((a, b) => a + b, 0);
}

/** SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr from prf+ output (copied; `keymat` is wiped). */
export function splitIkeKeys(keymat: Buffer, sizes: IkeKeySizes): IkeSaKeys {
  const lengths = ikeKeyLengths(sizes);
  if (keymat.length < ikeKeymatLength(sizes)) throw new GkmError('GKM_CRYPTO_INTERNAL', { detail: `${keymat.length} octets of IKE key material` });
  const [skD, skAi, skAr, skEi, skEr, skPi, skPr] = split(keymat, lengths) as [
    Buffer, Buffer, Buffer, Buffer, Buffer, Buffer, Buffer,
  ];
  wipe(keymat);
  return { skD, skAi, skAr, skEi, skEr, skPi, skPr };
}

/** IKE_SA_INIT keys: SKEYSEED from the shared secret, then deriveIkeKeys; SKEYSEED is wiped. */
export function deriveInitialIkeKeys(
  prf: Prf,
  ni: Buffer,
  nr: Buffer,
  sharedSecret: Buffer,
  spiI: Buffer,
  spiR: Buffer,
  sizes: IkeKeySizes,
): IkeSaKeys {
  const seed = skeyseed(prf, ni, nr, sharedSecret);
  try {
    return deriveIkeKeys(prf, seed, ni, nr, spiI, spiR, sizes);
  } finally {
    wipe(seed);
  }
}

/**
 * The secrets part of the CREATE_CHILD_SA seeds: `SK(0) | Ni | Nr | SK(1) | ... | SK(n)`
 * (RFC 9370 §2.2.4: additional secrets come after the nonces); no secret gives `Ni | Nr`.
 */
export function keSeed(secrets: Buffer | readonly Buffer[] | undefined, ni: Buffer, nr: Buffer): Buffer[] {
  const list = secrets === undefined ? [] : Buffer.isBuffer(secrets) ? [secrets] : secrets;
  const [first, ...rest] = list;
  return first === undefined ? [ni, nr] : [first, ni, nr, ...rest];
}

/**
 * SKEYSEED = prf(SK_d(old), g^ir(new) | Ni | Nr) for an IKE SA rekey (RFC 7296 §2.18), or with
 * several key exchanges prf(SK_d(old), SK(0) | Ni | Nr | SK(1) | ... | SK(n)) (RFC 9370 §2.2.4).
 * Use the old SA's PRF: a rekey that changes the PRF should be refused upstream.
 *
 * The same form, with one secret, gives SKEYSEED(n) = prf(SK_d(n-1), SK(n) | Ni | Nr) after an
 * additional key exchange in IKE_INTERMEDIATE (RFC 9370 §2.2.2).
 */
export function rekeyIkeSkeyseed(
  prf: Prf,
  oldSkD: Buffer,
  newSecrets: Buffer | readonly Buffer[],
  ni: Buffer,
  nr: Buffer,
): Buffer {
  return prf.compute(oldSkD, keSeed(newSecrets, ni, nr));
}

/** Keys of the new IKE SA after a rekey (new nonces and new SPIs); SKEYSEED is wiped. */
export function deriveRekeyedIkeKeys(
  prf: Prf,
  oldSkD: Buffer,
  newSecrets: Buffer | readonly Buffer[],
  ni: Buffer,
  nr: Buffer,
  spiI: Buffer,
  spiR: Buffer,
  sizes: IkeKeySizes,
): IkeSaKeys {
  const seed = rekeyIkeSkeyseed(prf, oldSkD, newSecrets, ni, nr);
  try {
    return deriveIkeKeys(prf, seed, ni, nr, spiI, spiR, sizes);
  } finally {
    wipe(seed);
  }
}

/**
 * Key update after the n-th additional key exchange in IKE_INTERMEDIATE (RFC 9370 §2.2.2):
 * SKEYSEED(n) = prf(SK_d(n-1), SK(n) | Ni | Nr), then prf+ with the **IKE_SA_INIT** nonces and
 * the IKE SA's SPIs. The next message is protected with the result; SKEYSEED(n) is wiped.
 */
export function deriveIkeKeysAfterAdditionalKe(
  prf: Prf,
  previousSkD: Buffer,
  additionalSecret: Buffer,
  ni: Buffer,
  nr: Buffer,
  spiI: Buffer,
  spiR: Buffer,
  sizes: IkeKeySizes,
): IkeSaKeys {
  return deriveRekeyedIkeKeys(prf, previousSkD, additionalSecret, ni, nr, spiI, spiR, sizes);
}

// --- Child SA -----------------------------------------------------------------------------

/** ESP key sizes of a Child SA suite (salt included; RFC 7296 §2.17). */
export function childKeySizes(suite: ProtectionSuite): SuiteKeySizes {
  return suiteKeySizes(suite, true);
}

/**
 * KEYMAT = prf+(SK_d, Ni | Nr), or prf+(SK_d, g^ir(new) | Ni | Nr) with PFS, or with several
 * key exchanges prf+(SK_d, SK(0) | Ni | Nr | SK(1) | ... | SK(n)) (RFC 7296 §2.17, RFC 9370).
 */
export function childKeymat(
  prf: Prf,
  skD: Buffer,
  ni: Buffer,
  nr: Buffer,
  length: number,
  secrets?: Buffer | readonly Buffer[],
): Buffer {
  return prfPlus(prf, skD, keSeed(secrets, ni, nr), length);
}

export interface ChildSaKeys {
  /** Initiator-to-responder encryption key (salt included). */
  readonly encrI: Buffer;
  readonly integI: Buffer;
  /** Responder-to-initiator encryption key (salt included). */
  readonly encrR: Buffer;
  readonly integR: Buffer;
}

/**
 * Child SA keys taken from KEYMAT in the order encr(i->r), integ(i->r), encr(r->i), integ(r->i)
 * (RFC 7296 §2.17: for each direction the encryption key first, then the integrity key).
 */
export function deriveChildKeys(
  prf: Prf,
  skD: Buffer,
  ni: Buffer,
  nr: Buffer,
  sizes: SuiteKeySizes,
  secrets?: Buffer | readonly Buffer[],
): ChildSaKeys {
  const lengths = [sizes.encr, sizes.integ, sizes.encr, sizes.integ];
  const keymat = childKeymat(prf, skD, ni, nr, 2 * (sizes.encr + sizes.integ), secrets);
  const [encrI, integI, encrR, integR] = split(keymat, lengths) as [Buffer, Buffer, Buffer, Buffer];
  wipe(keymat);
  return { encrI, integI, encrR, integR };
}

// --- G-IKEv2 --------------------------------------------------------------------------------

/**
 * GSK_w = prf+(SK_d, "Key Wrap for G-IKEv2") (RFC 9838 §3.1.1), `kwaKeyLength` octets (the KWA
 * key size). Use the final SK_d of the IKE SA (after any PPK mixing); derive again on rekey.
 */
export function gskW(prf: Prf, skD: Buffer, kwaKeyLength: number): Buffer {
  return prfPlus(prf, skD, GSK_W_SEED, kwaKeyLength);
}

// --- AUTH -----------------------------------------------------------------------------------

/**
 * InitiatorSignedOctets = RealMessage1 | NonceRData | prf(SK_pi, RestOfInitIDPayload)
 * [| IntAuth] (RFC 7296 §2.15, RFC 9242 §3.3.2); the responder's is the mirror image with
 * RealMessage2, NonceIData and SK_pr.
 *
 * @param realMessage the IKE_SA_INIT message exactly as sent (the last one, with cookie / KE fix)
 * @param peerNonceData the other side's Nonce payload data
 * @param skP SK_pi for the initiator's octets, SK_pr for the responder's
 * @param idPayloadBody RestOfIDPayload = ID Type(1) | RESERVED(3) | Identification Data
 * @param intAuth the value of intAuthValue(), only when IKE_INTERMEDIATE exchanges took place
 */
export function signedOctets(
  realMessage: Buffer,
  peerNonceData: Buffer,
  prf: Prf,
  skP: Buffer,
  idPayloadBody: Buffer,
  intAuth?: Buffer,
): Buffer {
  return Buffer.concat([realMessage, peerNonceData, prf.compute(skP, idPayloadBody), intAuth ?? EMPTY]);
}

/** AUTH = prf(prf(Shared Secret, "Key Pad for IKEv2"), <SignedOctets>) (RFC 7296 §2.15). */
export function pskAuth(prf: Prf, psk: Buffer, octets: Octets): Buffer {
  const padded = prf.compute(psk, KEY_PAD_FOR_IKEV2);
  try {
    return prf.compute(padded, octets);
  } finally {
    wipe(padded);
  }
}

/**
 * One IntAuth chaining step (RFC 9242 §3.3.2): IntAuth_iN = prf(SK_pi, IntAuth_i(N-1) | A|P),
 * with IntAuth_i0 empty (pass undefined); the responder's chain uses SK_pr. SK_p is the key in
 * force for that IKE_INTERMEDIATE message. `aAndP` is the message as if unencrypted (IKE header,
 * unencrypted payloads, SK generic header, inner payloads; lengths recomputed), built by the
 * wire layer.
 */
export function intAuthStep(prf: Prf, skP: Buffer, previous: Buffer | undefined, aAndP: Buffer): Buffer {
  return prf.compute(skP, [previous ?? EMPTY, aAndP]);
}

/**
 * IntAuth = IntAuth_iN | IntAuth_rN | IKE_AUTH_MID (RFC 9242 §3.3.2), the MID being that of the
 * first IKE_AUTH request, as 4 octets in network order.
 */
export function intAuthValue(intAuthI: Buffer, intAuthR: Buffer, ikeAuthMessageId: number): Buffer {
  const mid = Buffer.alloc(4);
  mid.writeUInt32BE(ikeAuthMessageId);
  return Buffer.concat([intAuthI, intAuthR, mid]);
}
