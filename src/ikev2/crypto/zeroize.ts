/**
 * Best-effort wiping of secrets held in Buffers (SKEYSEED, shared secrets, keying material).
 *
 * JavaScript gives no guarantee that no other copy exists (the GC may have moved or copied
 * the bytes, and OpenSSL keeps its own copies while a context lives), but overwriting the
 * buffers we own shortens the life of the secrets we created.
 */
export function wipe(...bufs: ReadonlyArray<Uint8Array | null | undefined>): void {
  for (const b of bufs) b?.fill(0);
}

/** Wipes every Buffer-valued property of a key bundle (e.g. the result of deriveIkeKeys). */
export function wipeKeys(keys: object): void {
  for (const v of Object.values(keys)) if (v instanceof Uint8Array) v.fill(0);
}
