import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  plugins: [react()],
  // Tests may read the repository's other sources (`?raw`), to hold the UI's copies to them.
  server: { fs: { allow: ['..'] } },
  test: {
    environment: 'jsdom',
    setupFiles: ['./src/setupTests.ts'],
    // Browser (Playwright) specs live in e2e/ and run against the real manager, not here.
    include: ['src/**/*.test.{ts,tsx}'],
  },
});
