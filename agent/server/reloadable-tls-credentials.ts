// Mutual-TLS server credentials whose certificate, key and CA can be replaced
// while serving (SIGHUP): grpc-js watches credentials and calls
// setSecureContext on its TLS servers when they change.
import { ServerCredentials } from "@grpc/grpc-js";
import type { TlsMaterial } from "../config/agent-config.js";

export class ReloadableTlsCredentials extends ServerCredentials {
  constructor(material: TlsMaterial) {
    // requestCert + Node's default rejectUnauthorized: a client certificate signed by `ca` is required.
    super({ requestCert: true }, contextOptions(material));
  }

  /** The material was loaded once already (at config compile), so the new context cannot fail to build. */
  update(material: TlsMaterial): void {
    this.updateSecureContextOptions(contextOptions(material));
  }

  _equals(other: ServerCredentials): boolean {
    return other === this;
  }
}

function contextOptions(m: TlsMaterial) {
  return { cert: m.cert, key: m.key, ca: m.ca };
}
