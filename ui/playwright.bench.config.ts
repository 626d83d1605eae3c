// Benchmarks of the UI in Debian's Chromium against the real `hyperagent serve --web` (the same
// manager and agents as the end-to-end tests). Results go to stdout and bench/results/; the
// figures in BENCHMARKS.md come from here. Run: `npx playwright test -c playwright.bench.config.ts`.
import { defineConfig } from '@playwright/test'
import base from './playwright.config.ts'

export default defineConfig({
  ...base,
  testDir: './bench',
  testMatch: '**/*.bench.ts',
  timeout: 600_000,
})
