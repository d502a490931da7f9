// Which TLS file is at fault, found by loading them as the TLS stack does (real
// certificates from `fleet certs`): a chain cut short, DER, a key of another
// certificate, a CA bundle cut short or in DER are each named; a sound set and
// a multi-certificate bundle pass.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { initCa, issueCert } from "../../cli/certs/fleet-certs.js";
import { tlsMaterialProblem, type TlsMaterial } from "../../common/tls-material.js";
import { scratchDir } from "../helpers/scratch-dir.js";

const skip = existsSync("/usr/bin/openssl") ? undefined : "openssl not installed (fleet certs needs it)";
if (skip) console.log(`# skipping TLS material tests: ${skip}`);

describe("tlsMaterialProblem", { skip }, () => {
  const scratch = scratchDir();
  const pki = path.join(scratch.dir, "pki");
  const other = path.join(scratch.dir, "other");
  let good: TlsMaterial;
  let otherKey: Buffer;
  let otherCa: Buffer;
  const cut = (b: Buffer, keep: number) => Buffer.from(b.toString("latin1").slice(0, keep), "latin1");

  before(async () => {
    await initCa(pki);
    await issueCert(pki, "controller", "127.0.0.1");
    await initCa(other, "other CA");
    await issueCert(other, "controller", "127.0.0.1");
    good = { cert: readFileSync(`${pki}/controller-127.0.0.1.crt`), key: readFileSync(`${pki}/controller-127.0.0.1.key`), ca: readFileSync(`${pki}/ca.crt`) };
    otherKey = readFileSync(`${other}/controller-127.0.0.1.key`);
    otherCa = readFileSync(`${other}/ca.crt`);
  });
  after(() => scratch.remove());

  test("a sound set, and a CA bundle of two certificates, pass", () => {
    assert.equal(tlsMaterialProblem(good), undefined);
    assert.equal(tlsMaterialProblem({ ...good, ca: Buffer.concat([good.ca, otherCa]) }), undefined);
  });

  test("a chain whose second block is cut short, or a DER certificate: the cert", () => {
    const chain = Buffer.concat([good.cert, cut(good.ca, 120)]);
    assert.match(tlsMaterialProblem({ ...good, cert: chain })?.field ?? "", /^cert$/);
    const der = execFileSync("/usr/bin/openssl", ["x509", "-in", `${pki}/controller-127.0.0.1.crt`, "-outform", "der"], { timeout: 10_000 });
    const p = tlsMaterialProblem({ ...good, cert: der });
    assert.equal(p?.field, "cert");
    assert.match(p!.message, /^is not a PEM certificate chain TLS can load/);
  });

  test("the key of another certificate, or no key at all: the key, naming the certificate", () => {
    assert.deepEqual(tlsMaterialProblem({ ...good, key: otherKey }, "/etc/fleet/m.crt")?.field, "key");
    assert.match(tlsMaterialProblem({ ...good, key: otherKey }, "/etc/fleet/m.crt")!.message, /^is not the key of \/etc\/fleet\/m\.crt/);
    assert.match(tlsMaterialProblem({ ...good, key: Buffer.from("not a key") })!.message, /^is not a PEM private key/);
  });

  test("a CA bundle cut short, with a broken block, or in DER: the ca (TLS itself would skip them silently)", () => {
    assert.match(tlsMaterialProblem({ ...good, ca: Buffer.concat([good.ca, cut(otherCa, 200)]) })!.message, /holds 2 PEM blocks of which 1 are whole certificates/);
    const broken = Buffer.from(good.ca.toString() + "-----BEGIN CERTIFICATE-----\nMIIBkjCCATigAwIBAgIU\n-----END CERTIFICATE-----\n");
    assert.match(tlsMaterialProblem({ ...good, ca: broken })!.message, /certificate 2 of 2 cannot be read/);
    const der = execFileSync("/usr/bin/openssl", ["x509", "-in", `${pki}/ca.crt`, "-outform", "der"], { timeout: 10_000 });
    assert.deepEqual(tlsMaterialProblem({ ...good, ca: der })?.field, "ca");
  });
});
