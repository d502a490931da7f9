// gRPC's error text for people: grpc-js appends an empty "Resolution note:" (and sometimes a
// trailing period) to connection failures; that says nothing, so it is dropped.
export function grpcMessage(err: { details?: string; message?: string }): string {
  const text = err.details || err.message || "";
  return text.replace(/\s*Resolution note:\s*$/i, "").replace(/\.\s*$/, "").trim();
}
