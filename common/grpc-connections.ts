// Open client connections of a grpc-js server, read through channelz (the
// library's public introspection API): grpc-js keeps its sessions private.
import { getChannelzHandlers, type Server } from "@grpc/grpc-js";

const PAGE = 1000;
const MAX_PAGES = 100;

export function countConnections(server: Server): Promise<number> {
  const handlers = getChannelzHandlers();
  const serverId = server.getChannelzRef().id;
  const page = (start: number) =>
    new Promise<{ ids: number[]; end: boolean }>((resolve, reject) => {
      const call = { request: { server_id: String(serverId), start_socket_id: String(start), max_results: String(PAGE) } };
      handlers.GetServerSockets(call as never, ((err: Error | null, res: { socket_ref: { socket_id: string }[]; end: boolean }) =>
        err ? reject(err) : resolve({ ids: res.socket_ref.map((r) => Number(r.socket_id)), end: res.end })) as never);
    });
  return (async () => {
    let count = 0;
    let start = 0;
    for (let i = 0; i < MAX_PAGES; i++) {
      const { ids, end } = await page(start);
      count += ids.length;
      if (end || ids.length === 0) break;
      start = Math.max(...ids) + 1;
    }
    return count;
  })();
}
