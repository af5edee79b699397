// The full fault soak (npm run soak): test/browser/soak/full.soak.ts, with no per-test timeout and
// with gc() and precise heap figures in the page, so the report's memory figures mean something.
import { chromeLauncher } from '@web/test-runner-chrome';
import config from './web-test-runner.config.js';

export default {
  ...config,
  files: ['test/browser/soak/full.soak.ts'],
  testFramework: { config: { timeout: 0 } },
  testsFinishTimeout: 3_600_000,
  browsers: [
    chromeLauncher({
      launchOptions: {
        executablePath: process.env.CHROME_PATH ?? '/usr/bin/chromium',
        headless: true,
        args: [
          '--no-sandbox',
          '--disable-gpu',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
          '--no-first-run',
          '--js-flags=--expose-gc',
          '--enable-precise-memory-info',
        ],
      },
    }),
  ],
};
