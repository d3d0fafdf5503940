/**
 * The logging surface the member needs (pino's `logger.info(fields, message)` shape), so
 * the daemon runs with pino in the CLI and with a recorder or nothing in tests. Fields
 * never carry keys or secrets: callers pass names, SPIs and addresses only.
 */
export type LogFields = Readonly<Record<string, unknown>>;

export interface Logger {
  debug(fields: LogFields, message: string): void;
  info(fields: LogFields, message: string): void;
  warn(fields: LogFields, message: string): void;
  error(fields: LogFields, message: string): void;
}

const nothing = (): void => {};
export const silentLogger: Logger = { debug: nothing, info: nothing, warn: nothing, error: nothing };
