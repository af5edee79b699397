/**
 * The `perso` command's help texts: one per command, plus the overview.
 */

/** The commands `perso` knows. */
export const COMMANDS = Object.freeze([
  'validate',
  'lint',
  'eval',
  'explain',
  'test',
  'replay',
  'diff',
  'keygen',
  'sign',
  'verify',
  'embed',
  'doctor',
  'help',
] as const);
/** A command `perso` knows. */
export type CommandName = (typeof COMMANDS)[number];

const OVERVIEW = `perso: check agent tool calls against a JSON access policy

usage:
  perso validate POLICY [--json]   check a policy: errors (exit 1) and warnings, with JSON paths
  perso lint POLICY [--json]       validate, then find dead rules, impossible conditions, unused names
  perso eval POLICY                decide NDJSON requests from stdin, one NDJSON decision per line
  perso explain POLICY [--request JSON]
                                   decide one request (the last on stdin, or --request) and show why
  perso test POLICY|CASES.json     run a policy's own tests, or a cases file; exit 1 on any failure
  perso replay AUDIT.ndjson POLICY decide an audit log again with POLICY; exit 1 if any would change
  perso diff OLD NEW [--log AUDIT.ndjson]
                                   what NEW allows that OLD did not, per (tool, role); exit 2 if looser
  perso keygen NAME [--alg Ed25519|ES256]
                                   make a signing key pair: NAME.private.jwk and NAME.public.jwk
  perso sign POLICY --key NAME.private.jwk --id ID [--out FILE]
                                   sign a policy file for ID: write POLICY.sig
  perso verify POLICY [SIG] --key NAME.public.jwk --id ID
                                   check a signature as Perso.load does; exit 1 if refused
  perso embed DIR                  copy the script-tag embed (perso-embed.js, assets/) into DIR
  perso doctor URL [--policy POLICY]
                                   open a page in headless Chromium; exit 1 on what voids the guard
  perso help [COMMAND]             show the help of a command
  perso --version                  print the version

POLICY is a file path, a file: URL, an http(s) URL, or the policy's JSON text.
Exit codes: 0 success, 1 invalid policy, failed cases or changed decisions, 2 usage error (and,
for diff, a looser policy).
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
  lint: `usage: perso lint POLICY [--json]

Everything "perso validate" warns about, plus what a valid policy can still get wrong, each with
its JSON path: rules that never apply (replaced for every (tool, role) they name by a later Allow
rule, or whose every grant a Deny rule takes away), Deny and Ask rules another rule always covers,
Ask rules a Deny rule always beats, conditions that can never be true (Lte 5 with Gte 10 in an
All, In []), rule tools not in tools, tools never granted, roles never used. A finding is made only
when it is proven.

options:
  --json       print one JSON object {ok, source, findings: [{path, message}]} on stdout
  -h, --help   show this help

exit: 0 no findings, 1 a finding or an invalid policy, 2 usage error
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
  explain: `usage: perso explain POLICY [--request JSON] [--json]

Decides one request with the engine and shows why: the (tool, role) entry or the default, each
Deny, Allow and Ask rule of the entry with every condition node's result (true, false or unknown)
and the values it read, the rate limit and budget (used of max, what frees up when), the session's
untrusted content (which tools it read, which piece of a value matched) and the remembered
approval an Ask rests on. Stdin is one session, as for eval: NDJSON requests and {"toolResult":
{"tool", "role", "result"}} lines, the last a request; the lines before it are decided and
recorded first, and the last is explained. The trace is evaluated apart from the engine; when they
disagree, the engine's decision stands and explain exits 1 saying so. A request may carry "now"
(seconds) for rate limits and budgets.

options:
  --request JSON   the one request to explain, in a fresh session (stdin is not read)
  --json           print one JSON object {decision, reason, kind, rule, before, agrees, trace}
  -h, --help       show this help

exit: 0 explained, 1 invalid policy, request or session line, or the trace disagrees with the
engine, 2 usage error
`,
  test: `usage: perso test POLICY|CASES.json [--verbose]

Runs the tests a policy file carries, "tests": [{"name", "request", "expect", "reasonPrefix"?,
"why"?}] (a policy without tests fails), or a cases file. The engine ignores "tests" when deciding.
A cases file is {"policies": {"name": "file.json"}, "cases": [...]}, each case
{"id", "policy", "request", "expect", "reasonPrefix"?, "why"?}. "policy" is a policy object, a
name from "policies", or a file name; files are relative to the cases file. Each case runs on a
fresh instance of its policy. Prints each failure with its "why" and a summary line
"N passed, M failed".

options:
  --verbose    also list the cases that passed
  -h, --help   show this help

exit: 0 all passed, 1 a test failed, the policy or cases file is invalid or has no tests, 2 usage
error
`,
  replay: `usage: perso replay AUDIT.ndjson POLICY [--json]

Decides the calls recorded in an audit log (one AuditRecord per line, as the transports write
them; - reads stdin) again with the candidate POLICY, in log order, at each record's "now", and
prints every record whose decision would change:
  line 12: process_refund (agent) Allow → Deny: <new reason> (was: <old reason>)
then a summary line:
  replayed 120 records: 7 would change (Allow→Deny 5, Deny→Allow 1, Allow→Ask 1),
  3 not replayable (args hashed 3), 1 malformed line
Records with hashed args (hashArgs), without args, or decided by a fault (invalid_request,
no_policy, engine_fault) are not replayable and only counted. An Ask a person approved counts as
Ask. A line that is not an audit record is reported with its number and the run goes on. An
invalid POLICY exits 1 with its errors before any record is read.

options:
  --json       print one JSON object per change ("type": "change") or malformed line
               ("type": "malformed"), then a summary object ("type": "summary")
  -h, --help   show this help

exit: 0 nothing would change, 1 a decision would change, a line is malformed, the log cannot be
read or POLICY is invalid, 2 usage error
`,
  diff: `usage: perso diff OLD NEW [--allow-looser] [--log AUDIT.ndjson] [--json]

Compares two policies by what they decide, per (tool, role) after glob expansion: grants added or
removed, conditions changed (side by side), Deny and Ask rules added or removed, default_action,
mode and rate limits changed. Each change is marked:
  looser    some call NEW allows (or asks about) was refused (or asked about) by OLD
  tighter   every call NEW allows, OLD allowed too
  changed   neither could be shown: treated as possibly looser
With --log, every replayable record of the audit log is decided by both policies, in log order,
and each call NEW lets through that OLD did not (Deny → Allow, Deny → Ask, Ask → Allow) is listed:
  line 12: process_refund (agent) Deny → Allow: <new reason> (before: <old reason>)
A summary line ends the output.

options:
  --allow-looser       accept looser changes: exit 0 instead of 2
  --log AUDIT.ndjson   also replay an audit log (- reads stdin) with both policies
  --json               one JSON object per change ("type": "change"), call let through
                       ("let-through") or malformed line, then a summary object
  -h, --help           show this help

exit: 0 nothing looser (or --allow-looser), 1 a policy is invalid or the log cannot be read whole,
2 something got looser or possibly looser, or a usage error
`,
  keygen: `usage: perso keygen NAME [--alg Ed25519|ES256]

Makes a policy signing key pair as two JSON Web Key files: NAME.private.jwk (the signing key,
readable by its owner only; keep it secret and out of the repository) and NAME.public.jwk (what
pages trust). The key id ("kid", the key_id that signatures name) is NAME's file name. Prints
the publicKeys entry to give Perso.load. Refuses to overwrite an existing file.

options:
  --alg ALG    Ed25519 (default) or ES256 (ECDSA P-256, for browsers without WebCrypto Ed25519)
  -h, --help   show this help

exit: 0 written, 1 a file exists or cannot be written, 2 usage error
`,
  sign: `usage: perso sign POLICY --key NAME.private.jwk [--key ...] --id ID [--out FILE]

Signs the exact bytes of the policy file, its "revision" and its identity ID (the policyId pages
configure, or the absolute URL they load it from) and writes the signature file, format
perso-policy-signature/2, to publish beside the policy at <policy-url>.sig. One signature per
--key (an Ed25519 and an ES256 key serve browsers with and without Ed25519). Any change to the
file after signing, or loading it under another id, is refused by Perso.load.

options:
  --key FILE   a private key file from "perso keygen" (repeatable)
  --id ID      the policy's identity (required)
  --out FILE   where to write the signature; POLICY.sig by default, - for stdout
  -h, --help   show this help

exit: 0 signed, 1 the policy or a key cannot be read or used, 2 usage error
`,
  verify: `usage: perso verify POLICY [SIG] --key NAME.public.jwk [--key ...] --id ID

Checks the signature file SIG (POLICY.sig by default) against the exact bytes of POLICY, the
identity ID and the trusted public keys, with the verifier Perso.load uses: prints what it
vouches for (id, revision, sha256, key), or exits 1 with the reason a page would refuse it.

options:
  --key FILE   a public key file from "perso keygen" (repeatable)
  --id ID      the identity pages load the policy as (required)
  -h, --help   show this help

exit: 0 verified, 1 refused or unreadable, 2 usage error
`,
  embed: `usage: perso embed DIR

Copies the script-tag embed of the installed package (perso-embed.js and assets/: the evaluator
worker, engine.wasm and the lazily loaded parts) into DIR, made when missing, and prints the
<script> tag for it. Serve DIR from the page's own origin (a worker starts only from there), e.g.
public/perso in a Vite app. A copy made before is replaced; a DIR/assets that is not perso's is
refused. Run it again after updating perso (e.g. in the app's "predev" and "prebuild" scripts).

options:
  -h, --help   show this help

exit: 0 copied, 1 the copy failed, 2 usage error
`,
  doctor: `usage: perso doctor URL [--policy POLICY] [--json]

Opens the page at URL in headless Chromium (CHROME_PATH, else /usr/bin/chromium; needs the
playwright-core package) and reports what silently voids the guard there: tools registered before
perso, a WebMCP surface still redefinable, a transport answering frames of any origin, a CSP
without 'wasm-unsafe-eval' or worker-src, tools no rule names (the policy of the page's embed, or
--policy), and consequential-sounding tools (delete, pay, send, transfer) without consequentialHint.

  --policy POLICY   check the tools against this policy instead of the embed's data-policy
  --json            one JSON object: {ok, url, perso, tools, policy, findings: [{code, message}]}

exit: 0 nothing found, 1 a finding or the page could not be examined, 2 usage
`,
  help: `usage: perso help [COMMAND]

Shows the help of COMMAND (validate, lint, eval, explain, test, replay, diff, keygen, sign,
verify, embed, doctor), or the overview.
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
