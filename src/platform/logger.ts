/** Structured logs (pino, JSON lines). Secrets are redacted by path wherever they might appear. */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string): Logger {
  return pino({
    level,
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'req.headers.token',
        '*.password',
        '*.secret',
        '*.session_key',
        '*.token',
        '*.password1',
        '*.password2',
      ],
      censor: '[redacted]',
    },
  });
}
