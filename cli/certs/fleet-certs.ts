// `fleet certs`: a fleet CA and certificates for agents, controllers and
// operators, made by the system's openssl (no hand-rolled crypto).
import { existsSync, mkdirSync, writeFileSync, rmSync, chmodSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { execa } from "execa";

export type CertRole = "agent" | "controller" | "operator";

const OPENSSL = "/usr/bin/openssl";
const NAME = /^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$/;

async function openssl(args: string[], cwd: string): Promise<void> {
  const r = await execa(OPENSSL, args, { cwd, reject: false, all: true, timeout: 60_000 });
  if (r.exitCode !== 0) throw new Error(`openssl ${args[0]} failed: ${r.all}`);
}

export async function initCa(dir: string, name = "fleet CA", days = 3650): Promise<{ cert: string; key: string }> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const cert = path.join(dir, "ca.crt");
  const key = path.join(dir, "ca.key");
  if (existsSync(key)) throw new Error(`${key} already exists; a fleet has one CA (remove it first to start over)`);
  await openssl(
    ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert, "-days", String(days), "-subj", `/CN=${name}`,
      "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
    dir,
  );
  chmodSync(key, 0o600);
  return { cert, key };
}

/**
 * Issues a certificate signed by the CA in `dir`. Agents are TLS servers named
 * by host (DNS or IP SAN, checked by the controller); controllers are clients of
 * agents and servers for remote CLIs; operators are clients. The common name is
 * the identity an agent's `allow` rules name.
 */
export async function issueCert(dir: string, role: CertRole, name: string, days = 825): Promise<{ cert: string; key: string }> {
  if (!NAME.test(name)) throw new Error(`${role} name must be a host name, IP address or simple name, got ${JSON.stringify(name)}`);
  const caCert = path.join(dir, "ca.crt");
  const caKey = path.join(dir, "ca.key");
  if (!existsSync(caKey)) throw new Error(`no CA in ${dir}: run fleet certs init --dir ${dir} first`);
  const base = path.join(dir, `${role}-${name}`);
  const [key, csr, cert, ext] = [`${base}.key`, `${base}.csr`, `${base}.crt`, `${base}.ext`];
  const san = net.isIP(name) ? `IP:${name}` : `DNS:${name}`;
  const usage = role === "agent" ? "serverAuth" : role === "controller" ? "serverAuth,clientAuth" : "clientAuth";
  writeFileSync(ext, [`basicConstraints=critical,CA:FALSE`, `keyUsage=critical,digitalSignature,keyEncipherment`, `extendedKeyUsage=${usage}`, `subjectAltName=${san}`].join("\n") + "\n");
  try {
    await openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", csr, "-subj", `/CN=${name}`], dir);
    chmodSync(key, 0o600);
    await openssl(["x509", "-req", "-in", csr, "-CA", caCert, "-CAkey", caKey, "-CAcreateserial", "-out", cert, "-days", String(days), "-extfile", ext], dir);
  } finally {
    rmSync(csr, { force: true });
    rmSync(ext, { force: true });
  }
  return { cert, key };
}
