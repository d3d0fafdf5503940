/** Parameters shared by both directions of an ESP SA, and their validation. */
import { GkmError } from '../../ikev2/errors.ts';
import { SnId } from '../../ikev2/registry/transform.ts';
import { createEspCipher, type EspCipher } from './cipher.ts';
import { checkSenderId } from './iv.ts';
import { espSuite, type EspAlgorithms, type EspKeys } from './suite.ts';

export type SnValue = (typeof SnId)[keyof typeof SnId];

export interface EspSaParams {
  /** SPI; 0 is local-only and 1-255 are reserved (RFC 4303 §2.1). */
  readonly spi: number;
  readonly algorithms: EspAlgorithms;
  readonly keys: EspKeys;
  /** Sequence Numbers transform (RFC 9827 / RFC 9838): 0 32-bit, 1 ESN, 2 32-bit unspecified. */
  readonly sn?: SnValue;
  /** GWP_SENDER_ID_BITS for multi-sender group SAs with counter-mode suites (RFC 9838 §2.5). */
  readonly senderIdBits?: number;
}

export interface ResolvedParams {
  readonly spi: number;
  readonly sn: SnValue;
  readonly senderIdBits: number;
  readonly cipher: EspCipher;
}

const bad = (field: string, detail: string): GkmError => new GkmError('GKM_ESP_BAD_CONFIG', { field, detail });

export function resolveParams(p: EspSaParams): ResolvedParams {
  if (!Number.isInteger(p.spi) || p.spi < 256 || p.spi > 0xffff_ffff) throw bad('spi', `${p.spi}: 256..2^32-1`);
  const sn = p.sn ?? SnId.SEQ32;
  if (sn !== SnId.SEQ32 && sn !== SnId.ESN64 && sn !== SnId.UNSPECIFIED32) throw bad('sn', String(sn));
  const suite = espSuite(p.algorithms);
  const senderIdBits = p.senderIdBits ?? 0;
  if (senderIdBits !== 0) {
    checkSenderId(senderIdBits);
    if (!suite.counterIv) throw bad('senderIdBits', 'Sender-IDs apply to counter-mode suites only (RFC 6054)');
    // RFC 9838 §2.6: ESN MUST NOT be used for multicast Data-Security SAs.
    if (sn === SnId.ESN64) throw bad('sn', 'ESN with Sender-IDs (multi-sender group SA)');
  }
  return { spi: p.spi, sn, senderIdBits, cipher: createEspCipher(suite, p.keys) };
}
