#!/usr/bin/env node
/**
 * The `perso` command: validate a policy, evaluate NDJSON requests, run policy tests, replay an
 * audit log against a candidate policy, diff two policies, sign policies, copy the embed, examine
 * a page (doctor).
 * Run `perso --help`; the manual is docs/cli.md.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { CliIo } from './cli-io.ts';
import { ExitCode, write } from './cli-io.ts';
import { diffCommand } from './diff-command.ts';
import { doctorCommand } from './doctor-command.ts';
import { embedCommand } from './embed-command.ts';
import { evalCommand } from './eval-command.ts';
import { explainCommand } from './explain-command.ts';
import { keygenCommand } from './keygen-command.ts';
import { lintCommand } from './lint-command.ts';
import { replayCommand } from './replay-command.ts';
import { signCommand } from './sign-command.ts';
import { testCommand } from './test-command.ts';
import type { CommandName } from './usage.ts';
import { commandHelp, isCommand, overview } from './usage.ts';
import { validateCommand } from './validate-command.ts';
import { verifyCommand } from './verify-command.ts';
import { errorText, escapeControls, quote } from '../encoding/text.ts';

/** Runs `perso` with the given arguments (without `node` and the script); resolves to the exit code. */
async function main(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  const [first, ...rest] = argv;
  if (first === undefined) return usageError(io, 'no command given');
  if (first === '-h' || first === '--help') return printHelp(io, rest[0]);
  if (first === '-v' || first === '--version') {
    await write(io.stdout, `${packageVersion()}\n`);
    return ExitCode.Ok;
  }
  if (!isCommand(first))
    return usageError(
      io,
      `unknown ${first.startsWith('-') ? 'option' : 'command'} ${quote(first)}`,
    );
  if (first === 'help') return printHelp(io, rest[0], rest.length > 1);

  const parsed = parseCommandLine(first, rest);
  if ('error' in parsed) return usageError(io, parsed.error, first);
  if (parsed.values.help === true) return printHelp(io, first);
  if (first === 'replay') {
    const [audit, policy, ...more] = parsed.positionals;
    if (audit === undefined) return usageError(io, 'missing AUDIT.ndjson', first);
    if (policy === undefined) return usageError(io, 'missing POLICY', first);
    if (more.length > 0) return usageError(io, `unexpected argument ${quote(more[0]!)}`, first);
    return replayCommand({ audit, policy, json: parsed.values.json === true }, io);
  }
  if (first === 'diff') {
    const [before, after, ...more] = parsed.positionals;
    if (before === undefined) return usageError(io, 'missing OLD', first);
    if (after === undefined) return usageError(io, 'missing NEW', first);
    if (more.length > 0) return usageError(io, `unexpected argument ${quote(more[0]!)}`, first);
    const log = parsed.values.log;
    return diffCommand(
      {
        before,
        after,
        allowLooser: parsed.values['allow-looser'] === true,
        log: typeof log === 'string' ? log : null,
        json: parsed.values.json === true,
      },
      io,
    );
  }
  if (first === 'keygen' || first === 'sign' || first === 'verify' || first === 'embed')
    return signingCommand(first, parsed, io);
  const [target, ...extra] = parsed.positionals;
  const what = first === 'test' ? 'POLICY or CASES.json' : first === 'doctor' ? 'URL' : 'POLICY';
  if (target === undefined) return usageError(io, `missing ${what}`, first);
  if (extra.length > 0) return usageError(io, `unexpected argument ${quote(extra[0]!)}`, first);

  switch (first) {
    case 'validate':
      return validateCommand({ policy: target, json: parsed.values.json === true }, io);
    case 'eval':
      return evalCommand({ policy: target }, io);
    case 'explain': {
      const request = parsed.values.request;
      return explainCommand(
        {
          policy: target,
          request: typeof request === 'string' ? request : null,
          json: parsed.values.json === true,
        },
        io,
      );
    }
    case 'lint':
      return lintCommand({ policy: target, json: parsed.values.json === true }, io);
    case 'test':
      return testCommand({ cases: target, verbose: parsed.values.verbose === true }, io);
    case 'doctor': {
      const policy = parsed.values.policy;
      return doctorCommand(
        {
          url: target,
          policy: typeof policy === 'string' ? policy : null,
          json: parsed.values.json === true,
        },
        io,
      );
    }
  }
}

type ParsedValues = Record<string, string | boolean | (string | boolean)[] | undefined>;
type ParsedCommandLine = { values: ParsedValues; positionals: string[] } | { error: string };

/** `keygen`, `sign`, `verify` and `embed`: their arguments checked, then the command. */
async function signingCommand(
  command: 'keygen' | 'sign' | 'verify' | 'embed',
  parsed: { values: ParsedValues; positionals: string[] },
  io: CliIo,
): Promise<ExitCode> {
  const { values, positionals } = parsed;
  const most = command === 'verify' ? 2 : 1;
  const what = { keygen: 'NAME', sign: 'POLICY', verify: 'POLICY', embed: 'DIR' }[command];
  if (positionals[0] === undefined) return usageError(io, `missing ${what}`, command);
  if (positionals.length > most)
    return usageError(io, `unexpected argument ${JSON.stringify(positionals[most])}`, command);
  if (command === 'embed') return embedCommand({ dir: positionals[0] }, io);
  if (command === 'keygen') {
    const alg = values['alg'] ?? 'Ed25519';
    if (alg !== 'Ed25519' && alg !== 'ES256')
      return usageError(
        io,
        `unknown --alg ${quote(String(alg))}; expected Ed25519 or ES256`,
        command,
      );
    return keygenCommand({ name: positionals[0], alg }, io);
  }
  const keys = Array.isArray(values['key'])
    ? values['key'].filter((key): key is string => typeof key === 'string')
    : [];
  const id = values['id'];
  if (keys.length === 0) return usageError(io, 'missing --key', command);
  if (typeof id !== 'string' || id === '') return usageError(io, 'missing --id', command);
  if (command === 'sign') {
    const out = values['out'];
    return signCommand(
      { policy: positionals[0], keys, id, out: typeof out === 'string' ? out : null },
      io,
    );
  }
  return verifyCommand({ policy: positionals[0], signature: positionals[1] ?? null, keys, id }, io);
}

function parseCommandLine(
  command: Exclude<CommandName, 'help'>,
  args: string[],
): ParsedCommandLine {
  const options: Record<
    string,
    { type: 'boolean' | 'string'; short?: string; multiple?: boolean }
  > = {
    help: { type: 'boolean', short: 'h' },
  };
  if (
    command === 'validate' ||
    command === 'replay' ||
    command === 'diff' ||
    command === 'lint' ||
    command === 'explain' ||
    command === 'doctor'
  )
    options['json'] = { type: 'boolean' };
  if (command === 'doctor') options['policy'] = { type: 'string' };
  if (command === 'explain') options['request'] = { type: 'string' };
  if (command === 'diff') {
    options['allow-looser'] = { type: 'boolean' };
    options['log'] = { type: 'string' };
  }
  if (command === 'test') options['verbose'] = { type: 'boolean' };
  if (command === 'keygen') options['alg'] = { type: 'string' };
  if (command === 'sign' || command === 'verify') {
    options['key'] = { type: 'string', multiple: true };
    options['id'] = { type: 'string' };
  }
  if (command === 'sign') options['out'] = { type: 'string' };
  try {
    // `-` and words starting with `{` are positionals (stdin, inline JSON), never flags.
    const { values, positionals } = parseArgs({
      args,
      options,
      allowPositionals: true,
      strict: true,
    });
    return { values, positionals };
  } catch (error) {
    // Node's parseArgs messages run on ("... place it at the end of the command after '--' ..."):
    // keep their first sentence, in the CLI's own style.
    const message = errorText(error);
    return { error: message.split(/\.(\s|$)/)[0]! };
  }
}

async function printHelp(io: CliIo, topic: string | undefined, tooMany = false): Promise<ExitCode> {
  if (tooMany) return usageError(io, 'help takes one command name');
  if (topic === undefined) {
    await write(io.stdout, overview());
    return ExitCode.Ok;
  }
  if (!isCommand(topic)) return usageError(io, `no help for unknown command ${quote(topic)}`);
  await write(io.stdout, commandHelp(topic));
  return ExitCode.Ok;
}

async function usageError(io: CliIo, problem: string, command?: CommandName): Promise<ExitCode> {
  const help = command === undefined ? overview() : commandHelp(command);
  const hint = command === undefined ? 'run "perso --help"' : `run "perso help ${command}"`;
  await write(io.stderr, `perso: ${problem}; ${hint}\n\n${help}`);
  return ExitCode.Usage;
}

function packageVersion(): string {
  // The same relative path from src/cli/ (tsx) and from dist/cli/ (the installed bin).
  const manifest = JSON.parse(
    readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
  ) as { version?: unknown };
  return typeof manifest.version === 'string' ? manifest.version : 'unknown';
}

const io: CliIo = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };
// A reader that went away (`perso eval p.json | head`) is not an error worth a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
});
main(process.argv.slice(2), io).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `perso: internal error: ${error instanceof Error && error.stack !== undefined ? error.stack.split('\n').map(escapeControls).join('\n') : errorText(error)}\n`,
    );
    process.exitCode = ExitCode.Failure;
  },
);
