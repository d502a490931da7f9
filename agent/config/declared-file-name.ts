// What a declared config path may not be, beyond being a normalized absolute
// path: things the agent could never write (a NUL byte, a name with no room
// for the temp name beside it) or could mistake for its own temp files.
import { posix } from "node:path";
import { TEMP_NAME_EXTRA_BYTES, tempFileOwner } from "../configs/verified-dir.js";

/** NAME_MAX of Linux file systems. */
const NAME_MAX = 255;
export const MAX_DECLARED_NAME_BYTES = NAME_MAX - TEMP_NAME_EXTRA_BYTES;

/** Why `file` cannot be a declared config path, or undefined when it can. */
export function declaredFileProblem(file: string): string | undefined {
  if (/[\0\n\r]/.test(file)) return `must not contain a NUL byte or a line break, got ${JSON.stringify(file)}`;
  const name = posix.basename(file);
  const bytes = Buffer.byteLength(name);
  if (bytes > MAX_DECLARED_NAME_BYTES) {
    return `file name ${JSON.stringify(name.slice(0, 40))}... is ${bytes} bytes; at most ${MAX_DECLARED_NAME_BYTES} are allowed, so that the temp file fleet writes beside it (.NAME.fleet-staged-XXXXXXXXXXXX) fits in ${NAME_MAX} bytes`;
  }
  if (tempFileOwner(name) !== undefined) {
    return `file name ${JSON.stringify(name)} has the form of fleet's own temp files (.NAME.fleet-tmp-HEX12 or .NAME.fleet-staged-HEX12), which the agent removes at start; rename the file`;
  }
  return undefined;
}
