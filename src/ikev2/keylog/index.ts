export * from './wireshark.ts';
export * from './writer.ts';
