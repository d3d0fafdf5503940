/** Shared helpers for payload codec tests: decode a lone body through the real chain decoder. */
import assert from 'node:assert/strict';
import { isGkmError, type ErrorCode } from '../../../src/ikev2/errors.ts';
import { NotifyType } from '../../../src/ikev2/registry/notify.ts';
import { decodePayloadChain, encodeChain, payloadBody, type Payload } from '../../../src/ikev2/wire/payload.ts';

/** Body bytes → the single payload of type `type` (generic header added, strictness of the framework applies). */
export function decodeBody(type: number, body: Buffer | string): Payload {
  const b = typeof body === 'string' ? Buffer.from(body.replace(/\s+/g, ''), 'hex') : body;
  const hdr = Buffer.from([0, 0, 0, 0]);
  hdr.writeUInt16BE(b.length + 4, 2);
  const { payloads } = decodePayloadChain(type, Buffer.concat([hdr, b]));
  assert.equal(payloads.length, 1);
  return payloads[0]!;
}

/** The body bytes a payload encodes to, as hex. */
export const bodyHex = (p: Payload): string => payloadBody(p).toString('hex');

/** Whole payload (generic header included) as hex. */
export const payloadHex = (p: Payload): string => encodeChain([p]).bytes.toString('hex');

export const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** `hex` with byte `at` replaced (or bytes from `at` when `value` is several bytes). */
export function patch(s: string, at: number, value: string): Buffer {
  const b = hex(s);
  hex(value).copy(b, at);
  return b;
}

/** Matcher: a wire error with this code, answered with INVALID_SYNTAX, naming a field that matches. */
export function wireError(code: ErrorCode, field?: RegExp): (e: unknown) => boolean {
  return (e) => {
    assert.ok(isGkmError(e), `expected GkmError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.equal(e.notify, NotifyType.INVALID_SYNTAX);
    if (field) assert.match(e.field ?? '', field);
    return true;
  };
}

export const encodeError = (field?: RegExp) => (e: unknown): boolean => {
  assert.ok(isGkmError(e, 'GKM_WIRE_ENCODE'), `expected GKM_WIRE_ENCODE, got ${String(e)}`);
  if (field) assert.match(e.field ?? '', field);
  return true;
};
