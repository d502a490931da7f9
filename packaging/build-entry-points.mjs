// `npm run build` (also run by `npm install`): compiles the entry points of the checkout into
// build/ with esbuild, so bin/fleet, bin/fleet-agent and bin/fleet-controller start without
// compiling TypeScript. The daemons are ESM with code splitting. The CLI, where every command pays
// its start-up, is one CommonJS script (build/fleet.cjs) that bin/fleet runs through V8's code
// cache (build/fleet.cjs.cache, made here by one warm-up run; see bin/start-built.js): Node 20 has
// no code cache for ES modules, and compiling gRPC and the proto code on every run was most of
// `fleet history`'s start-up. The .deb/.rpm packages bundle separately (build-packages.sh), for
// the distribution's older nodejs.
import { spawnSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { omitChannelz } from "./omit-channelz.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const outdir = path.join(root, "build");
const common = {
  absWorkingDir: root,
  bundle: true,
  platform: "node",
  target: `node${process.versions.node.split(".")[0]}`,
  // The native module stays in node_modules.
  external: ["better-sqlite3"],
  plugins: [omitChannelz],
  logLevel: "warning",
};
rmSync(outdir, { recursive: true, force: true });
await build({
  ...common,
  entryPoints: { "fleet-agent": "agent/main.ts", "fleet-controller": "controller/main.ts", "demo-web-service": "cli/demo/reloadable-web-service.ts" },
  outdir,
  splitting: true,
  format: "esm",
  outExtension: { ".js": ".mjs" },
  chunkNames: "chunks/[name]-[hash]",
  // CommonJS dependencies bundled into ESM still call require().
  banner: { js: "import { createRequire as __fleetRequire } from 'node:module'; const require = __fleetRequire(import.meta.url);" },
});
await build({
  ...common,
  entryPoints: ["cli/main.ts"],
  outfile: path.join(outdir, "fleet.cjs"),
  format: "cjs",
  // Less source to read and hash; names kept for stack traces and error names.
  minify: true,
  keepNames: true,
  // What the sources read from import.meta, for a CommonJS script.
  define: { "import.meta.url": "__fleetModuleUrl", "import.meta.resolve": "__fleetResolve" },
  banner: { js: "const __fleetModuleUrl = require('node:url').pathToFileURL(__filename).href; const __fleetResolve = (s) => require('node:url').pathToFileURL(require.resolve(s)).href;" },
});
// The warm-up: `fleet history` against a socket that does not exist loads and runs what a command
// that calls the controller runs (commander, gRPC, the proto code, the error mapping); its exit
// code (3, unreachable) is expected. The cache holds the functions compiled by then.
const warm = spawnSync(process.execPath, ["-e", `require(${JSON.stringify(path.join(root, "bin/start-built.js"))}).writeCodeCache("fleet", ["history", "--controller", "unix:/nonexistent/fleet-build-warm-up.sock"]);`], { encoding: "utf8", timeout: 60_000 });
if (warm.status !== 3) throw new Error(`the CLI's code-cache warm-up exited ${warm.status ?? warm.signal} (expected 3, unreachable): ${warm.stderr}`);
// Written last: its presence says the build is whole.
writeFileSync(path.join(outdir, "BUILT"), `${new Date().toISOString()}\n`);
