// Whether a certificate chain, a key and a CA bundle can serve TLS, checked by
// loading them the way the TLS stack will (createSecureContext), so that what
// passes here cannot fail later when a listener swaps them in. Parsing the first
// PEM block alone is not enough: a chain file cut short while being rewritten,
// or a DER file, parses as a certificate and still cannot be served. A CA
// bundle needs its own check: TLS skips blocks it cannot read without a word,
// trusting fewer clients than the file names.
import { X509Certificate } from "node:crypto";
import { createSecureContext } from "node:tls";

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  ca: Buffer;
}

/** Which file is at fault, and why (the message follows the file's name). */
export interface TlsMaterialProblem {
  field: "cert" | "key" | "ca";
  message: string;
}

const BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** `certName`: how the key's refusal names the certificate it does not match. */
export function tlsMaterialProblem(m: TlsMaterial, certName = "the certificate"): TlsMaterialProblem | undefined {
  const ca = caBundleProblem(m.ca);
  if (ca) return { field: "ca", message: ca };
  try {
    createSecureContext({ cert: m.cert });
  } catch (err) {
    return { field: "cert", message: `is not a PEM certificate chain TLS can load (${reason(err)}); every block must be a whole PEM certificate (a file cut short, or DER, is refused)` };
  }
  try {
    createSecureContext({ key: m.key });
  } catch (err) {
    return { field: "key", message: `is not a PEM private key TLS can load (${reason(err)})` };
  }
  try {
    createSecureContext({ cert: m.cert, key: m.key, ca: m.ca });
  } catch (err) {
    return { field: "key", message: `is not the key of ${certName} (${reason(err)})` };
  }
  return undefined;
}

/** Every PEM block of the bundle a whole certificate; at least one. */
function caBundleProblem(ca: Buffer): string | undefined {
  const text = ca.toString("latin1");
  const blocks = text.match(BLOCK) ?? [];
  if (blocks.length === 0) return "holds no PEM certificate (-----BEGIN CERTIFICATE-----); DER is not read";
  const begun = text.split("-----BEGIN ").length - 1;
  if (begun !== blocks.length) return `holds ${begun} PEM blocks of which ${blocks.length} are whole certificates (a file cut short, or a key in the CA file?)`;
  for (const [i, block] of blocks.entries()) {
    try {
      new X509Certificate(block);
    } catch (err) {
      return `certificate ${i + 1} of ${blocks.length} cannot be read (${reason(err)})`;
    }
  }
  return undefined;
}

const reason = (err: unknown) => (err instanceof Error ? err.message.replace(/^error:[0-9A-F]+:/, "") : String(err));
