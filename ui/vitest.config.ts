import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  plugins: [react()],
  test: {
    environment: 'jsdom',
    setupFiles: ['./src/setupTests.ts'],
    // Browser (Playwright) specs live in e2e/ and run against the real manager, not here.
    include: ['src/**/*.test.{ts,tsx}'],
  },
});
