/**
 * `perso validate POLICY [--json]`: checks a policy with the engine that enforces it.
 */
import type { Diagnostic, PolicyLoad } from '../engine/types.ts';
import { InlineBackend } from '../backend/inline-backend.ts';
import { resolvePolicySource } from '../policy/policy-source.ts';
import { readToolPins } from '../policy/tool-pins.ts';
import type { CliIo } from './cli-io.ts';
import { ExitCode, write } from './cli-io.ts';
import { errorText, formatDiagnostic, quote } from '../encoding/text.ts';

/** Options of {@link validateCommand}. */
export interface ValidateOptions {
  /** The policy argument as given (path, URL or JSON text). */
  policy: string;
  /** Machine output: one JSON object on stdout. */
  json: boolean;
}

/** Runs `perso validate`; resolves to the exit code. */
export async function validateCommand(options: ValidateOptions, io: CliIo): Promise<ExitCode> {
  const label = policyLabel(options.policy);
  const load = await loadPolicy(options.policy);
  if (options.json) {
    const report = {
      ok: load.ok,
      source: label,
      policy: load.ok ? load.policy : null,
      errors: load.ok ? [] : load.errors,
      warnings: load.warnings,
    };
    await write(io.stdout, `${JSON.stringify(report)}\n`);
  } else {
    const lines: string[] = [];
    if (!load.ok)
      for (const error of load.errors) lines.push(`error: ${label}: ${formatDiagnostic(error)}`);
    for (const warning of load.warnings)
      lines.push(`warning: ${label}: ${formatDiagnostic(warning)}`);
    const counts = `${plural(load.ok ? 0 : load.errors.length, 'error')}, ${plural(load.warnings.length, 'warning')}`;
    if (load.ok) {
      const info = load.policy;
      lines.push(
        `${label}: valid, ${counts} (version ${quote(info.version)}, ${plural(info.ruleCount, 'rule')}, ` +
          `${plural(info.tools.length, 'tool')}, ${plural(info.roles.length, 'role')}, ` +
          `default ${info.defaultAction}, mode ${info.mode})`,
      );
    } else {
      lines.push(`${label}: invalid, ${counts}; fix the errors above and validate again`);
    }
    await write(io.stdout, `${lines.join('\n')}\n`);
  }
  return load.ok ? ExitCode.Ok : ExitCode.Failure;
}

/** Resolves and loads a policy into a fresh engine; every failure is a `PolicyLoad` error. */
export async function loadPolicy(input: string): Promise<PolicyLoad> {
  const resolved = await resolvePolicySource(input);
  if (!resolved.ok)
    return {
      ok: false,
      errors: [{ severity: 'error', path: 'policy', message: resolved.error }],
      warnings: [],
    };
  let backend: InlineBackend;
  try {
    backend = await InlineBackend.create();
  } catch (error) {
    const message = `the engine could not start (${errorText(error)}); rebuild it with "npm run build:engine"`;
    return { ok: false, errors: [{ severity: 'error', path: 'engine', message }], warnings: [] };
  }
  try {
    return withHostKeys(backend.loadNow(resolved.text));
  } finally {
    backend.close();
  }
}

// Keys the engine reports and the hosts check: checked here, so `perso validate` says what a
// browser host would refuse (tool_pins).
function withHostKeys(load: PolicyLoad): PolicyLoad {
  const pins = readToolPins(load.ok ? load.policy.toolPins : load.toolPins);
  if (pins === null || pins.ok) return load;
  const split = pins.error.indexOf(': ');
  const error: Diagnostic = {
    severity: 'error',
    path: pins.error.slice(0, split),
    message: pins.error.slice(split + 2),
  };
  return { ok: false, errors: [...(load.ok ? [] : load.errors), error], warnings: load.warnings };
}

/** How a policy argument is named in output: its path or URL, or `(inline JSON)`. */
export function policyLabel(input: string): string {
  return input.trimStart().startsWith('{') ? '(inline JSON)' : input;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
