export { DEFAULT_CONFIG, LOG_LEVELS, loadConfig, type GcksConfig, type LoadConfigOptions, type LoadedConfig, type LogLevel } from './config.ts';
export { createLogger, REDACT_PATHS, type Logger } from './logger.ts';
export { InputReader } from './input.ts';
