/**
 * GraphQL used to exhaust the daemon (issue 11, item 7), against a real
 * daemon process with a generator at 100 records/s, the `graphql` output and
 * the streamer's GraphQL: a 1 MB alias query (its answer's size, time and the
 * slowest `/health` meanwhile), then one connection opening many `records`
 * subscriptions and leaving (RSS before, at its peak, after; how long until the
 * daemon holds no subscription). Linux only (RSS from /proc).
 *
 *   deno run -A bench/graphql_abuse.ts [--subscriptions 2000] [--hold 10] [--path /graphql]
 *                                      [--main other/main.ts] [--no-raise] [--rss-cap 3000] [--rounds 2]
 *
 * `--no-raise` keeps the default limits (the connection gets 100 subscriptions);
 * otherwise they are raised so that the memory of 2,000 subscriptions is
 * measured. `--main` runs another checkout's daemon (whose config may not know
 * the limit keys: combine with `--no-raise`). A daemon past `--rss-cap` MiB is
 * killed and reported so. The subscription round is repeated (`--rounds`):
 * memory the first round's client left behind shows as growth in the next.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { createClient } from "npm:graphql-ws@^6.0.6";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    subscriptions: { type: "string", default: "2000" },
    hold: { type: "string", default: "10" },
    path: { type: "string", default: "/graphql" },
    main: { type: "string", default: new URL("../main.ts", import.meta.url).pathname },
    "no-raise": { type: "boolean", default: false },
    "rss-cap": { type: "string", default: "3000" },
    rounds: { type: "string", default: "2" },
  },
});
const SUBSCRIPTIONS = Number(values.subscriptions);
const HOLD_S = Number(values.hold);
const RSS_CAP_MIB = Number(values["rss-cap"]);
const raise = !values["no-raise"];

const dir = await Deno.makeTempDir({ prefix: "telebus-graphql-abuse-" });
const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
const port = (listener.addr as Deno.NetAddr).port;
listener.close();
const limits = raise ? `max_subscriptions_per_connection = 5000\nmax_subscriptions = 5000\n` : "";
await Deno.writeTextFile(
  `${dir}/telebus.toml`,
  `[daemon]\nhttp = "127.0.0.1:${port}"\ndata_dir = "${dir}"\ndashboard = false\n\n` +
    `[[inputs.generator]]\nname = "robot"\nrate = 100\nstreams = ["robot/telemetry"]\nkeys = 20\n\n` +
    `[[outputs.graphql]]\nname = "gql"\ninputs = ["robot"]\n${limits}\n` +
    `[[outputs.streamer]]\nname = "store"\ninputs = ["robot"]\ngraphql = true\n` +
    (raise ? `graphql_max_subscriptions_per_connection = 5000\ngraphql_max_subscriptions = 5000\n` : ""),
);
const daemon = new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", values.main, "--config", `${dir}/telebus.toml`],
  stdout: "null",
  stderr: "piped",
}).spawn();
const base = `http://127.0.0.1:${port}`;
let log = "";
const reading = (async () => {
  for await (const chunk of daemon.stderr.pipeThrough(new TextDecoderStream())) log += chunk;
})();

const rssMiB = () => Number(/VmRSS:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${daemon.pid}/status`))![1]) / 1024;
let killed = false;
let peak = 0;
const watchdog = setInterval(() => {
  try {
    const rss = rssMiB();
    peak = Math.max(peak, rss);
    if (rss > RSS_CAP_MIB && !killed) {
      killed = true;
      daemon.kill("SIGKILL");
    }
  } catch {
    // the daemon is gone
  }
}, 100);

async function post(query: string) {
  const started = performance.now();
  const r = await fetch(base + values.path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query }),
  });
  const text = await r.text();
  return { status: r.status, bytes: text.length, ms: performance.now() - started, head: text.slice(0, 160) };
}

async function slowestHealth(work: Promise<unknown>): Promise<number> {
  let done = false, slowest = 0;
  work.finally(() => done = true);
  while (!done) {
    const started = performance.now();
    await (await fetch(`${base}/health`)).text();
    slowest = Math.max(slowest, performance.now() - started);
    await new Promise((r) => setTimeout(r, 20));
  }
  return slowest;
}

async function subscriptionGauge(): Promise<number> {
  const r = await fetch(`${base}/metrics`);
  const name = values.path === "/graphql" ? "telebus_output_subscribers" : "graphql_subscriptions";
  const line = (await r.text()).split("\n").find((l) => !l.startsWith("#") && l.includes(name));
  return line ? Number(line.split(" ").pop()) : NaN;
}

const mib = (x: number) => `${x.toFixed(0)} MiB`;
try {
  for (let i = 0; !/listening/.test(log); i++) {
    if (i > 300) throw new Error(`the daemon did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 2000)); // let start-up garbage settle before the baseline
  const baseline = rssMiB();
  console.log(`baseline RSS ${mib(baseline)}`);

  const field = values.path === "/graphql" ? "outputs { name records gauges counters dropped }" : "streamIds";
  let query = "{";
  for (let i = 0; query.length < 1_000_000; i++) query += ` a${i}: ${field}`;
  query += " }";
  const answer = post(query);
  const health = await slowestHealth(answer);
  const a = await answer;
  console.log(
    `1 MB alias query: HTTP ${a.status}, answer ${a.bytes.toLocaleString("en")} bytes in ${a.ms.toFixed(0)} ms, ` +
      `slowest /health meanwhile ${health.toFixed(0)} ms, RSS ${mib(rssMiB())}; ${a.head}`,
  );

  for (let round = 1; round <= Number(values.rounds) && !killed; round++) {
    const before = rssMiB();
    peak = before;
    const q = values.path === "/graphql"
      ? "subscription { records { stream time data } }"
      : `subscription { streams(streamIds: ["default:robot/telemetry"]) { ... on DataPayload { streamId data } } }`;
    const client = createClient({
      url: `ws://127.0.0.1:${port}${values.path}`,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
    });
    let events = 0, refused = 0, firstRefusal = "";
    for (let i = 0; i < SUBSCRIPTIONS; i++) {
      client.subscribe({ query: q }, {
        next: () => events++,
        error: (e) => {
          refused++;
          firstRefusal ||= JSON.stringify(e).slice(0, 200);
        },
        complete: () => {},
      });
    }
    await new Promise((r) => setTimeout(r, HOLD_S * 1000));
    const held = await subscriptionGauge().catch(() => NaN);
    console.log(
      `round ${round}: ${SUBSCRIPTIONS} subscriptions on one connection for ${HOLD_S} s: ${held} held, ${refused} refused ` +
        `${firstRefusal}; ${events.toLocaleString("en")} events received; RSS ${mib(before)} before, peak ${mib(peak)}`,
    );
    const left = performance.now();
    await client.dispose();
    let released = NaN;
    for (let i = 0; i < 300 && !killed; i++) {
      if (await subscriptionGauge() === 0) {
        released = performance.now() - left;
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 5000));
    console.log(
      killed
        ? `the daemon passed ${RSS_CAP_MIB} MiB and was killed`
        : `after the client left: subscriptions at 0 after ${(released / 1000).toFixed(1)} s; RSS 5 s later ${
          mib(rssMiB())
        } (peak ${mib(peak)})`,
    );
  }
} finally {
  clearInterval(watchdog);
  if (!killed) daemon.kill("SIGTERM");
  await daemon.status;
  await reading;
  await Deno.remove(dir, { recursive: true });
}
