/**
 * The console audit transport: one line per decision, for development and for hosts whose logs
 * already go somewhere durable (stdout of a server, the browser's devtools).
 */
import type {
  AuditEntry,
  AuditRecord,
  AuditTransport,
  ToolResultAuditRecord,
} from './audit-record.ts';
import { isToolResultRecord } from './audit-record.ts';
import { escapeControls } from '../encoding/text.ts';

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
    emitResult(record: ToolResultAuditRecord): void {
      write(format === 'json' ? JSON.stringify(record) : formatText(record));
    },
  });
}

// Tool names, roles and reasons can carry request text; one record must stay one log line.
function formatText(record: AuditEntry): string {
  if (isToolResultRecord(record))
    return `perso ${record.time} result ${escapeControls(record.tool)}${record.role === undefined ? '' : ` as ${escapeControls(record.role)}`}: kept as untrusted content${record.withheld === undefined ? '' : ` (value withheld: ${record.withheld})`}`;
  const shadow = record.enforced ? '' : ' (shadow: not enforced)';
  return `perso ${record.time} ${record.decision}${shadow} ${escapeControls(record.tool)} as ${escapeControls(record.role)}: ${escapeControls(record.reason)}`;
}
