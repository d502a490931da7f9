// Reading a YAML file is kept apart from parsing its meaning: this returns the
// plain data plus a way to find the line of a field path for error messages.
import { readFile, stat } from "node:fs/promises";
import { LineCounter, parseDocument, isMap, isSeq, isScalar, type Node } from "yaml";
import { ConfigError, type ConfigProblem } from "./errors.js";

export interface YamlSource {
  file: string;
  data: unknown;
  lineOf(path: (string | number)[]): number | undefined;
}

export function parseYamlText(file: string, text: string): YamlSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => ({ path: [], message: `YAML syntax: ${e.message.split("\n")[0]}`, line: lineCounter.linePos(e.pos[0]).line })),
    );
  }
  const lineOf = (path: (string | number)[]) => {
    // Walk down as far as the path exists; report the deepest node found.
    let node: unknown = doc.contents;
    let best: number | undefined = rangeLine(node);
    for (const key of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === key);
        if (!pair) break;
        best = rangeLine(pair.key) ?? best;
        node = pair.value;
      } else if (isSeq(node) && typeof key === "number") {
        node = node.items[key];
        best = rangeLine(node) ?? best;
      } else break;
    }
    return best;
  };
  function rangeLine(node: unknown): number | undefined {
    const range = (node as Node | undefined)?.range;
    return range ? lineCounter.linePos(range[0]).line : undefined;
  }
  let data: unknown;
  try {
    // toJS expands aliases; the yaml library refuses an alias bomb ("billion laughs") here.
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new ConfigError(file, [{ path: [], message: `YAML: ${(err as Error).message.split("\n")[0]}` }]);
  }
  return { file, data, lineOf };
}

/** A config file larger than this is not a config file (and would stall a parse). */
const MAX_CONFIG_FILE_BYTES = 4 * 1024 * 1024;

export async function readYamlFile(file: string): Promise<YamlSource> {
  let text: string;
  try {
    const size = (await stat(file)).size;
    if (size > MAX_CONFIG_FILE_BYTES) throw new Error(`${size} bytes; a config file may have at most ${MAX_CONFIG_FILE_BYTES}`);
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new ConfigError(file, [{ path: [], message: `cannot read: ${(err as Error).message}` }]);
  }
  return parseYamlText(file, text);
}

export function withLines(source: YamlSource, problems: ConfigProblem[]): ConfigError {
  return new ConfigError(
    source.file,
    problems
      .map((p) => ({ ...p, line: p.line ?? source.lineOf(p.path) }))
      .sort((a, b) => (a.line ?? 0) - (b.line ?? 0)),
  );
}
