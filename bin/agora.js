#!/usr/bin/env node
// The `agora` command: runs the bundle that `npm start`, `npm test` or
// `npm run build` writes to dist/.
try {
  await import('../dist/agora.js');
} catch (error) {
  if (error?.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist/agora.js')) {
    console.error('agora: dist/ is missing; run `npm run build` (or `npm start`) first');
    process.exit(1);
  }
  throw error;
}
