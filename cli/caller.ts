// Who asks: recorded with every rollout the CLI starts or stops.
import os from "node:os";

export function caller() {
  return { user: os.userInfo().username, host: os.hostname() };
}
