import loglevel from 'loglevel';
import { escapeControls } from '../protocol/escape-controls.js';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export type LogFields = Record<string, unknown>;
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

export interface LoggerOptions {
  level: LogLevel;
  format?: LogFormat;
  /** Values that must never reach a log line (the runner token); each is shown as its 8-character preview. */
  secrets?: readonly string[];
  write?: (line: string) => void;
  now?: () => Date;
}

/** The first 8 characters of a secret, enough to tell two tokens apart and no more. */
export function preview(secret: string): string {
  return `${secret.slice(0, 8)}…`;
}

let loggerCount = 0;

/**
 * A loglevel logger that writes one line per call: `[info ] message {"field":…}` for people, or one JSON
 * object per line for log shippers. Every line goes to stderr by default, so stdout stays free for
 * command output, and every secret is redacted wherever it appears.
 */
export function createLogger(options: LoggerOptions): Logger {
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const now = options.now ?? (() => new Date());
  const secrets = (options.secrets ?? []).filter((secret) => secret.length > 0);
  const redact = (text: string) => secrets.reduce((out, secret) => out.split(secret).join(preview(secret)), text);
  const format = options.format ?? 'text';

  // A logger of its own (loglevel copies the factory when it creates one, so each call needs a fresh name), taken out
  // of loglevel's global registry at once: loglevel has no call to release a logger, and getLoggers() hands out that
  // registry itself. The logger lives as long as its user holds it.
  const name = `founderos-runner#${++loggerCount}`;
  const logger = loglevel.getLogger(name);
  delete loglevel.getLoggers()[name];
  logger.methodFactory = (methodName) => (message: string, fields?: LogFields) => {
    const level = methodName === 'trace' ? 'debug' : methodName;
    const line =
      format === 'json'
        ? safeJson({ time: now().toISOString(), level, message, ...fields })
        : `[${level.padEnd(5)}] ${message}${fields && Object.keys(fields).length ? ` ${safeJson(fields)}` : ''}`;
    write(redact(escapeControls(line)));
  };
  logger.setLevel(options.level, false);
  logger.rebuild();
  return {
    debug: (message, fields) => logger.debug(message, fields),
    info: (message, fields) => logger.info(message, fields),
    warn: (message, fields) => logger.warn(message, fields),
    error: (message, fields) => logger.error(message, fields),
  };
}

function safeJson(value: unknown): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(value, (_key, field: unknown) => {
    if (typeof field === 'bigint') return field.toString();
    if (field instanceof Error) return { name: field.name, message: field.message };
    if (typeof field === 'object' && field !== null) {
      if (seen.has(field)) return '[circular]';
      seen.add(field);
    }
    return field;
  });
}
