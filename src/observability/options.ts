export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const LOG_FORMATS = ['json', 'pretty'] as const;
/** `json` lines, or `pretty` for people reading a terminal (needs the pino-pretty dev dependency). */
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface ObservabilityOptions {
  logLevel: LogLevel;
  logFormat: LogFormat;
  /** Whether OTEL_* variables ask for traces; the SDK reads the rest of them itself. */
  tracing: boolean;
}
