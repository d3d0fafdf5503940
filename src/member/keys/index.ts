/** GM side of group key handling: unwrap and check keys, the Working Key Path, Sender-ID checks, fingerprints (RFC 9838 §2.5, §3.3). */
export * from './fingerprint.ts';
export * from './unwrap.ts';
export * from './working-key-path.ts';
export * from './key-path.ts';
export * from './sender-ids.ts';
export * from './member-group-keys.ts';
