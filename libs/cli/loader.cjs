'use strict';
// Loads a command's bundle (dist/<name>.cjs) with V8's code cache
// (dist/<name>.cjs.cache, written at build time by `RK_WRITE_CODE_CACHE=1
// <command> --print-semver` or similar): compiling the bundle is the largest
// part of our start-up after Node's own. A missing or stale cache is simply
// ignored (V8 rejects it and compiles as usual).
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const Module = require('node:module');

// The bin's sh part passes what the caller gave us (signal dispositions and
// mask, inherited LISTEN_FDS) as one extra first argument: strip it, keep it
// for libs/cli/src/inherited.ts.
const INHERITED = '--rk-inherited=';
if (typeof process.argv[2] === 'string' && process.argv[2].startsWith(INHERITED)) {
  globalThis[Symbol.for('rk.inherited')] = process.argv[2].slice(INHERITED.length);
  process.argv.splice(2, 1);
}

module.exports = function loadBundle(file) {
  const source = fs.readFileSync(file, 'utf8');
  const cacheFile = `${file}.cache`;
  let cachedData;
  try {
    cachedData = fs.readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  const script = new vm.Script(Module.wrap(source), {
    filename: file,
    cachedData,
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  if (process.env.RK_WRITE_CODE_CACHE === '1') {
    process.once('exit', () => fs.writeFileSync(cacheFile, script.createCachedData()));
  }
  const mod = new Module(file, module);
  mod.filename = file;
  mod.paths = Module._nodeModulePaths(path.dirname(file));
  const fn = script.runInThisContext();
  fn.call(mod.exports, mod.exports, Module.createRequire(file), mod, file, path.dirname(file));
};
