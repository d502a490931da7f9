// Shared by the three entry points: runs the compiled program from build/, or says how to build it.
import { existsSync } from "node:fs";

export async function startBuilt(name) {
  const built = new URL(`../build/${name}.mjs`, import.meta.url);
  if (!existsSync(new URL("../build/BUILT", import.meta.url))) {
    process.stderr.write(`${name}: this checkout is not built; run \`npm run build\` (npm install does it) in ${new URL("..", import.meta.url).pathname}\n`);
    process.exit(2);
  }
  await import(built.href);
}
