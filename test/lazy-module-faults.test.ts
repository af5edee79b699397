// Fault: a module perso loads on demand cannot be loaded, as when a page cannot fetch perso's
// chunk. A module resolve hook (this file's process only: each test file runs in its own) refuses
// the imports of those modules from src/; every such fault must end in a Deny or a refusal naming it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { register } from 'node:module';

const REFUSED = [
  'decision-record',
  'guarded-call',
  'tool-pins',
  'annotation-defaults',
  'policy-read',
  'policy-sri',
  'policy-signature',
];
const hook = `export async function resolve(specifier, context, next) {
  if (/\\/src\\//.test(context.parentURL ?? '') && /\\/(${REFUSED.join('|')})\\.ts$/.test(specifier)) {
    throw new Error('perso-test-fail: ' + specifier + ' cannot be fetched');
  }
  return next(specifier, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hook)}`, import.meta.url);
const { Perso } = await import('../src/perso/perso.ts');
const { verifyIntegrity } = await import('../src/policy/policy-integrity.ts');
const { loadPolicy } = await import('../src/policy/policy-loader.ts');

const demo = {
  version: 'lazy-1',
  default_action: 'Deny',
  tools: ['send'],
  roles: ['agent'],
  rules: [{ tool_name: 'send', roles: ['agent'], condition: null }],
};

test('fault: the audit record builder does not load: no policy becomes active, every call is a Deny naming it', async () => {
  const records: unknown[] = [];
  const warnings: unknown[] = [];
  const warn = console.warn;
  console.warn = (message: unknown) => warnings.push(message);
  try {
    const perso = await Perso.load({
      policy: demo as never,
      engine: 'inline',
      audit: { emit: (record) => records.push(record) },
    });
    const status = perso.status();
    assert.equal(status.ok, false);
    assert.equal(status.version, null);
    assert.equal(status.errors[0]?.path, 'audit');
    assert.match(
      status.errors[0]?.message ?? '',
      /^audit records cannot be built: the record builder did not load \(.*perso-test-fail.*\); check that the page can fetch perso's files, then load a new instance$/,
    );
    const decision = await perso.evaluate({ tool: 'send', role: 'agent', args: {} });
    assert.equal(decision.decision, 'Deny');
    assert.equal(decision.kind, 'no_policy');
    assert.match(decision.reason, /audit records cannot be built/);
    assert.equal((await perso.reload()).ok, false);
    assert.equal(
      (await perso.evaluate({ tool: 'send', role: 'agent', args: {} })).decision,
      'Deny',
    );
    assert.deepEqual(records, []);
    // A page without transports never needs the builder: its calls are decided as usual.
    const plain = await Perso.load({ policy: demo as never, engine: 'inline' });
    assert.equal(
      (await plain.evaluate({ tool: 'send', role: 'agent', args: {} })).decision,
      'Allow',
    );
  } finally {
    console.warn = warn;
  }
});

test('fault: the guarded-call code does not load: a guarded call is a Deny naming it and the tool never runs', async () => {
  const perso = await Perso.load({ policy: demo as never, engine: 'inline' });
  let ran = false;
  const send = perso.session({ role: 'agent' }).guard('send', () => {
    ran = true;
  });
  const outcome = await send({});
  assert.equal(ran, false);
  assert.equal(outcome.ok, false);
  assert.equal(outcome.decision.decision, 'Deny');
  assert.equal(outcome.decision.kind, 'engine_fault');
  assert.match(
    outcome.decision.reason,
    /^engine fault: the guarded-call code did not load \(.*perso-test-fail.*\); the tool was not run, check that the page can fetch perso's files and retry$/,
  );
  // evaluate needs no guarded-call code: the same session's calls are decided as usual.
  assert.equal(
    (await perso.session({ role: 'agent' }).evaluate({ tool: 'send' })).decision,
    'Allow',
  );
});

test('fault: the tool pins reader does not load: the pins cannot be read and every guarded call is refused, never run', async () => {
  const perso = await Perso.load({
    policy: {
      ...demo,
      tool_pins: { send: { script_url: 'https://shop.example/app.js' } },
    } as never,
    engine: 'inline',
  });
  const pins = perso.status().toolPins;
  assert.equal(pins?.ok, false);
  assert.match(
    pins?.ok === false ? pins.error : '',
    /^tool_pins: cannot be read, the reader did not load \(.*perso-test-fail.*\); check that the page can fetch perso's files$/,
  );
  // The guarded-call code cannot load in this process either; the outcome is a Deny all the same.
  let ran = false;
  const send = perso.session({ role: 'agent' }).guard('send', () => {
    ran = true;
  });
  const outcome = await send({});
  assert.equal(ran, false);
  assert.equal(outcome.decision.decision, 'Deny');
});

test('fault: the annotation defaults do not load: a policy that opts in is refused, the previous one stays active', async () => {
  const perso = await Perso.load({ policy: demo as never, engine: 'inline' });
  const status = await perso.reload({
    ...demo,
    version: 'lazy-2',
    annotation_defaults: true,
  } as never);
  assert.equal(status.ok, false);
  assert.equal(status.version, 'lazy-1');
  assert.equal(status.errors[0]?.path, 'annotation_defaults');
  assert.match(
    status.errors[0]?.message ?? '',
    /^cannot be read, the annotation defaults did not load \(.*perso-test-fail.*\); the previous policy stays active, check that the page can fetch perso's files and reload$/,
  );
  assert.equal(perso.policyVersion, 'lazy-1');
  assert.equal((await perso.evaluate({ tool: 'send', role: 'agent', args: {} })).decision, 'Allow');
});

test('fault: the policy file reader does not load: a policy file is not loaded, every call is a Deny naming it', async () => {
  const perso = await Perso.load({
    policy: new URL('./fixtures/perso-demo-policy.json', import.meta.url).pathname,
    engine: 'inline',
    onError: () => undefined,
  });
  const status = perso.status();
  assert.equal(status.ok, false);
  assert.match(
    status.errors[0]?.message ?? '',
    /^policy: could not be resolved \(the policy reader did not load \(.*perso-test-fail.*\); check that the page can fetch perso's files\)/,
  );
  const decision = await perso.evaluate({ tool: 'view_customer', role: 'agent', args: {} });
  assert.equal(decision.decision, 'Deny');
  assert.match(decision.reason, /the policy reader did not load/);
});

test('fault: the integrity checker does not load: pinned bytes are refused, never passed', async () => {
  const bytes = new TextEncoder().encode('{}');
  const checked = await verifyIntegrity(
    bytes,
    'sha256-RBNvo1WzZ4oRRq0W9+hknpT7T8If536DEMBg9hyq/4o=',
  );
  assert.equal(checked.ok, false);
  assert.match(
    checked.ok ? '' : checked.error,
    /^integrity "sha256-.*" cannot be checked: the checker did not load \(.*perso-test-fail.*\); check that the page can fetch perso's files$/,
  );
});

test('fault: the signature code does not load: a policy with keys is refused naming it, never fetched unchecked', async () => {
  const requested: string[] = [];
  const loaded = await loadPolicy('https://policies.test/policy.json', {
    publicKeys: [{ keyId: 'k', alg: 'Ed25519', publicKey: 'MCowBQYDK2VwAyEA' }],
    fetch: (async (input: string | URL | Request) => {
      requested.push(String(input));
      return new Response('{}', { status: 200 });
    }) as typeof fetch,
  });
  assert.equal(loaded.ok, false);
  assert.match(
    loaded.ok ? '' : loaded.error,
    /^policy "https:\/\/policies\.test\/policy\.json": signatures cannot be checked: the verifier did not load \(.*perso-test-fail.*\); check that the page can fetch perso's files$/,
  );
  // The policy itself was asked for; its signature never was (the code that fetches it did not load).
  assert.deepEqual(requested, ['https://policies.test/policy.json']);
});
