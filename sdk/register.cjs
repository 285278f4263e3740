// Preload for CommonJS services: node --require tsx/cjs --require @lantern/sdk/register.cjs app.cjs
// require-in-the-middle patches CJS modules required after this; start() also registers the ESM
// hook so ESM modules imported later are patched too.
'use strict';
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS preload has only require() */
const { isMainThread } = require('node:worker_threads');

if (isMainThread) {
  // the SDK is TypeScript source: tsx's CJS hook must be loaded first
  const { start } = require('./src/start.ts');
  start().catch((err) => {
    console.error(`[@lantern/sdk] start-up failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
