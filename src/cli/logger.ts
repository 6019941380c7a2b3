import pino, { type Logger } from 'pino';

/** Structured JSON logs to stderr, so stdout stays for what the user asked for. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { pid: process.pid } }, pino.destination(2));
}
