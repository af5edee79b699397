/**
 * The package as a consumer gets it (issue 12): `npm pack` into a temp folder, then the tarball's
 * contents, its size, publint and arethetypeswrong, and its types in fresh projects.
 *
 * The tarball is packed from the current dist/ (`npm run build` after editing src/). Budget (packed,
 * gzipped tarball): 612,000 bytes, of which the user docs (docs/*.md, so the README's links work
 * from the registry page) are about 67,000; issue 11's splits (one concept per file, each with its
 * header and declarations) added about 25,000, issue 13 about 19,000 (src/analysis/, the explain
 * chunk, perso doctor, the replay scan and their docs), issue 14 about 20,000, and explain's
 * untrusted content and remembered approvals (their trace modules, the text renderer, the larger
 * explain chunk, docs) about 7,000: 587,432 bytes on main f091e2e; folding hidden characters in
 * FromUntrusted (its range tables in the engine, the reference and explain, docs) and reading calls
 * into a snapshot about 9,000: 596,183 bytes in session 9; shipping the reference's untrusted-text
 * module that explain imports (dist/reference/reference-untrusted.js, left out until session 10,
 * so a consumer's explain failed to load) about 2,800: 601,816 bytes; replay's approval checks
 * and their docs: 604,269 bytes, with room for the session's fixes then in progress.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const bin = (name: string): string => join(root, 'node_modules/.bin', name);

/** The packed tarball's size budget, in bytes (gzipped). */
const PACKED_BUDGET = 612_000;

interface PackResult {
  filename: string;
  size: number;
  unpackedSize: number;
  entryCount: number;
  files: { path: string; size: number }[];
}

let work: string;
let tarball: string;
let pack: PackResult;
let unpacked: string;

/** A consumer project in `work/<name>` with perso unpacked and the given packages linked from ours. */
async function consumer(name: string, linked: readonly string[]): Promise<string> {
  const dir = join(work, name);
  mkdirSync(join(dir, 'node_modules/perso'), { recursive: true });
  for (const pkg of linked) mkdirSync(dirname(join(dir, 'node_modules', pkg)), { recursive: true });
  // Unpacked, not linked: a link would resolve perso's own imports (lit, idb) from its real path.
  await run('tar', ['xzf', tarball, '-C', join(dir, 'node_modules/perso'), '--strip-components=1']);
  for (const pkg of linked)
    symlinkSync(join(root, 'node_modules', pkg), join(dir, 'node_modules', pkg), 'dir');
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: `consumer-${name}`, private: true, type: 'module' }),
  );
  return dir;
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'perso-package-'));
  const { stdout } = await run(
    'npm',
    ['pack', '--ignore-scripts', '--json', '--pack-destination', work],
    { cwd: root, maxBuffer: 16 << 20 },
  );
  pack = (JSON.parse(stdout) as PackResult[])[0]!;
  tarball = join(work, pack.filename);
  unpacked = join(work, 'perso');
  mkdirSync(unpacked);
  await run('tar', ['xzf', tarball, '-C', unpacked, '--strip-components=1']);
});

after(() => rmSync(work, { recursive: true, force: true }));

describe('the tarball', () => {
  test(`packed size within the budget (${PACKED_BUDGET.toLocaleString('en')} bytes)`, (t) => {
    t.diagnostic(
      `packed ${pack.size} bytes, unpacked ${pack.unpackedSize} bytes, ${pack.entryCount} files`,
    );
    assert.ok(
      pack.size <= PACKED_BUDGET,
      `the packed package is ${pack.size} bytes, over the ${PACKED_BUDGET}-byte budget: find what grew (npm pack --dry-run)`,
    );
  });

  test('ships LICENSE (MIT), a repository, and no install-time scripts', () => {
    const paths = pack.files.map((f) => f.path);
    assert.ok(paths.includes('LICENSE'));
    assert.match(readFileSync(join(unpacked, 'LICENSE'), 'utf8'), /^MIT License/);
    const manifest = JSON.parse(readFileSync(join(unpacked, 'package.json'), 'utf8')) as {
      license: string;
      repository?: { url?: string };
      scripts?: Record<string, string>;
    };
    assert.equal(manifest.license, 'MIT');
    assert.equal(typeof manifest.repository?.url, 'string');
    // Not even `prepare`: npm warns about it when a consumer installs the tarball (this repository
    // builds in `pretest` and `prestart` instead).
    for (const hook of ['preinstall', 'install', 'postinstall', 'prepare'])
      assert.equal(manifest.scripts?.[hook], undefined, hook);
  });

  test('no source maps, no AssemblyScript sources; engine.wasm twice: the package copy and the embed folder copy', () => {
    const paths = pack.files.map((f) => f.path);
    assert.deepEqual(
      paths.filter((p) => p.endsWith('.map')),
      [],
    );
    assert.deepEqual(
      paths.filter((p) => p.startsWith('engine/assembly')),
      [],
    );
    const wasm = paths.filter((p) => p.endsWith('.wasm'));
    assert.equal(wasm.length, 2, wasm.join(', '));
    assert.ok(wasm.includes('engine/build/engine.wasm'), wasm.join(', '));
    assert.ok(
      wasm.some((p) => /^dist\/script\/assets\/engine-[\w-]+\.wasm$/.test(p)),
      wasm.join(', '),
    );
  });

  test('every shipped file is reachable from an entry point (exports, bin)', () => {
    const unreachable = pack.files
      .map((f) => f.path)
      .filter(
        (p) =>
          !reachable().has(p) &&
          !['LICENSE', 'README.md', 'package.json'].includes(p) &&
          !/^docs\/[\w-]+\.md$/.test(p),
      );
    assert.deepEqual(unreachable, []);
  });

  test('every module a shipped module imports is shipped (explain, dist/analysis/untrusted-trace.js, imported a file the tarball left out)', () => {
    const missing = [...reachable(true)].filter((p) => !existsSync(join(unpacked, p)));
    assert.deepEqual(missing, []);
  });

  test("a consumer's perso.explain and npx perso explain load their lazy chunks (fault: a module left out of the tarball)", async () => {
    const dir = await consumer('explain', [
      'comlink',
      'idb',
      'lit',
      'lit-html',
      'lit-element',
      '@lit/reactive-element',
    ]);
    const policy = {
      version: 'x',
      default_action: 'Deny',
      tools: ['t'],
      rules: [{ tool_name: 't', roles: ['r'] }],
    };
    writeFileSync(join(dir, 'policy.json'), JSON.stringify(policy));
    writeFileSync(
      join(dir, 'explain.mjs'),
      `import { Perso } from 'perso';
const perso = await Perso.load({ policy: './policy.json' });
const explained = await perso.explain({ tool: 't', role: 'r', args: {} });
console.log(explained.decision);
await perso.close();`,
    );
    const { stdout } = await run(process.execPath, ['explain.mjs'], { cwd: dir });
    assert.equal(stdout.trim(), 'Allow');
    const cli = await run(
      process.execPath,
      [
        join(dir, 'node_modules/perso/dist/cli/main.js'),
        'explain',
        'policy.json',
        '--request',
        '{"tool":"t","role":"r"}',
      ],
      { cwd: dir },
    );
    assert.match(cli.stdout, /Allow/);
  });

  test('every link of the README works from the registry page: absolute, and a doc link names a shipped file of this version', () => {
    const manifest = JSON.parse(readFileSync(join(unpacked, 'package.json'), 'utf8')) as {
      version: string;
    };
    const shipped = new Set(pack.files.map((f) => f.path));
    const readme = readFileSync(join(unpacked, 'README.md'), 'utf8');
    const links = [...readme.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!);
    assert.ok(links.length >= 10, `only ${links.length} links`);
    const ours = /^https:\/\/cdn\.jsdelivr\.net\/npm\/perso@([^/]+)\/([^#]+)(#.*)?$/;
    for (const link of links) {
      assert.match(link, /^https:\/\//, `a relative link is dead on the registry page: ${link}`);
      const doc = ours.exec(link);
      if (doc === null) continue;
      assert.equal(doc[1], manifest.version, `${link}: link the docs of this version`);
      assert.ok(shipped.has(doc[2]!), `${link}: ${doc[2]} is not in the package`);
    }
  });
});

describe('the browser builds', () => {
  // What `npm install` (prepare) and `npm run build` print: a warning there looked like an error to
  // users (issue 12). Each build goes to a temp folder, so dist/ is left as it is.
  for (const config of ['vite.embed.config.ts', 'vite.lib.config.ts']) {
    test(`${config} builds without a warning`, async () => {
      const { stdout, stderr } = await run(
        bin('vite'),
        ['build', '-c', config, '--logLevel', 'warn', '--outDir', join(work, `build-${config}`)],
        { cwd: root, maxBuffer: 16 << 20 },
      );
      assert.equal(`${stdout}${stderr}`.trim(), '');
    });
  }
});

describe('linters', () => {
  test('publint --strict', async () => {
    const { stdout } = await run(bin('publint'), ['run', tarball, '--strict'], { cwd: work });
    assert.match(stdout, /All good!/);
  });

  test('arethetypeswrong (ESM only: node16 from ESM and bundlers)', async () => {
    // The package is ESM only ("type": "module"); perso-embed.js is a classic script, engine.wasm a file.
    await run(
      bin('attw'),
      [
        tarball,
        '--profile',
        'esm-only',
        '--exclude-entrypoints',
        './perso-embed.js',
        './engine.wasm',
        './package.json',
      ],
      { cwd: work },
    );
  });
});

describe('types in a fresh project', () => {
  test("import 'perso' and 'perso/element' type-check under strict without @modelcontextprotocol/sdk, skipLibCheck off", async () => {
    const dir = await consumer('web-app', [
      'comlink',
      'idb',
      'lit',
      'lit-html',
      'lit-element',
      '@lit/reactive-element',
      '@types/trusted-types',
    ]);
    assert.equal(existsSync(join(dir, 'node_modules/@modelcontextprotocol')), false);
    writeFileSync(
      join(dir, 'index.ts'),
      readFileSync(join(root, 'test/fixtures/package/root-types.ts')),
    );
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(strictConfig(['index.ts'], [])));
    await typeCheck(dir);
  });
});

describe('the README and docs examples', () => {
  // Every ```ts / ```js block, and every <script type="module"> of an ```html block, in README.md
  // and docs/*.md, as written: one tsc run (strict, checkJs) against the packed package in a
  // project that has the optional peers (the MCP SDK, zod, the AI SDK). A block right after an
  // `<!-- outline -->` line is an API outline or an excerpt of this repository's own code, not an
  // example for users, and is skipped.
  test('type-check under strict against the packed package', async (t) => {
    const dir = await consumer('examples', [
      'comlink',
      'idb',
      'lit',
      'lit-html',
      'lit-element',
      '@lit/reactive-element',
      '@types/trusted-types',
      '@types/node',
      '@modelcontextprotocol/sdk',
      'zod',
      'ai',
    ]);
    const examples = extractExamples();
    mkdirSync(join(dir, 'examples'));
    for (const example of examples)
      writeFileSync(join(dir, 'examples', example.file), example.text);
    writeFileSync(
      join(dir, 'examples-host.d.ts'),
      readFileSync(join(root, 'test/fixtures/package/examples-host.d.ts')),
    );
    const config = strictConfig(
      [...examples.map((e) => `examples/${e.file}`), 'examples-host.d.ts'],
      ['node'],
    ) as { compilerOptions: object };
    // skipLibCheck here: the AI SDK's own declarations need @types/json-schema, which it does not
    // depend on; perso's declarations are checked with skipLibCheck off in the test above.
    config.compilerOptions = {
      ...config.compilerOptions,
      allowJs: true,
      checkJs: true,
      skipLibCheck: true,
    };
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(config));
    t.diagnostic(
      `${examples.length} examples from ${new Set(examples.map((e) => e.doc)).size} documents`,
    );
    assert.ok(examples.length >= 15, `only ${examples.length} examples found`);
    await typeCheck(dir);
  });
});

interface Example {
  doc: string;
  line: number;
  file: string;
  text: string;
}

function extractExamples(): Example[] {
  const docs = [
    'README.md',
    ...readdirSync(join(root, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .sort()
      .map((f) => `docs/${f}`),
  ];
  const examples: Example[] = [];
  for (const doc of docs) {
    const lines = readFileSync(join(root, doc), 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      const fence = /^```(ts|js|html)\s*$/.exec(lines[i]!);
      if (fence === null) continue;
      const start = i + 1;
      let end = start;
      while (end < lines.length && !/^```\s*$/.test(lines[end]!)) end++;
      const outline = lines[i - 1]?.trim() === '<!-- outline -->';
      let body = lines.slice(start, end).join('\n');
      i = end;
      if (outline) continue;
      if (fence[1] === 'html') {
        const scripts = [...body.matchAll(/<script type="module">([\s\S]*?)<\/script>/g)].map(
          (m) => m[1]!,
        );
        if (scripts.length === 0) continue;
        body = scripts.join('\n');
      }
      const extension = fence[1] === 'ts' ? 'ts' : 'js';
      // The first line names the source, so tsc's errors point at the doc and its line.
      const file = `${doc.replace(/[/.]/g, '_')}_line_${start + 1}.${extension}`;
      examples.push({
        doc,
        line: start + 1,
        file,
        text: `// ${doc}:${start + 1}\n${body}\nexport {};\n`,
      });
    }
  }
  return examples;
}

/** A consumer's strict tsconfig: DOM, no Node types unless asked, library types checked too. */
function strictConfig(files: readonly string[], types: readonly string[]): object {
  return {
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      lib: ['ES2022', 'DOM', 'DOM.Iterable'],
      types,
      strict: true,
      noEmit: true,
      skipLibCheck: false,
    },
    files,
  };
}

async function typeCheck(dir: string): Promise<void> {
  try {
    await run(bin('tsc'), ['-p', join(dir, 'tsconfig.json')], { cwd: dir });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    assert.fail(`tsc failed in ${dir}:\n${stdout ?? ''}${stderr ?? ''}`);
  }
}

/**
 * The shipped files an entry point reaches: from `exports` and `bin`, through relative imports
 * (`from`, `import(`), `new URL('…', import.meta.url)` references, a .js file's .d.ts, and the
 * embed's `assets/…` names (resolved against the script's own URL).
 */
function reachable(withMissing = false): Set<string> {
  const manifest = JSON.parse(readFileSync(join(unpacked, 'package.json'), 'utf8')) as {
    exports: unknown;
    bin: unknown;
  };
  const queue: string[] = [];
  const walk = (value: unknown): void => {
    if (typeof value === 'string') queue.push(posix.normalize(value));
    else if (value !== null && typeof value === 'object') Object.values(value).forEach(walk);
  };
  walk(manifest.exports);
  walk(manifest.bin);
  const seen = new Set<string>();
  // Declarations keep the sources' `.ts` specifiers (rewriteRelativeImportExtensions rewrites the JS only).
  const reference = /["'`]((?:\.{1,2}\/|assets\/)[^"'`\s]+?\.(?:js|wasm|ts))["'`]/g;
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    if (!existsSync(join(unpacked, file))) {
      // A .d.ts may stand alone (a declaration of a .js the build inlines); a .js may not.
      if (withMissing && !file.endsWith('.d.ts')) seen.add(file);
      continue;
    }
    seen.add(file);
    // A module is its .js and its .d.ts: reaching either ships both.
    if (file.endsWith('.js')) queue.push(file.replace(/\.js$/, '.d.ts'));
    if (file.endsWith('.d.ts')) queue.push(file.replace(/\.d\.ts$/, '.js'));
    if (!/\.(js|d\.ts)$/.test(file)) continue;
    for (const match of readFileSync(join(unpacked, file), 'utf8').matchAll(reference)) {
      const target = posix.normalize(posix.join(posix.dirname(file), match[1]!));
      queue.push(/(?<!\.d)\.ts$/.test(target) ? target.replace(/\.ts$/, '.d.ts') : target);
    }
  }
  return seen;
}
