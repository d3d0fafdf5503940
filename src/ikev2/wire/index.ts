export * from './reader.ts';
export * from './writer.ts';
export * from './attributes.ts';
export * from './header.ts';
export * from './payload.ts';
export * from './message.ts';
export * from './payloads/index.ts';
