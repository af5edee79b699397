// policy.schema.json in step with the engine: every fixture and doc example policy the engine loads
// cleanly validates against the schema; every policy the engine refuses (test/fixtures/invalid-policies.json)
// is refused by the schema too; an unknown key (a typo) is a warning for the engine and an error for
// editors. The schema is checked with Ajv, a devDependency.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { Engine } from '../src/engine/engine.ts';
import { loadEngineModule } from '../src/engine/engine-module.ts';

const root = new URL('..', import.meta.url);
const readJson = (path: string): unknown => JSON.parse(readFileSync(new URL(path, root), 'utf8'));
const schema = readJson('policy.schema.json') as object;
const ajv = new Ajv({ allErrors: true, strict: true });
const validate = ajv.compile(schema);
const engine = await Engine.create(await loadEngineModule());

/** What the engine says of a policy: refused, accepted with an unknown-key warning, or clean. */
function engineVerdict(policy: unknown): 'error' | 'unknown key' | 'ok' {
  const load = engine.load(JSON.stringify(policy));
  if (!load.ok) return 'error';
  return load.warnings.some((warning) => warning.message.startsWith('unknown key'))
    ? 'unknown key'
    : 'ok';
}

const isPolicy = (value: unknown): value is Record<string, unknown> =>
  value !== null &&
  typeof value === 'object' &&
  !Array.isArray(value) &&
  'rules' in value &&
  'default_action' in value;

/** Every policy in the repository's fixtures, by where it is. */
function fixturePolicies(): [string, unknown][] {
  const out: [string, unknown][] = [
    ['test/fixtures/perso-demo-policy.json', readJson('test/fixtures/perso-demo-policy.json')],
    ['test/fixtures/lint-findings.json', readJson('test/fixtures/lint-findings.json')],
    ['policies/demo.json', readJson('policies/demo.json')],
    ['demo/public/policy.json', readJson('demo/public/policy.json')],
  ];
  const conformance = readJson('test/fixtures/conformance.json') as {
    cases: { id: string; policy: unknown }[];
  };
  for (const testCase of conformance.cases)
    if (isPolicy(testCase.policy)) out.push([`conformance ${testCase.id}`, testCase.policy]);
  return out;
}

const VARIANTS = new Set([
  'All',
  'Any',
  'Not',
  'NumericCheck',
  'StringCheck',
  'FieldPresent',
  'FieldEquals',
  'Equals',
]);

/** A doc example as a whole policy: a policy as it is, a rule or a condition inside a minimal one. */
function asPolicy(value: unknown): unknown {
  if (isPolicy(value)) return value;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  const wrap = (rule: Record<string, unknown>) => ({
    version: 'doc',
    default_action: 'Deny',
    tools: [String(rule.tool_name)],
    rules: [rule],
  });
  if ('tool_name' in value) return wrap(value as Record<string, unknown>);
  const keys = Object.keys(value);
  if (keys.length === 1 && VARIANTS.has(keys[0]!))
    return wrap({ tool_name: 't', roles: ['r'], condition: value });
  return null;
}

/** Every ```json block of the docs and README that is a policy, a rule or a condition. */
function docPolicies(): [string, unknown][] {
  const files = [
    'README.md',
    ...readdirSync(new URL('docs/', root))
      .filter((name) => name.endsWith('.md'))
      .map((name) => `docs/${name}`),
  ];
  const out: [string, unknown][] = [];
  for (const file of files) {
    const text = readFileSync(new URL(file, root), 'utf8');
    for (const [index, match] of [...text.matchAll(/```json\n([\s\S]*?)```/g)].entries()) {
      let value: unknown;
      try {
        value = JSON.parse(match[1]!);
      } catch {
        continue; // a fragment, not a document
      }
      const policy = asPolicy(value);
      if (policy !== null) out.push([`${file} json block ${index}`, policy]);
    }
  }
  return out;
}

describe('policy.schema.json', () => {
  test('compiles in strict mode', () => {
    assert.equal(typeof validate, 'function');
  });

  test('agrees with the engine on every fixture and doc example policy', () => {
    const all = [...fixturePolicies(), ...docPolicies()];
    assert.ok(all.length > 20, `only ${all.length} policies found`);
    assert.ok(
      all.some(([where]) => where.startsWith('docs/')),
      'no doc example policy found',
    );
    for (const [where, policy] of all) {
      const verdict = engineVerdict(policy);
      const valid = validate(policy);
      if (verdict === 'ok')
        assert.equal(
          valid,
          true,
          `${where}: the engine loads it cleanly, the schema says ${ajv.errorsText(validate.errors)}`,
        );
      else
        assert.equal(valid, false, `${where}: the engine says ${verdict}, the schema accepts it`);
    }
  });

  test('every invalid-policy fixture is refused by both', () => {
    const { policies } = readJson('test/fixtures/invalid-policies.json') as {
      policies: { why: string; policy: unknown }[];
    };
    assert.ok(policies.length >= 20);
    for (const { why, policy } of policies) {
      assert.equal(engineVerdict(policy), 'error', `${why}: the engine accepts it`);
      assert.equal(validate(policy), false, `${why}: the schema accepts it`);
    }
  });

  test('a typo is an unknown-key warning for the engine and an error for an editor', () => {
    const policy = {
      version: 'v',
      default_action: 'Deny',
      tools: ['t'],
      rules: [{ tool_name: 't', roles: ['r'], conditon: null }],
    };
    assert.equal(engineVerdict(policy), 'unknown key');
    assert.equal(validate(policy), false);
    assert.match(ajv.errorsText(validate.errors), /must NOT have additional properties/);
  });

  test('a policy naming the schema in "$schema", with tests, validates and loads without warnings', () => {
    const policy = {
      $schema: './node_modules/perso/policy.schema.json',
      version: 'v',
      default_action: 'Deny',
      tools: ['t'],
      roles: ['r'],
      rules: [{ tool_name: 't', roles: ['r'] }],
      tests: [{ name: 'granted', request: { tool: 't', args: {}, role: 'r' }, expect: 'Allow' }],
    };
    assert.equal(validate(policy), true, ajv.errorsText(validate.errors));
    assert.equal(engineVerdict(policy), 'ok');
  });

  test('is shipped: package.json exports perso/policy.schema.json and lists it in files', () => {
    const manifest = readJson('package.json') as {
      exports: Record<string, unknown>;
      files: string[];
    };
    assert.equal(manifest.exports['./policy.schema.json'], './policy.schema.json');
    assert.ok(manifest.files.includes('policy.schema.json'));
  });
});
