// `fleet controller status`: the controller itself — its identity and fencing
// epoch, and the history's replication (Litestream's state and the lag).
// Exit 1 when replication is configured but not working (Litestream is not
// running, or its positions cannot be read): the history is not being copied.
import { Command } from "commander";
import type { ControllerStatusResponse } from "../../proto/gen/fleet/controller/v1/controller.js";
import { action } from "../command-action.js";
import { withController, type GlobalFlags } from "../controller-session.js";
import { EXIT } from "../exit-codes.js";
import { printJson } from "../output/json-output.js";

export function controllerCommand(): Command {
  const cmd = new Command("controller").description("the controller itself");
  cmd.addCommand(
    new Command("status").description("identity, fencing epoch, history replication and its lag (exit 1 when replication is configured but not running)").action(
      action((o: GlobalFlags, c: Command) =>
        withController(o, c, async (client, flags) => {
          const r = await client.unary<object, ControllerStatusResponse>("controllerStatus", {});
          if (flags.json) printJson(r);
          else describe(r).forEach((l) => console.log(l));
          const rep = r.replication;
          return rep && (rep.litestreamState !== "running" || rep.sampleError) ? EXIT.failed : EXIT.ok;
        }, "read"),
      ),
    ),
  );
  return cmd;
}

function describe(r: ControllerStatusResponse): string[] {
  const lines = [`controller ${r.controllerId} at epoch ${r.epoch || "(none)"}, ${r.state}`, `history    ${r.db}`];
  const rep = r.replication;
  if (!rep) return [...lines, "replication off (no replicate: in fleet.yaml)"];
  const confirmed = Number(rep.lastConfirmedAtMs) ? new Date(Number(rep.lastConfirmedAtMs)).toISOString() : "not yet";
  return [
    ...lines,
    `replica    ${rep.to} (sync interval ${rep.syncIntervalMs} ms)`,
    `litestream ${rep.litestreamState}${rep.litestreamPid ? ` (pid ${rep.litestreamPid})` : ""}, ${rep.restarts} restarts${rep.lastError ? `; last error: ${rep.lastError}` : ""}`,
    `lag        ${rep.sampleError ? `unknown (${rep.sampleError})` : `${rep.lagSeconds.toFixed(1)}s`}; replica complete as of ${confirmed}`,
  ];
}
