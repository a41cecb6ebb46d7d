/**
 * `telebus moat call|stream HOST:PORT CMD [ARG…]`: talk to a MoaT device (or
 * to a telebus MoaT server) from the shell. `call` prints the reply or the
 * error as JSON; `stream` prints each streamed item as a JSON line until the
 * stream ends or Ctrl-C.
 *
 * @module
 */
import { parseOrUsage } from "./args.ts";
import { Endpoint, type Kw } from "../protocol/moat_cmd/endpoint.ts";
import { MoatError, RemoteError, StreamError, UnknownCommand } from "../protocol/moat_cmd/errors.ts";
import { authenticate, type MoatCodec, type MoatLink, openLink, parseArg, toJson } from "../transports/moat_cmd/mod.ts";

const USAGE = `usage: telebus moat call PEER CMD [ARG…] [options]
       telebus moat stream PEER CMD [ARG…] [options]

Sends CMD with ARGs (each parsed as JSON when it parses, else a string) to a MoaT-Cmd peer.
PEER is HOST:PORT (TCP), ws://HOST:PORT/PATH (WebSocket) or a device path such as /dev/ttyUSB0.
"call" prints the reply as JSON (or the error, as {"error": …} with a "message" such as
"ValueError: boom 42", exit 1). "stream" opens a read stream
and prints each item as a JSON line until the stream ends (its final goes to stderr) or Ctrl-C / SIGTERM
(a clean stop: exit 0).
  --kw KEY=VALUE      a keyword argument (repeatable; VALUE parsed like ARGs)
  --path              send CMD as a path, split at "." (moat-lib-rpc), e.g. sys.ping
  --codec cbor|msgpack  wire codec (default cbor)
  --no-credits        send no flow credits (for moat-lib-cmd 0.3.3 peers, which crash on them)
  --serial            SerialPacker frames on the byte stream (serial links) instead of plain CBOR
  --timeout SECONDS   give up on connecting and on a call's reply after this long (default 10)
  --token TOKEN       authenticate first with auth(TOKEN), as a telebus MoaT server with a token wants`;

/** Runs `telebus moat …`; returns the exit code. */
export async function moatCommand(args: string[]): Promise<number> {
  const p = parseOrUsage(args, {
    kw: { type: "string", multiple: true },
    path: { type: "boolean" },
    codec: { type: "string" },
    "no-credits": { type: "boolean" },
    serial: { type: "boolean" },
    timeout: { type: "string" },
    token: { type: "string" },
    help: { type: "boolean", short: "h" },
  }, USAGE);
  if (!p) return 2;
  if (p.values.help) {
    console.log(USAGE);
    return 0;
  }
  const [sub, target, cmd, ...rest] = p.positionals;
  const codec = (p.values.codec ?? "cbor") as string;
  const timeout = Number(p.values.timeout ?? 10);
  if ((sub !== "call" && sub !== "stream") || !target || !cmd || (codec !== "cbor" && codec !== "msgpack")) {
    console.error(USAGE);
    return 2;
  }
  if (!(timeout > 0)) {
    console.error(`telebus moat: --timeout must be a positive number of seconds\n\n${USAGE}`);
    return 2;
  }
  const kw: Kw = {};
  for (const item of (p.values.kw ?? []) as unknown as string[]) {
    const i = item.indexOf("=");
    if (i <= 0) {
      console.error(`telebus moat: --kw expects KEY=VALUE, got ${JSON.stringify(item)}`);
      return 2;
    }
    kw[item.slice(0, i)] = parseArg(item.slice(i + 1));
  }
  const command = p.values.path ? cmd.split(".") : cmd;
  const cmdArgs = rest.map(parseArg);
  const where = target;
  // SIGINT and SIGTERM are handled from here on, connecting included. Ctrl-C cancels an open stream politely
  // (error -3, the peer answers with its final), then gives up after a second; otherwise it just stops.
  const stop = new AbortController();
  let interrupted = false;
  let current: { close(): void } | undefined;
  const onSignal = () => {
    interrupted = true;
    if (current) {
      current.close();
      setTimeout(() => stop.abort(), 1000);
    } else stop.abort();
  };
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  try {
    let link: MoatLink;
    try {
      link = await openLink(target, AbortSignal.any([stop.signal, AbortSignal.timeout(timeout * 1000)]));
    } catch (e) {
      if (interrupted) return 0;
      const usage = /expected HOST:PORT|port out of range/.test((e as Error).message);
      console.error(`telebus moat: ${usage ? "" : `cannot connect to ${where}: `}${(e as Error).message}`);
      return usage ? 2 : 1;
    }
    return await talk(link);
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
  }

  async function talk(link: MoatLink): Promise<number> {
    const ep = new Endpoint({
      credits: !p!.values["no-credits"],
      onIssue: (_kind, detail) => console.error(`telebus moat: ${where}: ${detail}`),
    });
    const running = link.run(ep, {
      codec: codec as MoatCodec,
      framing: p!.values.serial ? "serial" : "stream",
      signal: stop.signal,
      onIssue: (_kind, detail) => console.error(`telebus moat: ${where}: ${detail}`),
    });
    try {
      const token = p!.values.token as string | undefined;
      if (token) await authenticate(ep, token, AbortSignal.any([stop.signal, AbortSignal.timeout(timeout * 1000)]));
      if (sub === "call") {
        const t = AbortSignal.any([stop.signal, AbortSignal.timeout(timeout * 1000)]);
        const reply = await ep.cmd(command, cmdArgs, kw, t);
        console.log(toJson(reply));
        return 0;
      }
      const st = await ep.streamR(command, cmdArgs, kw);
      current = st;
      if (interrupted) onSignal(); // the signal came while the stream was opening
      if (st.args.length || Object.keys(st.kw).length) console.error(`stream start: ${toJson([...st.args, st.kw])}`);
      const out = Deno.stdout;
      const enc = new TextEncoder();
      for await (const item of st) await out.write(enc.encode(toJson(item) + "\n"));
      if (st.final) console.error(`stream end: ${toJson(st.final.payload)}`);
      return 0;
    } catch (e) {
      // Stopped on request: a clean stop, whatever state the call or stream was in.
      if (interrupted) return 0;
      console.log(toJson({ error: describeError(e) }));
      console.error(`telebus moat: ${where}: ${(e as Error).message ?? String(e)}`);
      return 1;
    } finally {
      ep.close();
      await running;
    }
  }
}

function describeError(e: unknown): Record<string, unknown> {
  if (e instanceof UnknownCommand) return { code: e.code, name: e.name, message: e.message, path: e.path };
  if (e instanceof MoatError) return { code: e.code, name: e.name, message: e.message };
  if (e instanceof RemoteError) return { name: e.remoteName, args: e.args, message: e.message };
  if (e instanceof StreamError) return { name: "StreamError", payload: e.payload };
  if (e instanceof DOMException && e.name === "TimeoutError") return { name: "Timeout", message: e.message };
  return { name: (e as Error).name ?? "Error", message: (e as Error).message ?? String(e) };
}
