/**
 * Scale-out through Redis: two daemons (subprocesses) read one stream as a consumer group; one is killed with
 * SIGKILL mid-stream. Every entry must be processed at least once (in one daemon's output or the other's) and
 * every entry must end up acknowledged: the survivor takes over what the dead one left pending.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createClient } from "npm:redis@^5.8.0";
import { encodeMsgpack } from "../codecs/msgpack.ts";
import { MpackStreamReader } from "../codecs/mpack_stream.ts";
import { asBuffer } from "../net/redis.ts";
import { DaemonProcess, letTimePass, RedisServer, until } from "../testing/mod.ts";

const TOTAL = 3000;

async function seqsIn(dir: string): Promise<number[]> {
  const out: number[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      const r = new MpackStreamReader();
      r.push(await Deno.readFile(join(dir, e.name)));
      for (let it = r.next(); it; it = r.next()) if (it.kind === "record") out.push(it.value.seq as number);
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return out;
}

Deno.test("redis e2e: a consumer group of two daemons, one killed with SIGKILL: every entry processed and acked", async () => {
  const redis = await RedisServer.start();
  const dir = await Deno.makeTempDir();
  const config = async (name: string) => {
    const file = join(dir, `${name}.toml`);
    await Deno.writeTextFile(
      file,
      `[daemon]\nhttp = "127.0.0.1:0"\ndata_dir = "${join(dir, `data-${name}`)}"\ndashboard = false\n\n` +
        `[[inputs.redis_streams]]\nname = "jobs"\nurl = "${redis.url}"\nstreams = ["jobs"]\ngroup = "workers"\n` +
        `consumer = "${name}"\nclaim_idle = "500ms"\nblock = "100ms"\ncount = 50\n\n` +
        `[[outputs.mpack_file]]\npath = "${join(dir, `out-${name}`, "log.mpack")}"\nfsync = "every_batch"\n`,
    );
    return file;
  };
  const c = createClient({ url: redis.url });
  await c.connect();
  await c.xGroupCreate("jobs", "workers", "0", { MKSTREAM: true });
  const a = await DaemonProcess.start(await config("a"));
  const b = await DaemonProcess.start(await config("b"));
  const writer = (async () => {
    for (let i = 0; i < TOTAL; i += 30) {
      await Promise.all(
        Array.from({ length: 30 }, (_, k) => c.xAdd("jobs", "*", { d: asBuffer(encodeMsgpack({ seq: i + k })) })),
      );
      await letTimePass(5); // a writer at work, not a synchronisation
    }
  })();
  await until("daemon a is busy", async () => (await seqsIn(join(dir, "out-a"))).length >= 300, 30_000);
  assert.equal(await a.stop("SIGKILL"), 137);
  // What the dead consumer left pending (usually some; none when it had just acknowledged everything).
  const left = (await c.xPending("jobs", "workers")).consumers?.find((x) => x.name === "a")?.deliveriesCounter ?? 0;
  await writer;
  await until("every entry processed by one of them", async () => {
    const seen = new Set([...await seqsIn(join(dir, "out-a")), ...await seqsIn(join(dir, "out-b"))]);
    return seen.size === TOTAL;
  }, 30_000);
  await until("nothing pending", async () => (await c.xPending("jobs", "workers")).pending === 0, 30_000);
  assert.equal(await b.stop("SIGTERM"), 0);
  if (left > 0) assert.match(b.log, /took over entries left pending/);
  await c.close();
  await redis.close();
  await Deno.remove(dir, { recursive: true });
});
