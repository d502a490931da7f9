// Reads what a log file gained since a baseline offset; copes with rotation
// or truncation by starting over from the beginning.
import { open, stat } from "node:fs/promises";

const MAX_READ = 1024 * 1024;

export class LogTail {
  private offset = 0;

  constructor(readonly path: string) {}

  async begin(): Promise<void> {
    this.offset = await stat(this.path).then((s) => s.size, () => 0);
  }

  async readNew(): Promise<string> {
    const size = await stat(this.path).then((s) => s.size, () => 0);
    if (size < this.offset) this.offset = 0;
    if (size === this.offset) return "";
    const fh = await open(this.path, "r");
    try {
      const length = Math.min(size - this.offset, MAX_READ);
      const buf = Buffer.alloc(length);
      await fh.read(buf, 0, length, this.offset);
      this.offset += length;
      return buf.toString("utf8");
    } finally {
      await fh.close();
    }
  }

  /** First new line matching the pattern, if any. */
  async findNew(pattern: RegExp): Promise<string | undefined> {
    const text = await this.readNew();
    return text.split("\n").find((line) => pattern.test(line));
  }
}
