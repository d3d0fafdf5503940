/** ESP codec (RFC 4303) for AES-GCM, ChaCha20-Poly1305, AES-GMAC and AES-CBC + HMAC-SHA2. */
export { espSuite, keymatLength, splitKeymat } from './suite.ts';
export type { EspAlgorithms, EspKeys, EspSuite, EspSuiteKind } from './suite.ts';
export { createEspCipher, ESP_HEADER_LENGTH } from './cipher.ts';
export type { EspCipher } from './cipher.ts';
export { CounterIv, SequenceIv, senderIdFromIv, checkSenderId } from './iv.ts';
export type { IvGenerator } from './iv.ts';
export { inferSeqHi, MAX_SEQ64 } from './esn.ts';
export { NH_DUMMY } from './trailer.ts';
export type { EspSaParams, SnValue } from './params.ts';
export { EspSender } from './sender.ts';
export type { EspSenderOptions } from './sender.ts';
export { EspReceiver } from './receiver.ts';
export type { EspPayload, EspReceiverOptions } from './receiver.ts';
