// A complete ServiceConfig for tests that drive performReload directly (without parsing an
// agent config): a HUP by PID file, nothing probed, short timeouts; `over` replaces fields whole.
import type { ServiceConfig } from "../../agent/config/agent-config.js";

export function serviceConfig(over: Partial<ServiceConfig> = {}): ServiceConfig {
  return {
    name: "svc",
    reload: { method: "signal", signal: "HUP", target: { kind: "pidfile", path: "/run/svc.pid" } },
    generation: { kind: "auto" },
    health: [],
    configs: [],
    allowRestart: false,
    checkMode: "staged",
    timeouts: { generationMs: 100, healthyForMs: 10, probeIntervalMs: 10, commandMs: 1000 },
    ...over,
  };
}
