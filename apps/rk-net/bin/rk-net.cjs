#!/usr/bin/env node
// Loads dist/rk-net.cjs (the bundle) with its V8 code cache: see libs/cli/loader.cjs
// (required by path: resolving the package's "exports" costs more than the load).
require('../../../libs/cli/loader.cjs')(require('node:path').join(__dirname, '..', 'dist', 'rk-net.cjs'));
