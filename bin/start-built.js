// Shared by the three entry points: runs the compiled program from build/, or says how to build it.
// CommonJS (bin/package.json), so that starting the CLI does not go through the ES module loader.
// The daemons are ES modules (build/NAME.mjs). The CLI is a CommonJS script (build/fleet.cjs)
// compiled here with V8's code cache (build/fleet.cjs.cache), which `npm run build` writes through
// writeCodeCache: a command then skips compiling gRPC and the proto code, most of its start-up.
"use strict";
const { existsSync, readFileSync, statSync, writeFileSync } = require("node:fs");
const Module = require("node:module");
const path = require("node:path");
const { pathToFileURL } = require("node:url");
const vm = require("node:vm");

const BUILD = path.join(__dirname, "..", "build");
const SCRIPTS = { fleet: "fleet.cjs" };

async function startBuilt(name) {
  if (!existsSync(path.join(BUILD, "BUILT"))) {
    process.stderr.write(`${name}: this checkout is not built; run \`npm run build\` (npm install does it) in ${path.dirname(__dirname)}\n`);
    process.exit(2);
  }
  if (SCRIPTS[name]) runScript(path.join(BUILD, SCRIPTS[name]), true);
  else await import(pathToFileURL(path.join(BUILD, `${name}.mjs`)).href);
}

/** Build step only: runs the CLI with `args` and, as it exits, writes the code cache of what it compiled. */
function writeCodeCache(name, args) {
  const file = path.join(BUILD, SCRIPTS[name]);
  process.argv = [process.execPath, file, ...args];
  const script = runScript(file, false);
  process.on("exit", () => writeFileSync(`${file}.cache`, script.createCachedData()));
}

/**
 * Compiles and runs a CommonJS script as Node's loader would, with the code cache beside it when
 * that cache is at least as new as the script (V8 itself checks only the source's length, its
 * version and flags; it compiles from source when it rejects a cache).
 */
function runScript(file, useCache) {
  const script = new vm.Script(Module.wrap(readFileSync(file, "utf8")), {
    filename: file,
    cachedData: useCache ? freshCache(file) : undefined,
    // import() inside the script resolves as it would in a module Node loaded itself.
    importModuleDynamically: vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const module = new Module(file, null);
  module.filename = file;
  module.paths = Module._nodeModulePaths(path.dirname(file));
  script.runInThisContext()(module.exports, Module.createRequire(file), module, file, path.dirname(file));
  return script;
}

function freshCache(file) {
  try {
    const cache = `${file}.cache`;
    return statSync(cache).mtimeMs >= statSync(file).mtimeMs ? readFileSync(cache) : undefined;
  } catch {
    return undefined;
  }
}

module.exports = { startBuilt, writeCodeCache };
