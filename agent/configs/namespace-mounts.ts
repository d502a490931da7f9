// Plans the mounts that make a staged set of config files appear at their
// real paths inside the check's private mount namespace (pure: paths in,
// helper operations out). A changed file is bind-mounted over its live path;
// a directory that gains a file or loses one is covered by an overlayfs whose
// upper layer (on a tmpfs) holds an empty bind target for each new file and
// a whiteout for each removed one, so the real directory is never written.
import path from "node:path";
import { failedPrecondition } from "../../common/errors.js";

export interface MountedFile {
  /** The live (declared) path. */
  live: string;
  liveExists: boolean;
  /** The staged copy to show at `live`; undefined = the file is being removed. */
  staged?: string;
  /** "DEV:INO" of the staged copy as written: the helper binds only that very file. */
  stagedId?: string;
}

/** overlayfs options are comma-separated with ':' between lower layers; such paths are refused rather than escaped. */
const OVERLAY_UNSAFE = /[,:\\"\s]/;

export function planNamespaceMounts(files: MountedFile[], scratch: string): string[] {
  const overlays = overlayDirs(files);
  const ops: string[] = [];
  if (overlays.length) ops.push("tmpfs", scratch);
  overlays.forEach(({ dir, create, whiteout }, i) => {
    for (const p of [dir, scratch]) {
      if (OVERLAY_UNSAFE.test(p)) throw failedPrecondition(`cannot check a set that adds or removes files in ${dir}: ${p} contains a comma, colon, backslash, quote or space, which overlayfs options cannot carry; use check_mode: live`);
    }
    const layer = path.join(scratch, String(i));
    ops.push("mkdir", layer, "mkdir", `${layer}/u`, "mkdir", `${layer}/w`);
    for (const name of create) ops.push("touch", `${layer}/u/${name}`);
    for (const name of whiteout) ops.push("whiteout", `${layer}/u/${name}`);
    ops.push("overlay", dir, `${layer}/u`, `${layer}/w`);
  });
  for (const f of files) if (f.staged) ops.push("bind", f.staged, f.live, f.stagedId ?? "");
  return ops;
}

/** Directories that gain or lose a file, parents before children (a child's overlay must sit on top of its parent's). */
function overlayDirs(files: MountedFile[]): { dir: string; create: string[]; whiteout: string[] }[] {
  const dirs = new Map<string, { dir: string; create: string[]; whiteout: string[] }>();
  const at = (dir: string) => dirs.get(dir) ?? dirs.set(dir, { dir, create: [], whiteout: [] }).get(dir)!;
  for (const f of files) {
    if (f.staged && !f.liveExists) at(path.dirname(f.live)).create.push(path.basename(f.live));
    if (!f.staged && f.liveExists) at(path.dirname(f.live)).whiteout.push(path.basename(f.live));
  }
  return [...dirs.values()].sort((a, b) => a.dir.split("/").length - b.dir.split("/").length || a.dir.localeCompare(b.dir));
}
