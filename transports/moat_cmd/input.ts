/**
 * The `moat_cmd` input in client mode: connects to a MoaT device, opens a
 * streaming command (e.g. `stream_r("sensors", "read")`) and turns every
 * streamed item into a record; reconnects with exponential backoff when the
 * connection fails or the stream ends. Flow control is the endpoint's: the
 * reader's queue is bounded, and an item is taken from it only once the bus
 * has accepted the previous one. While connected, the commands named in
 * `services` are offered to the daemon's other parts (`core/commands.ts`)
 * and called over the same connection.
 *
 * @module
 */
import type { Input, InputContext } from "../../core/transport.ts";
import { makeRecord, nowNs, secondsToNs } from "../../core/record.ts";
import { Endpoint } from "../../protocol/moat_cmd/endpoint.ts";
import { type MoatLink, openLink } from "./connection.ts";
import { authenticate } from "./auth.ts";
import { itemDict, streamName } from "./values.ts";
import type { MoatInputConfig } from "./schema.ts";
import { sleep } from "../../core/async.ts";
import type { Command } from "../../protocol/moat_cmd/endpoint.ts";

/** Creates the client-mode input. */
export function createMoatClientInput(config: MoatInputConfig): Input {
  const peer = config.connect!;
  const command = config.command!;
  const cmdName = Array.isArray(command) ? command.join("/") : String(command);
  return {
    async run(ctx: InputContext): Promise<void> {
      let delay = config.reconnect;
      const onIssue = (kind: string, detail: string) => {
        ctx.stats.errors++;
        ctx.stats.count(kind);
        ctx.log.warn(`moat ${peer}: ${detail}`, { peer, kind });
      };
      while (!ctx.signal.aborted) {
        let link: MoatLink | undefined;
        try {
          link = await openLink(peer, ctx.signal);
        } catch (e) {
          if (ctx.signal.aborted) break;
          ctx.stats.count("connect_failed");
          ctx.log.warn(`moat ${peer}: cannot connect: ${(e as Error).message}`, { peer, retry_ms: delay });
        }
        if (link) {
          ctx.log.info(`moat ${peer}: connected, streaming ${cmdName}`, { peer });
          const got = await streamOnce(link, ctx, config, command, cmdName, peer, onIssue);
          // A connection that delivered something was healthy: start the backoff afresh.
          if (got > 0) delay = config.reconnect;
        }
        if (ctx.signal.aborted) break;
        await sleep(delay, ctx.signal);
        delay = Math.min(delay * 2, config.reconnect_max);
      }
    },
  };
}

/** Streams the command over one connection; returns the number of items received. */
async function streamOnce(
  link: MoatLink,
  ctx: InputContext,
  config: MoatInputConfig,
  command: string | (string | number)[],
  cmdName: string,
  peer: string,
  onIssue: (kind: string, detail: string) => void,
): Promise<number> {
  const ep = new Endpoint({
    queue: config.queue,
    credits: config.credits,
    overflow: config.overflow,
    onIssue: (k, d) => onIssue(k, d),
  });
  const pumping = link.run(ep, {
    codec: config.codec,
    framing: config.framing,
    maxPacket: config.max_packet,
    onConsole: (b) => ctx.log.debug(`moat ${peer}: console: ${new TextDecoder().decode(b)}`),
    signal: ctx.signal,
    onIssue,
    onBytes: (dir, n) => {
      if (dir === "in") ctx.stats.bytes += n;
    },
  });
  let got = 0;
  const offered: (() => void)[] = [];
  try {
    if (config.token) await authenticate(ep, config.token, ctx.signal);
    for (const cmd of config.services) offered.push(offer(ep, ctx, config, cmd));
    const st = config.mode === "stream_rw"
      ? await ep.streamRW(command, config.args, config.kw)
      : await ep.streamR(command, config.args, config.kw);
    for await (const item of st) {
      got++;
      const data = itemDict(item);
      const t = data[config.time_key];
      const time = typeof t === "number" && Number.isFinite(t) ? secondsToNs(t) : nowNs();
      const stream = streamName(config.stream, cmdName, data) || `moat/${cmdName}`;
      ctx.stats.records++;
      const p = ctx.emit([makeRecord(stream, time, data, ctx.name)]);
      if (p) await p;
    }
    ctx.log.info(`moat ${peer}: stream ended`, { peer, items: got });
  } catch (e) {
    if (!ctx.signal.aborted) {
      ctx.stats.errors++;
      ctx.log.warn(`moat ${peer}: ${cmdName}: ${(e as Error).message}`, { peer, items: got });
    }
  } finally {
    for (const withdraw of offered) withdraw();
    ep.close();
    await pumping;
  }
  return got;
}

/** Offers one device command to the daemon's parts while `ep` is connected; returns its withdrawal. */
function offer(ep: Endpoint, ctx: InputContext, config: MoatInputConfig, cmd: Command): () => void {
  if (!ctx.commands) return () => {};
  const name = `${ctx.name}/${Array.isArray(cmd) ? cmd.join("/") : String(cmd)}`;
  return ctx.commands.register(name, {
    description: `MoaT command ${JSON.stringify(cmd)} of ${config.connect}`,
    call: async (args, kw, signal) => {
      ctx.stats.count("calls");
      const limit = AbortSignal.timeout(config.call_timeout);
      try {
        // The reply list, as `telebus moat call` prints it.
        return await ep.cmd(cmd, args, kw, signal ? AbortSignal.any([signal, limit]) : limit);
      } catch (e) {
        ctx.stats.count("calls_failed");
        if (limit.aborted) throw new Error(`no reply from the device within ${config.call_timeout} ms`);
        throw e;
      }
    },
  });
}
