// esbuild plugin: @grpc/grpc-js loads @grpc/proto-loader (and with it protobufjs, ~300 KB) only to
// serve the channelz debugging service, which fleet never registers. Bundling a stand-in that
// says so keeps that code out of every bundle's start-up.
export const omitChannelz = {
  name: "omit-channelz",
  setup(b) {
    b.onResolve({ filter: /^@grpc\/proto-loader$/ }, () => ({ path: "@grpc/proto-loader", namespace: "omit-channelz" }));
    b.onLoad({ filter: /.*/, namespace: "omit-channelz" }, () => ({ contents: "throw new Error('fleet is built without @grpc/proto-loader: the gRPC channelz service is not available');", loader: "js" }));
  },
};
