// Structured logger: JSON lines for daemons, plain lines for humans. Passed in,
// never global; child loggers carry fields such as `host` and `rollout`.
export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LoggerOptions {
  level?: LogLevel;
  format?: "json" | "human";
  write?: (line: string) => void;
}

export function createLogger(options: LoggerOptions = {}, base: LogFields = {}): Logger {
  const min = rank[options.level ?? "info"];
  const format = options.format ?? "json";
  const write = options.write ?? ((line: string) => process.stderr.write(line + "\n"));
  const emit = (level: LogLevel, msg: string, fields?: LogFields) => {
    if (rank[level] < min) return;
    const all = { ...base, ...fields };
    if (format === "json") {
      write(JSON.stringify({ time: new Date().toISOString(), level, msg, ...all }, errorReplacer));
    } else {
      const extra = Object.entries(all)
        .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v, errorReplacer)}`)
        .join(" ");
      write(`${level === "info" ? "" : level + ": "}${msg}${extra ? " " + extra : ""}`);
    }
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (fields) => createLogger(options, { ...base, ...fields }),
  };
}

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
  return value;
}
