/**
 * Messages as tasks see them, with their A|P form (RFC 9242 §3.1: the message as if
 * unencrypted, IntAuth input) computed only when asked. Classes with a method rather than
 * objects with a closure each: one of these is made for every message the engine handles.
 */
import { plainFormOfOutgoing, plainFormOfReceived, type OpenedMessage } from '../crypto/encrypted-message.ts';
import type { DecodedHeader, IkeHeader } from '../wire/header.ts';
import type { DecodedMessage } from '../wire/message.ts';
import type { Payload } from '../wire/payload.ts';
import type { InboundMessage, SentRequest, SentResponse } from './task.ts';
import type { Endpoint } from './types.ts';

export class ReceivedMessage implements InboundMessage {
  readonly header: DecodedHeader;
  readonly raw: Buffer;
  readonly #msg: DecodedMessage;
  readonly #opened: OpenedMessage | undefined;

  constructor(
    msg: DecodedMessage,
    readonly payloads: readonly Payload[],
    readonly remote: Endpoint,
    readonly local: Endpoint,
    opened?: OpenedMessage,
  ) {
    this.header = msg.header;
    this.raw = msg.raw;
    this.#msg = msg;
    this.#opened = opened;
  }

  plainForm(): Buffer {
    return this.#opened ? plainFormOfReceived(this.#msg, this.#opened) : this.raw;
  }
}

/** A request or response as sent: IKE_SA_INIT's plain form is the datagram itself. */
export class SentMessage implements SentRequest, SentResponse {
  readonly #header: IkeHeader;

  constructor(
    header: IkeHeader,
    readonly payloads: readonly Payload[],
    readonly datagrams: readonly Buffer[],
    readonly clear: boolean,
  ) {
    this.#header = header;
  }

  get messageId(): number {
    return this.#header.messageId;
  }

  plainForm(): Buffer {
    return this.clear ? this.datagrams[0]! : plainFormOfOutgoing(this.#header, this.payloads);
  }
}
