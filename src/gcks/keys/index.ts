/** GCKS key material: SPIs, Key IDs, Sender-IDs, SA keys, the LKH tree and KD building (RFC 9838 §2.5, §3, App. A). */
export * from './random.ts';
export * from './key-ids.ts';
export * from './spi-allocator.ts';
export * from './sender-ids.ts';
export * from './group-sa-keys.ts';
export * from './key-download.ts';
export * from './key-tree.ts';
export * from './group-keys.ts';
export * from './wrap-cache.ts';
export * from './leaf-keys.ts';
