// Browser tests: real headless Chromium (Debian's /usr/bin/chromium, or CHROME_PATH), TypeScript through esbuild.
import { chromeLauncher } from '@web/test-runner-chrome';
import { esbuildPlugin } from '@web/dev-server-esbuild';
import { persoTestServer } from './test/server/perso-test-server.js';
import { cspHeaderForTests } from './test/server/csp-header.js';
import { devtoolsProtocolPlugin } from './test/server/devtools-protocol.js';
import { persoReplayPlugin } from './test/server/perso-replay.js';
import { rawDist } from './test/server/raw-dist.js';
import { lazyChunkFaultsForTests } from './test/server/lazy-chunk-fault.js';

const executablePath = process.env.CHROME_PATH ?? '/usr/bin/chromium';

export default {
  files: ['test/browser/**/*.test.ts'],
  nodeResolve: true,
  concurrency: 1,
  testFramework: { config: { timeout: 20000 } },
  testsFinishTimeout: 300000,
  // scriptable policy files and audit sinks under /__perso__/ (policy loader and audit transport tests)
  // a CSP without 'wasm-unsafe-eval' on URLs marked perso-test-csp=no-wasm (worker fault tests)
  // dist/ byte for byte, and as a tampering CDN would serve it (code integrity tests)
  // a lazily imported module refused to a module marked perso-test-fail=<name> (lazy-chunk faults)
  middleware: [persoTestServer(), cspHeaderForTests(), rawDist(), lazyChunkFaultsForTests()],
  // DevTools protocol commands from a test to its own page (WebAuthn.*, Input.dispatch*): approval tests
  plugins: [
    esbuildPlugin({ ts: true, target: 'es2022', tsconfig: 'test/browser/tsconfig.json' }),
    devtoolsProtocolPlugin(),
    // `perso replay` on a log a test recorded (replay tests)
    persoReplayPlugin(),
  ],
  browsers: [
    chromeLauncher({
      launchOptions: {
        executablePath,
        headless: true,
        args: [
          '--no-sandbox',
          '--disable-gpu',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
          '--no-first-run',
        ],
      },
    }),
  ],
};
