/**
 * pino logger for the GCKS. Any field named like a secret (SECRET_FIELD_NAMES: key, psk,
 * secret, privateKey, …), at the top level or up to four levels down, including in arrays,
 * is replaced by "[redacted]": keys never reach logs. Log key IDs, SPIs and fingerprints.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import { SECRET_FIELD_NAMES } from '../../store/index.ts';
import type { GcksConfig } from './config.ts';

export type { Logger } from 'pino';

const DEPTH = 4;

/** Redaction paths: each secret name at depths 0..DEPTH, e.g. "psk", "*.psk", "*.*.psk". */
export const REDACT_PATHS: readonly string[] = SECRET_FIELD_NAMES.flatMap((name) =>
  Array.from({ length: DEPTH + 1 }, (_, depth) => [...Array<string>(depth).fill('*'), name].join('.')),
);

export function createLogger(config: Pick<GcksConfig, 'log'>, destination?: DestinationStream): Logger {
  const options = {
    level: config.log.level,
    base: { service: 'gcks' },
    redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
  };
  return destination ? pino(options, destination) : pino(options);
}
