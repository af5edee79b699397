// `perso keygen`, `perso sign` and `perso verify` (src/cli/key-file.ts and the three commands):
// keys as JWK files, a signature a real `Perso.load` accepts with the printed public key, and the
// refusals: tampered bytes, another identity, the wrong half of a key, an existing key file.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  appendFileSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Perso } from '../src/perso/perso.ts';
import type { PolicyPublicKey } from '../src/policy/policy-integrity.ts';
import { demoPolicyPath, runPerso } from './support/run-cli.ts';

let dir: string;
let server: Server;
let base: string;
const published = new Map<string, string>();

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'perso-signing-'));
  // A static host: serves what the test published, 404 otherwise.
  server = createServer((request, response) => {
    const body = published.get(request.url ?? '');
    response.writeHead(body === undefined ? 404 : 200, { 'content-type': 'application/json' });
    response.end(body ?? '');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  base = `http://127.0.0.1:${address.port}`;
});

after(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `perso` from the repository with each `@name` argument made a path in the temp folder. */
function perso(args: readonly string[]) {
  return runPerso(args.map((a) => (a.startsWith('@') ? join(dir, a.slice(1)) : a)));
}

/** `perso keygen NAME` in the temp folder; the publicKeys entry it printed. */
async function keygen(name: string, alg?: string): Promise<PolicyPublicKey> {
  const run = await perso(['keygen', `@${name}`, ...(alg ? ['--alg', alg] : [])]);
  assert.equal(run.code, 0, run.stderr);
  const line = run.stdout.split('\n').find((l) => l.startsWith('trust it in Perso.load'));
  assert.ok(line, run.stdout);
  const entries = JSON.parse(line.slice(line.indexOf('['))) as PolicyPublicKey[];
  return entries[0]!;
}

/** Loads `name` from the static host with the given keys; the status and one decision. */
async function load(name: string, keys: PolicyPublicKey[], policyId?: string) {
  const statuses: unknown[] = [];
  const perso = await Perso.load({
    policy: `${base}/${name}`,
    publicKeys: keys,
    cache: false,
    ...(policyId === undefined ? {} : { policyId }),
    onError: (status) => void statuses.push(status),
  });
  const decision = await perso.evaluate({
    tool: 'process_refund',
    args: { order_id: 'ORD-1', amount: 100 },
    role: 'agent',
  });
  const status = perso.status();
  await perso.close();
  return { status, decision, reported: statuses.length };
}

describe('perso keygen', () => {
  test('writes NAME.private.jwk (owner-only) and NAME.public.jwk, kid = NAME, and prints the publicKeys entry', async () => {
    const entry = await keygen('release-2026');
    assert.equal(entry.keyId, 'release-2026');
    assert.equal(entry.alg, 'Ed25519');
    const priv = JSON.parse(readFileSync(join(dir, 'release-2026.private.jwk'), 'utf8'));
    const pub = JSON.parse(readFileSync(join(dir, 'release-2026.public.jwk'), 'utf8'));
    assert.equal(priv.kid, 'release-2026');
    assert.equal(typeof priv.d, 'string');
    assert.equal(pub.d, undefined);
    assert.deepEqual(entry.publicKey, pub);
    assert.equal(statSync(join(dir, 'release-2026.private.jwk')).mode & 0o777, 0o600);
  });

  test('--alg ES256 makes a P-256 pair', async () => {
    const entry = await keygen('release-p256', 'ES256');
    assert.equal(entry.alg, 'ES256');
    assert.equal((entry.publicKey as JsonWebKey).crv, 'P-256');
  });

  test('an existing key file: refused, nothing overwritten', async () => {
    const before = readFileSync(join(dir, 'release-2026.private.jwk'), 'utf8');
    const run = await perso(['keygen', '@release-2026']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /release-2026\.public\.jwk" exists; choose another name/);
    assert.equal(readFileSync(join(dir, 'release-2026.private.jwk'), 'utf8'), before);
  });

  test('an unknown --alg is a usage error', async () => {
    const run = await perso(['keygen', '@k', '--alg', 'RS256']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /unknown --alg "RS256"; expected Ed25519 or ES256/);
  });
});

describe('perso sign, then Perso.load with the public key', () => {
  let ed: PolicyPublicKey;
  let p256: PolicyPublicKey;
  const policyText = readFileSync(demoPolicyPath, 'utf8');

  before(async () => {
    ed = await keygen('signer-ed');
    p256 = await keygen('signer-p256', 'ES256');
    writeFileSync(join(dir, 'policy.json'), policyText);
    const id = `${base}/policy.json`;
    const run = await perso([
      'sign',
      '@policy.json',
      '--key',
      '@signer-ed.private.jwk',
      '--key',
      '@signer-p256.private.jwk',
      '--id',
      id,
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stdout,
      /^wrote .*\/policy\.json\.sig: policy ".*\/policy\.json", revision 0, sha256 [0-9a-f]{64}, signed by "signer-ed", "signer-p256"\n$/,
    );
    published.set('/policy.json', policyText);
    published.set('/policy.json.sig', readFileSync(join(dir, 'policy.json.sig'), 'utf8'));
  });

  test('a signed policy loads with the printed public key (Ed25519, and ES256 alone)', async () => {
    for (const key of [ed, p256]) {
      const { status, decision, reported } = await load('policy.json', [key]);
      assert.equal(status.ok, true, JSON.stringify(status.errors));
      assert.equal(reported, 0);
      assert.equal(decision.decision, 'Allow');
    }
  });

  test('tampered policy bytes: refused by Perso.load, every call denied', async () => {
    published.set('/tampered.json', policyText.replace('"value": 500.0', '"value": 5000.0'));
    assert.notEqual(published.get('/tampered.json'), policyText);
    published.set('/tampered.json.sig', published.get('/policy.json.sig')!);
    const { status, decision, reported } = await load('tampered.json', [ed], `${base}/policy.json`);
    assert.equal(status.ok, false);
    assert.equal(reported, 1);
    assert.match(status.errors[0]!.message, /the signature is for other bytes/);
    assert.equal(decision.decision, 'Deny');
  });

  test('another key than the signer: refused (unknown key)', async () => {
    const stranger = await keygen('stranger');
    const { status, decision } = await load('policy.json', [stranger]);
    assert.equal(status.ok, false);
    assert.match(status.errors[0]!.message, /signed by unknown key/);
    assert.equal(decision.decision, 'Deny');
  });

  test('perso verify: exit 0 for the signed file, 1 with the reason for tampered bytes and another id', async () => {
    const id = `${base}/policy.json`;
    const good = await perso([
      'verify',
      '@policy.json',
      '--key',
      '@signer-ed.public.jwk',
      '--id',
      id,
    ]);
    assert.equal(good.code, 0, good.stderr);
    assert.match(
      good.stdout,
      /^.*\/policy\.json: signature verified: policy ".*", revision 0, sha256 [0-9a-f]{64}, key "signer-ed"\n$/,
    );

    const otherId = await perso([
      'verify',
      '@policy.json',
      '@policy.json.sig',
      '--key',
      '@signer-ed.public.jwk',
      '--id',
      'https://elsewhere.example/p.json',
    ]);
    assert.equal(otherId.code, 1);
    assert.match(
      otherId.stderr,
      /refused: the signature is for policy ".*", not "https:\/\/elsewhere\.example\/p\.json"/,
    );

    writeFileSync(join(dir, 'edited.json'), policyText);
    appendFileSync(join(dir, 'edited.json'), ' ');
    writeFileSync(join(dir, 'edited.json.sig'), readFileSync(join(dir, 'policy.json.sig')));
    const edited = await perso([
      'verify',
      '@edited.json',
      '--key',
      '@signer-ed.public.jwk',
      '--id',
      id,
    ]);
    assert.equal(edited.code, 1);
    assert.match(
      edited.stderr,
      /refused: the signature is for other bytes .*; re-sign the exact file/,
    );
  });

  test('the wrong half of a key: sign with a public key, verify with a private one, both refused', async () => {
    const sign = await perso([
      'sign',
      '@policy.json',
      '--key',
      '@signer-ed.public.jwk',
      '--id',
      'x',
    ]);
    assert.equal(sign.code, 1);
    assert.match(sign.stderr, /is a public key; sign with the \.private\.jwk file/);
    const verify = await perso([
      'verify',
      '@policy.json',
      '--key',
      '@signer-ed.private.jwk',
      '--id',
      'x',
    ]);
    assert.equal(verify.code, 1);
    assert.match(verify.stderr, /is a private signing key; pass the \.public\.jwk file/);
  });

  test('sign and verify need --key and --id (usage errors)', async () => {
    const noKey = await perso(['sign', '@policy.json', '--id', 'x']);
    assert.equal(noKey.code, 2);
    assert.match(noKey.stderr, /^perso: missing --key; run "perso help sign"/);
    const noId = await perso(['verify', '@policy.json', '--key', '@signer-ed.public.jwk']);
    assert.equal(noId.code, 2);
    assert.match(noId.stderr, /^perso: missing --id; run "perso help verify"/);
  });
});
