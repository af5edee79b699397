/**
 * `perso doctor URL [--policy POLICY] [--json]`: opens the page in headless Chromium (CHROME_PATH,
 * else /usr/bin/chromium) and reports what silently voids the guard there (doctor-findings.ts).
 * Exit 0 when nothing was found, 1 on a finding or when the page could not be examined.
 */
import type { Policy } from '../policy/policy.ts';
import type { CliIo } from './cli-io.ts';
import { ExitCode, write } from './cli-io.ts';
import { doctorFindings } from './doctor-findings.ts';
import { readPageFacts } from './page-facts.ts';
import { readPolicyDocument } from './policy-document.ts';

/** Options of {@link doctorCommand}. */
export interface DoctorOptions {
  url: string;
  /** A policy to check the tools against instead of the one the page's embed names. */
  policy: string | null;
  json: boolean;
}

/** Runs `perso doctor`; resolves to the exit code. */
export async function doctorCommand(options: DoctorOptions, io: CliIo): Promise<ExitCode> {
  let url: URL;
  try {
    url = new URL(options.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
  } catch {
    await write(
      io.stderr,
      `perso: ${JSON.stringify(options.url)}: expected an http(s) URL of the page\n`,
    );
    return ExitCode.Failure;
  }
  let policy: Policy | undefined;
  if (options.policy !== null) {
    const read = await readPolicyDocument(options.policy);
    if (!read.ok) {
      await write(
        io.stderr,
        `${[...read.lines, 'perso: invalid --policy; fix it (see "perso validate") and run again'].join('\n')}\n`,
      );
      return ExitCode.Failure;
    }
    policy = read.document.policy;
  }
  const facts = await readPageFacts(url.href, {
    executablePath: process.env.CHROME_PATH ?? '/usr/bin/chromium',
    timeoutMs: 15_000,
    ...(policy === undefined ? {} : { policy }),
  });
  if (typeof facts === 'string') {
    await write(io.stderr, `perso: ${facts}\n`);
    return ExitCode.Failure;
  }
  const findings = doctorFindings(facts);
  if (options.json) {
    await write(
      io.stdout,
      `${JSON.stringify({
        ok: findings.length === 0,
        url: facts.url,
        perso: facts.perso,
        tools: [...new Set(facts.tools.map((tool) => tool.name))],
        policy: facts.policySource,
        findings,
      })}\n`,
    );
  } else {
    const lines = findings.map((finding) => `${finding.code}: ${finding.message}`);
    lines.push(
      findings.length === 0
        ? `${facts.url}: no findings`
        : `${facts.url}: ${findings.length} ${findings.length === 1 ? 'finding' : 'findings'}; each one lets tool calls past the guard, fix them`,
    );
    await write(io.stdout, `${lines.join('\n')}\n`);
  }
  return findings.length === 0 ? ExitCode.Ok : ExitCode.Failure;
}
