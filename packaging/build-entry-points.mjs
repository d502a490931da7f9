// `npm run build` (also run by `npm install`): compiles the three entry points of the checkout
// into build/ with esbuild, so bin/fleet, bin/fleet-agent and bin/fleet-controller start without
// compiling TypeScript. Code splitting keeps what a command does not use (gRPC for `--help`, the
// demo's controller) out of its start-up. The .deb/.rpm packages bundle separately
// (build-packages.sh), for the distribution's older nodejs.
import { build } from "esbuild";
import { rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const outdir = path.join(root, "build");
rmSync(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: { fleet: "cli/main.ts", "fleet-agent": "agent/main.ts", "fleet-controller": "controller/main.ts", "demo-web-service": "cli/demo/reloadable-web-service.ts" },
  outdir,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: `node${process.versions.node.split(".")[0]}`,
  outExtension: { ".js": ".mjs" },
  chunkNames: "chunks/[name]-[hash]",
  // CommonJS dependencies bundled into ESM still call require().
  banner: { js: "import { createRequire as __fleetRequire } from 'node:module'; const require = __fleetRequire(import.meta.url);" },
  // The native module stays in node_modules.
  external: ["better-sqlite3"],
  logLevel: "warning",
});
// Written last: its presence says the build is whole.
writeFileSync(path.join(outdir, "BUILT"), `${new Date().toISOString()}\n`);
