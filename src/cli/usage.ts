/**
 * The `perso` command's help texts: one per command, plus the overview.
 */

/** The commands `perso` knows. */
export const COMMANDS = Object.freeze(['validate', 'eval', 'test', 'help'] as const);
/** A command `perso` knows. */
export type CommandName = (typeof COMMANDS)[number];

const OVERVIEW = `perso: check agent tool calls against a JSON access policy

usage:
  perso validate POLICY [--json]   check a policy: errors (exit 1) and warnings, with JSON paths
  perso eval POLICY                decide NDJSON requests from stdin, one NDJSON decision per line
  perso test CASES.json            run test cases against their policies; exit 1 on any failure
  perso help [COMMAND]             show the help of a command
  perso --version                  print the version

POLICY is a file path, a file: URL, an http(s) URL, or the policy's JSON text.
Exit codes: 0 success, 1 invalid policy or failed cases, 2 usage error.
`;

const HELP: Readonly<Record<CommandName, string>> = Object.freeze({
  validate: `usage: perso validate POLICY [--json]

Checks a policy with the engine that enforces it. Prints each error and warning with its JSON
path (e.g. rules[3].condition.NumericCheck.op: unknown op "lte"; expected one of Lte, Gte, Lt,
Gt, Eq). Warnings cover shadowed rules, undeclared roles, globs that match no tool, empty
All/Any, FieldPresent on a boolean-looking field, unknown keys.

options:
  --json       print one JSON object {ok, policy, errors, warnings} on stdout
  -h, --help   show this help

exit: 0 valid (warnings allowed), 1 errors, 2 usage error
`,
  eval: `usage: perso eval POLICY

Reads requests from stdin, one JSON object per line, in the SDK's shape:
  {"tool": "process_refund", "args": {"amount": 800}, "role": "agent",
   "agentAttributes": {...}, "resourceAttributes": {...}, "now": 1764000000}
("now", optional, is the time in seconds for rate limits; the clock is used without it) and writes
one decision per line on stdout, in order:
  {"decision":"Deny","reason":"rule matched tool 'process_refund' for role 'agent'; condition failed: ...",...}
A malformed line gets a Deny line with the error and its line number ("line"), and the run goes
on. Blank lines are skipped. An invalid policy exits 1 with its errors on stderr before any
request is read.

options:
  -h, --help   show this help

exit: 0 all lines answered, 1 invalid policy, 2 usage error
`,
  test: `usage: perso test CASES.json [--verbose]

Runs test cases: a JSON file {"policies": {"name": "file.json"}, "cases": [...]}, each case
{"id", "policy", "request", "expect", "reasonPrefix"?, "why"?}. "policy" is a policy object, a
name from "policies", or a file name; files are relative to the cases file. Each case runs on a
fresh instance of its policy. Prints each failure with its "why" and a summary line
"N passed, M failed".

options:
  --verbose    also list the cases that passed
  -h, --help   show this help

exit: 0 all passed, 1 a case failed or the cases file is invalid, 2 usage error
`,
  help: `usage: perso help [COMMAND]

Shows the help of COMMAND (validate, eval, test), or the overview.
`,
});

/** The overview of all commands. */
export function overview(): string {
  return OVERVIEW;
}

/** The help of one command. */
export function commandHelp(command: CommandName): string {
  return HELP[command];
}

/** Whether a word is a command `perso` knows. */
export function isCommand(word: string): word is CommandName {
  return (COMMANDS as readonly string[]).includes(word);
}
