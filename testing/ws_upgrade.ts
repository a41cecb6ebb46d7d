/**
 * Raw HTTP requests over TCP with headers a browser would send (`Origin`, `Host`, `Sec-Fetch-Site`), which
 * Deno's fetch and WebSocket clients cannot set.
 *
 * @module
 */

/** Sends one request over a raw TCP connection to `hostPort` and returns the response's status code. */
export async function rawStatus(
  hostPort: string,
  head: string[],
  headers: Record<string, string> = {},
): Promise<number> {
  const [hostname, port] = hostPort.split(":");
  const conn = await Deno.connect({ hostname, port: Number(port) });
  try {
    const given = Object.keys(headers).map((k) => k.toLowerCase());
    const lines = [
      ...head,
      ...(given.includes("host") ? [] : [`Host: ${hostPort}`]),
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

/** Sends a WebSocket upgrade request over a raw TCP connection and returns the response's status code. */
export function upgradeStatus(hostPort: string, path: string, headers: Record<string, string> = {}): Promise<number> {
  return rawStatus(hostPort, [
    `GET ${path} HTTP/1.1`,
    "Upgrade: websocket",
    "Connection: Upgrade",
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version: 13",
  ], headers);
}

/** Sends `GET path` over a raw TCP connection and returns the response's status code. */
export function getStatus(hostPort: string, path: string, headers: Record<string, string> = {}): Promise<number> {
  return rawStatus(hostPort, [`GET ${path} HTTP/1.1`, "Connection: close"], headers);
}
