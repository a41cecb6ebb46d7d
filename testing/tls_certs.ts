/**
 * A test certificate authority and a server certificate for 127.0.0.1 and localhost, made with `openssl` in a
 * folder, for the HTTPS/WSS and `rediss://` tests.
 *
 * @module
 */
import { join } from "node:path";

/** Files of a test CA and a server certificate it signed. */
export interface TestCerts {
  /** The CA certificate (PEM file): what clients trust. */
  caFile: string;
  /** The CA certificate's PEM text. */
  caPem: string;
  /** The server certificate (PEM file), for 127.0.0.1 and localhost. */
  certFile: string;
  /** The server's private key (PEM file). */
  keyFile: string;
}

async function openssl(dir: string, ...args: string[]): Promise<void> {
  const r = await new Deno.Command("openssl", { args, cwd: dir, stdout: "piped", stderr: "piped" }).output();
  if (!r.success) throw new Error(`openssl ${args.join(" ")} failed: ${new TextDecoder().decode(r.stderr)}`);
}

/** Makes a CA and a server certificate it signed in `dir` (valid for two days). */
export async function makeTestCerts(dir: string): Promise<TestCerts> {
  const key = ["-newkey", "rsa:2048", "-nodes"];
  await openssl(dir, "req", "-x509", ...key, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=CA");
  await openssl(dir, "req", ...key, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1");
  await Deno.writeTextFile(join(dir, "ext.cnf"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  await openssl(
    dir,
    ...["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial"],
    ...["-out", "server.pem", "-days", "2", "-extfile", "ext.cnf"],
  );
  const caFile = join(dir, "ca.pem");
  return {
    caFile,
    caPem: await Deno.readTextFile(caFile),
    certFile: join(dir, "server.pem"),
    keyFile: join(dir, "server.key"),
  };
}
