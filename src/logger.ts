import pino, { type DestinationStream, type Logger } from 'pino';

/**
 * The process logger. Secrets never reach it: auth headers and cookies are redacted wherever they
 * appear, and accounts are referred to by their short id (never the token).
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          'req.headers["x-api-key"]',
          'headers.authorization',
          'headers.cookie',
          'token',
          '*.token',
          'password',
          '*.password',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
