/**
 * The console audit transport: one line per decision, for development and for hosts whose logs
 * already go somewhere durable (stdout of a server, the browser's devtools).
 */
import type { AuditRecord, AuditTransport } from './audit-record.ts';

/** Options of {@link consoleTransport}. */
export interface ConsoleTransportOptions {
  /** `json` (default): the record as one JSON line. `text`: a short human line. */
  format?: 'json' | 'text';
  /** Where lines go; default `console.info`. */
  write?: (line: string) => void;
}

/**
 * A transport that writes each record to the console.
 * @example
 * const perso = await Perso.load({ policy: './policy.json', audit: consoleTransport() });
 */
export function consoleTransport(options: ConsoleTransportOptions = {}): AuditTransport {
  const write = options.write ?? ((line: string) => console.info(line));
  const format = options.format ?? 'json';
  return Object.freeze({
    emit(record: AuditRecord): void {
      write(format === 'json' ? JSON.stringify(record) : formatText(record));
    },
  });
}

function formatText(record: AuditRecord): string {
  const shadow = record.enforced ? '' : ' (shadow: not enforced)';
  return `perso ${record.time} ${record.decision}${shadow} ${oneLine(record.tool)} as ${oneLine(record.role)}: ${oneLine(record.reason)}`;
}

// Tool names, roles and reasons can carry request text; one record must stay one log line, so line
// breaks and other control characters are written as escapes, never as themselves.
function oneLine(text: string): string {
  return text.replace(
    /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
