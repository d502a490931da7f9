// Bundles one entry point into one ES module file for the packages (build-packages.sh), for the
// distribution's nodejs (>= 18): node bundle-for-package.mjs ENTRY.ts OUT.mjs. The agent
// footprint benchmark runs the agent bundled by this same function.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { omitChannelz } from "./omit-channelz.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export async function bundleForPackage(entry, outfile) {
  await build({
    absWorkingDir: root,
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "node",
    target: "node18",
    format: "esm",
    // CommonJS dependencies bundled into ESM still call require().
    banner: { js: "import { createRequire as __fleetRequire } from 'node:module'; const require = __fleetRequire(import.meta.url);" },
    // The controller package ships better-sqlite3's native module beside the bundle.
    external: ["better-sqlite3"],
    plugins: [omitChannelz],
    // Less source held in memory by the daemons (the agent's idle RSS); identifiers are kept, so
    // stack traces and class names read as in the sources.
    minifyWhitespace: true,
    minifySyntax: true,
    logLevel: "warning",
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [entry, outfile] = process.argv.slice(2);
  if (!entry || !outfile) {
    process.stderr.write("usage: node packaging/bundle-for-package.mjs ENTRY.ts OUT.mjs\n");
    process.exit(2);
  }
  await bundleForPackage(entry, path.resolve(outfile));
}
