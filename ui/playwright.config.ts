// Browser end-to-end tests: Debian's Chromium (installed by scripts/setup.sh; Playwright never
// downloads a browser here) against the real `hyperagent serve --web` with real agents, which
// e2e/manager.ts starts.
import { defineConfig } from '@playwright/test'

export default defineConfig({
  testDir: './e2e',
  testMatch: '**/*.spec.ts',
  globalSetup: './e2e/manager.ts',
  timeout: 180_000,
  expect: { timeout: 60_000 },
  workers: 1,
  fullyParallel: false,
  retries: 0,
  outputDir: 'test-results',
  reporter: [['list']],
  use: {
    // Set by e2e/manager.ts; the workers (which load this file again) inherit it.
    baseURL: process.env.HYPERAGENT_WEB_URL ? new URL(process.env.HYPERAGENT_WEB_URL).origin : undefined,
    viewport: { width: 1280, height: 800 },
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/lib/chromium/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  projects: [{ name: 'debian-chromium', use: { browserName: 'chromium' } }],
})
