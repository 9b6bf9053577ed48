/**
 * Structured logs (pino). Secrets are redacted by path wherever they might appear. In a terminal
 * (stdout is a TTY) the lines are pretty-printed by pino-pretty for a person to read; anywhere
 * else (a pipe, a file, a container's log driver) they stay JSON lines for machines. LOG_FORMAT
 * overrides the guess.
 */
import { pino, type Logger } from 'pino';
import { createRequire } from 'node:module';
import type PinoPretty from 'pino-pretty';

export type { Logger };

export type LogFormat = 'auto' | 'pretty' | 'json';

const REDACT = {
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
};

/** Whether `format` means pretty lines on this stdout. */
export function wantsPretty(format: LogFormat = 'auto', isTTY: boolean = Boolean(process.stdout.isTTY)): boolean {
  return format === 'pretty' || (format === 'auto' && isTTY);
}

export function createLogger(level: string, format: LogFormat = 'auto'): Logger {
  // JSON lines go through an asynchronous destination: a write() per batch of lines, not one
  // blocking write per line on the request path (the access log writes one per request). pino
  // flushes what is buffered when the process exits.
  if (!wantsPretty(format)) return pino({ level, redact: REDACT }, pino.destination({ dest: 1, sync: false }));
  // In-process and synchronous: a terminal's volume is small, and nothing is lost at exit.
  // Loaded only for a terminal: a service writing JSON lines does not hold it in memory.
  const pretty = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
  const stream = pretty({ colorize: Boolean(process.stdout.isTTY), sync: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' });
  return pino({ level, redact: REDACT }, stream);
}
