/**
 * `perso lint POLICY [--json]`: what `validate` says, plus the findings of policy-lint.ts.
 */
import type { CliIo } from './cli-io.ts';
import { ExitCode, write } from './cli-io.ts';
import { lintPolicy } from './policy-lint.ts';
import { readPolicyDocument } from './policy-document.ts';
import { policyLabel } from './validate-command.ts';
import { formatDiagnostic } from '../encoding/text.ts';

/** Options of {@link lintCommand}. */
export interface LintOptions {
  /** The policy argument as given (path, URL or JSON text). */
  policy: string;
  /** Machine output: one JSON object on stdout. */
  json: boolean;
}

/** Runs `perso lint`; resolves to the exit code (1 on any finding). */
export async function lintCommand(options: LintOptions, io: CliIo): Promise<ExitCode> {
  const label = policyLabel(options.policy);
  const read = await readPolicyDocument(options.policy);
  if (!read.ok) {
    await write(
      io.stderr,
      `${[...read.lines, `${label}: invalid policy; fix the errors above (see "perso validate") and lint again`].join('\n')}\n`,
    );
    return ExitCode.Failure;
  }
  const warnings = read.document.load.warnings.map((warning) => ({
    path: warning.path,
    message: warning.message,
  }));
  const findings = [...warnings, ...lintPolicy(read.document.policy)];
  if (options.json) {
    await write(
      io.stdout,
      `${JSON.stringify({ ok: findings.length === 0, source: label, findings })}\n`,
    );
  } else {
    const lines = findings.map((finding) => `warning: ${label}: ${formatDiagnostic(finding)}`);
    lines.push(
      findings.length === 0
        ? `${label}: no findings`
        : `${label}: ${findings.length} ${findings.length === 1 ? 'finding' : 'findings'}; fix them or remove what is unused`,
    );
    await write(io.stdout, `${lines.join('\n')}\n`);
  }
  return findings.length === 0 ? ExitCode.Ok : ExitCode.Failure;
}
