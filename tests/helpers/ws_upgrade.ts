/**
 * A raw WebSocket upgrade request over TCP, with headers a browser would send (`Origin`), which Deno's own
 * WebSocket client cannot set.
 *
 * @module
 */

/** Sends a WebSocket upgrade request over a raw TCP connection and returns the response's status code. */
export async function upgradeStatus(hostPort: string, path: string, headers: Record<string, string> = {}) {
  const [hostname, port] = hostPort.split(":");
  const conn = await Deno.connect({ hostname, port: Number(port) });
  try {
    const lines = [
      `GET ${path} HTTP/1.1`,
      `Host: ${hostPort}`,
      "Upgrade: websocket",
      "Connection: Upgrade",
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
      "Sec-WebSocket-Version: 13",
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
      "",
      "",
    ];
    await conn.write(new TextEncoder().encode(lines.join("\r\n")));
    let text = "";
    const buf = new Uint8Array(4096);
    while (!text.includes("\r\n")) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
    if (!m) throw new Error(`no HTTP status line in ${JSON.stringify(text)}`);
    return Number(m[1]);
  } finally {
    conn.close();
  }
}
