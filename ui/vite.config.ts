import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// `npm run dev` proxies the API to a running `hyperagent serve --web` (HYPERAGENT_WEB_URL, e.g. the
// printed http://127.0.0.1:PORT). Open the printed URL once first so the browser has the cookie
// for that origin, or pass the token as HYPERAGENT_TOKEN.
const target = process.env.HYPERAGENT_WEB_URL ?? 'http://127.0.0.1:8765';
const token = process.env.HYPERAGENT_TOKEN;

export default defineConfig({
  plugins: [react()],
  server: {
    proxy: {
      '/api': {
        target,
        changeOrigin: true,
        headers: token ? { authorization: `Bearer ${token}` } : {},
      },
    },
  },
});
