import pino, { type DestinationStream, type Logger } from 'pino';
import { traceLogFields, tracingOn } from './tracing/tracing.js';

/**
 * The process logger. Secrets never reach it: auth headers and cookies are redacted wherever they
 * appear, and accounts are referred to by their short id (never the token). With tracing on
 * (started before the logger), a line written while a span is active carries `trace_id` and
 * `span_id`.
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
      ...(tracingOn() ? { mixin: traceLogFields } : {}),
    },
    destination,
  );
}
