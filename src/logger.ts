import pino, { type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from './config.ts';

/**
 * JSON lines on stdout. Redaction is a second line of defence: the code never hands the
 * secret or a session token to the logger in the first place.
 */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'chatbotkit-session-gateway' },
      redact: { paths: ['secret', 'token', '*.token', '*.secret', 'headers.authorization', '*.headers.authorization'], censor: '[redacted]' },
    },
    destination,
  );
}
