/**
 * Replay protection of one Rekey SA on the GM (RFC 9838 §2.4.1, §8.2.4; digest §1 "Rekey
 * SA, GM side", §12 item 1). GSA_REKEY uses no window: Message IDs only increase.
 *
 *  - before any message: accept an ID ≥ GSA_INITIAL_MESSAGE_ID (0 when absent);
 *  - afterwards: accept only IDs > the last accepted one;
 *  - a GSA_INITIAL_MESSAGE_ID below an ID already seen for the group is stale: ignored.
 *
 * `accept` is called after the message's ICV and AUTH verified (processing order §12 item 2).
 */
export class RekeyMessageIds {
  #initial: number;
  #lastAccepted: number | undefined;

  constructor(initialMessageId = 0) {
    this.#initial = initialMessageId;
  }

  /** Highest accepted Message ID, undefined before the first GSA_REKEY. */
  get lastAccepted(): number | undefined {
    return this.#lastAccepted;
  }

  /** The first acceptable Message ID. */
  get next(): number {
    return this.#lastAccepted === undefined ? this.#initial : this.#lastAccepted + 1;
  }

  wouldAccept(messageId: number): boolean {
    return messageId >= this.next;
  }

  /** True (and recorded) for a fresh Message ID; false: drop the message. */
  accept(messageId: number): boolean {
    if (!this.wouldAccept(messageId)) return false;
    this.#lastAccepted = messageId;
    return true;
  }

  /**
   * A GSA_INITIAL_MESSAGE_ID for this Rekey SA from a later registration: taken only when it
   * does not go back behind what was seen. Returns whether it was applied.
   */
  applyInitial(initialMessageId: number): boolean {
    if (initialMessageId < this.next) return false;
    this.#initial = initialMessageId;
    this.#lastAccepted = undefined;
    return true;
  }
}
