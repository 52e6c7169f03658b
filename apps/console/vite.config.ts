import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';

// The console is static files the gateway serves at `/` (GATEWAY_CONSOLE_DIR, default dist/console);
// `npm run console:dev` proxies the API to a gateway on :8080 while the page reloads on each edit.
export default defineConfig({
  root: __dirname,
  base: '/',
  plugins: [react()],
  build: { outDir: '../../dist/console', emptyOutDir: true, sourcemap: true, chunkSizeWarningLimit: 2000 },
  server: { proxy: { '/api': 'http://127.0.0.1:8080' } },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}'],
    environmentOptions: { jsdom: { url: 'http://ferry.test/' } },
  },
});
