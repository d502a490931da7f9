// The gRPC status codes callers branch on, as plain numbers (they are fixed by the gRPC spec).
// Importing `status` from @grpc/grpc-js loads the whole library, which the CLI's `--help` and its
// error mapping must not pay for.
export const GRPC_CODE = {
  CANCELLED: 1,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;
