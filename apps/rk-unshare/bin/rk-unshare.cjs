#!/usr/bin/env node
// Loads dist/rk-unshare.cjs (the bundle) with its V8 code cache: see libs/cli/loader.cjs.
require('@rk/cli/loader')(require('node:path').join(__dirname, '..', 'dist', 'rk-unshare.cjs'));
