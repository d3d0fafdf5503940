/**
 * Property tests over the whole wire layer (RFC 7296 payloads and messages):
 * round trips, truncation and byte flips. A decoder may refuse input only with a GkmError.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { GkmError } from '../../../src/ikev2/errors.ts';
import { IKE_HEADER_LENGTH } from '../../../src/ikev2/registry/exchange.ts';
import { decodeMessage, encodeMessage, type DecodedMessage, type IkeMessage } from '../../../src/ikev2/wire/message.ts';
import { decodePayloadChain, encodeChain, payloadBody, type Payload } from '../../../src/ikev2/wire/payload.ts';
import { notify, NotifyData, payloadCodecs } from '../../../src/ikev2/wire/payloads/index.ts';
import { Reader } from '../../../src/ikev2/wire/reader.ts';
import { arbChain, arbMessage, arbPayload, bytes, u8 } from './arbitraries.ts';

const RUNS = { numRuns: 300 };
const PREFIX_RUNS = { numRuns: 150 };

/** Runs `fn`; returns its value, or undefined when it refused with a GkmError. Anything else fails the property. */
function decodeOrRefuse<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (e) {
    if (e instanceof GkmError) return undefined;
    throw e;
  }
}

function mustRefuse(fn: () => unknown): void {
  assert.throws(fn, (e) => e instanceof GkmError, 'decoded a truncated input');
}

const headerOf = (m: IkeMessage) => ({ ...m.header, minorVersion: m.header.minorVersion ?? 0 });
const comparableHeader = (d: DecodedMessage) => {
  const { spiI, spiR, exchangeType, flags, messageId, minorVersion } = d.header;
  return { spiI, spiR, exchangeType, flags, messageId, minorVersion };
};

test('every payload round-trips through a chain', () => {
  fc.assert(
    fc.property(arbPayload, (p) => {
      const { first, bytes } = encodeChain([p]);
      assert.deepEqual(decodePayloadChain(first, bytes).payloads, [p]);
    }),
    RUNS,
  );
});

test('messages round-trip', () => {
  fc.assert(
    fc.property(arbMessage, (m) => {
      const raw = encodeMessage(m);
      const d = decodeMessage(raw);
      assert.deepEqual(comparableHeader(d), headerOf(m));
      assert.deepEqual(d.payloads, m.payloads);
      assert.deepEqual(encodeMessage(d), raw);
    }),
    RUNS,
  );
});

test('every truncated prefix of a valid message is refused with a GkmError', () => {
  fc.assert(
    fc.property(arbMessage, (m) => {
      const raw = encodeMessage(m);
      for (let n = 0; n < raw.length; n++) mustRefuse(() => decodeMessage(raw.subarray(0, n)));
    }),
    PREFIX_RUNS,
  );
});

test('every truncated prefix of a non-empty payload chain is refused with a GkmError', () => {
  fc.assert(
    fc.property(arbChain.filter((c) => c.length > 0), (chain) => {
      const { first, bytes } = encodeChain(chain);
      for (let n = 0; n < bytes.length; n++) mustRefuse(() => decodePayloadChain(first, bytes.subarray(0, n)));
    }),
    PREFIX_RUNS,
  );
});

test('payload bodies cut short are accepted or refused with a GkmError, nothing else', () => {
  fc.assert(
    fc.property(arbPayload, (p) => {
      const codec = wireCodec(p);
      if (!codec) return;
      const body = payloadBody(p);
      for (let n = 0; n < body.length; n++) {
        decodeOrRefuse(() => {
          const r = new Reader(body.subarray(0, n), 'body');
          codec.decode(r);
          r.end();
        });
      }
    }),
    PREFIX_RUNS,
  );
});

function wireCodec(p: Payload) {
  return p.type === 'unknown' ? undefined : payloadCodecs.get(p.type);
}

/** Flip 1..4 random bytes (by XOR with a non-zero mask). */
const flips = (length: number) =>
  fc.array(fc.tuple(fc.nat({ max: Math.max(0, length - 1) }), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 });

function flipped(b: Buffer, edits: readonly [number, number][]): Buffer {
  const out = Buffer.from(b);
  for (const [at, mask] of edits) if (at < out.length) out[at]! ^= mask;
  return out;
}

/** What decodes must re-encode, and decode again to the same payloads. */
function assertStable(payloads: Payload[]): void {
  const again = encodeChain(payloads);
  assert.deepEqual(decodePayloadChain(again.first, again.bytes).payloads, payloads);
}

test('byte flips in a message: only GkmError, and whatever decodes is stable', () => {
  fc.assert(
    fc.property(
      arbMessage.map(encodeMessage).chain((raw) => fc.tuple(fc.constant(raw), flips(raw.length))),
      ([raw, edits]) => {
        const d = decodeOrRefuse(() => decodeMessage(flipped(raw, edits)));
        if (d) assertStable(d.payloads);
      },
    ),
    RUNS,
  );
});

test('byte flips in a payload chain (no header to stop them early): only GkmError', () => {
  fc.assert(
    fc.property(
      arbChain
        .filter((c) => c.length > 0)
        .map(encodeChain)
        .chain((c) => fc.tuple(fc.constant(c), flips(c.bytes.length), fc.boolean())),
      ([{ first, bytes }, edits, flipFirst]) => {
        const firstType = flipFirst ? (first ^ 0x01) & 0xff : first;
        const d = decodeOrRefuse(() => decodePayloadChain(firstType, flipped(bytes, edits)));
        if (d) assertStable(d.payloads);
      },
    ),
    RUNS,
  );
});

test('random bytes as a chain of any first type: only GkmError', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 200 }), (first, b) => {
      decodeOrRefuse(() => decodePayloadChain(first, Buffer.from(b)));
    }),
    RUNS,
  );
});

test('random bytes after a valid header: only GkmError', () => {
  fc.assert(
    fc.property(arbMessage, fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 200 }), (m, first, tail) => {
      const hdr = Buffer.from(encodeMessage({ header: m.header, payloads: [] }));
      hdr[16] = first;
      const raw = Buffer.concat([hdr, tail]);
      raw.writeUInt32BE(raw.length, 24);
      assert.equal(hdr.length, IKE_HEADER_LENGTH);
      decodeOrRefuse(() => decodeMessage(raw));
    }),
    RUNS,
  );
});

const notifyCodecs = Object.values(NotifyData);

test('typed notify data: parse accepts or raises GkmError; what parses rebuilds to the same value', () => {
  fc.assert(
    fc.property(fc.constantFrom(...notifyCodecs), u8, bytes(0, 8), bytes(0, 72), (codec, protocolId, spi, data) => {
      const n = notify(codec.notifyType, data, protocolId, spi);
      const v = decodeOrRefuse(() => codec.parse(n));
      if (v === undefined) return;
      assert.deepEqual(codec.parse(codec.build(v as never)), v);
    }),
    RUNS,
  );
});
