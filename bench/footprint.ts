/**
 * The daemon's footprint, measured from outside: it starts the daemon as a
 * subprocess as `npm start` does, with exactly the permissions `telebus
 * permissions` prints (no `-A`) and `--node-modules-dir=manual`, and
 * samples `/proc/<pid>/status` (VmRSS) and `/proc/<pid>/stat` (utime +
 * stime).
 *
 * ```sh
 * deno run -A bench/footprint.ts                 # short run (~1 min)
 * deno run -A bench/footprint.ts --minutes 10    # and 10 minutes at 10k records/s for flatness
 * deno run -A bench/footprint.ts --json          # figures as JSON
 * ```
 *
 * Measures: start-up time to `/health` = 200 (median of 5 starts of the
 * shipped config), idle RSS (no inputs), RSS and CPU share at 10k records/s
 * and at 1 kHz of 20-key dictionaries (the `generator` input into an
 * `mpack_file` output), and RSS over time at 10k records/s.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";

const ROOT = new URL("..", import.meta.url).pathname;
const MAIN = join(ROOT, "main.ts");
const CLK_TCK = 100; // Linux USER_HZ (getconf CLK_TCK)

const args = parseArgs({
  args: Deno.args,
  options: {
    minutes: { type: "string", default: "0.5" },
    json: { type: "boolean", default: false },
    window: { type: "string", default: "10" },
  },
});
const MINUTES = Number(args.values.minutes);
const WINDOW_S = Number(args.values.window);

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** RSS in MiB and CPU seconds (user + system) of a process. */
function sample(pid: number): { rssMiB: number; cpuS: number } {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  // Fields after the ")" of the command name; utime and stime are fields 14 and 15.
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { rssMiB: rssKiB / 1024, cpuS: (Number(f[11]) + Number(f[12])) / CLK_TCK };
}

interface Running {
  pid: number;
  url: string;
  stop(): Promise<number>;
  log(): string;
}

async function flagsFor(config: string, dir: string): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "permissions", "--config", config],
    cwd: dir,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (out.code !== 0) throw new Error("telebus permissions failed");
  return new TextDecoder().decode(out.stdout).trim().split(" ");
}

/** Starts the daemon; resolves once `/health` answers 200, with the time that took. */
async function start(dir: string, toml: string): Promise<{ d: Running; readyMs: number }> {
  const port = freePort();
  const file = join(dir, "footprint.toml");
  await Deno.writeTextFile(file, toml.replace("{PORT}", String(port)));
  const flags = await flagsFor("footprint.toml", dir);
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    // As `npm start` (scripts/start.sh) runs it: the permissions step before has brought node_modules in line.
    args: ["run", "--node-modules-dir=manual", ...flags, MAIN, "--config", "footprint.toml"],
    cwd: dir,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let log = "";
  const reading = (async () => {
    const dec = new TextDecoder();
    for await (const c of child.stderr) log += dec.decode(c, { stream: true });
  })();
  const url = `http://127.0.0.1:${port}`;
  let readyMs = -1;
  while (readyMs < 0) {
    try {
      const r = await fetch(url + "/health");
      await r.body?.cancel();
      if (r.status === 200) readyMs = performance.now() - t0;
    } catch {
      // not listening yet
    }
    if (readyMs < 0) {
      if (performance.now() - t0 > 30_000) throw new Error(`not ready after 30 s:\n${log}`);
      await sleep(2);
    }
  }
  return {
    readyMs,
    d: {
      pid: child.pid,
      url,
      log: () => log,
      async stop() {
        child.kill("SIGTERM");
        const s = await child.status;
        await reading;
        return s.code;
      },
    },
  };
}

async function recordsWritten(url: string): Promise<number> {
  const text = await (await fetch(url + "/metrics")).text();
  return text.split("\n").filter((l) => l.startsWith('telebus_output_records_total{output="log"'))
    .reduce((n, l) => n + Number(l.split(" ").pop()), 0);
}

/** Samples RSS every second for `seconds`; returns mean/max RSS, CPU share of one core, records/s written. */
async function measure(d: Running, seconds: number) {
  const s0 = sample(d.pid);
  const r0 = await recordsWritten(d.url);
  const t0 = performance.now();
  const rss: number[] = [];
  for (let i = 0; i < seconds; i++) {
    await sleep(1000);
    rss.push(sample(d.pid).rssMiB);
  }
  const s1 = sample(d.pid);
  const r1 = await recordsWritten(d.url);
  const wall = (performance.now() - t0) / 1000;
  return {
    rss_mean_mib: round(rss.reduce((a, b) => a + b, 0) / rss.length),
    rss_max_mib: round(Math.max(...rss)),
    cpu_percent_of_one_core: round(100 * (s1.cpuS - s0.cpuS) / wall),
    records_per_s: Math.round((r1 - r0) / wall),
  };
}

const round = (x: number) => Math.round(x * 10) / 10;

/** Least-squares slope of equally spaced samples, per sample. */
function slope(ys: number[]): number {
  const n = ys.length;
  if (n < 2) return 0;
  const mx = (n - 1) / 2;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  ys.forEach((y, x) => {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  });
  return num / den;
}

const HEAD = `[daemon]\nhttp = "127.0.0.1:{PORT}"\ndata_dir = "data"\n`;
const LOAD = (rate: number, keys: number) =>
  HEAD + `[[inputs.generator]]\nname = "robot"\nrate = ${rate}\nkeys = ${keys}\n` +
  `[[outputs.mpack_file]]\nname = "log"\npath = "data/logs/t-{seq}.mpack"\nrotate_size = "64MiB"\n`;

async function main() {
  const dir = await Deno.makeTempDir({ prefix: "telebus_footprint_" });
  const shipped = (await Deno.readTextFile(join(ROOT, "telemetry.toml")))
    .replace("${TELEBUS_HTTP:-127.0.0.1:8080}", "127.0.0.1:{PORT}")
    .replaceAll("${TELEBUS_DATA:-./data}", "data");
  const results: Record<string, unknown> = {
    deno: Deno.version.deno,
    cpus: navigator.hardwareConcurrency,
    window_s: WINDOW_S,
  };
  const say = (s: string) => {
    if (!args.values.json) console.log(s);
  };
  try {
    // 1. Start-up to /health = 200, shipped config, 5 starts (the first warms the file cache).
    const times: number[] = [];
    for (let i = 0; i < 6; i++) {
      const { d, readyMs } = await start(dir, shipped);
      if (i > 0) times.push(readyMs);
      if (await d.stop() !== 0) throw new Error(`exit code != 0:\n${d.log()}`);
    }
    times.sort((a, b) => a - b);
    results.startup_ms = { median: Math.round(times[2]), min: Math.round(times[0]), max: Math.round(times[4]) };
    say(
      `start-up to /health 200 (shipped config, 5 starts): median ${times[2].toFixed(0)} ms, ` +
        `min ${times[0].toFixed(0)}, max ${times[4].toFixed(0)}`,
    );

    // 2. Idle: the HTTP server and dashboard, an output, no input.
    {
      const { d } = await start(dir, HEAD + `[[outputs.mpack_file]]\nname = "log"\npath = "data/idle-{seq}.mpack"\n`);
      await sleep(3000);
      results.idle = await measure(d, WINDOW_S);
      await d.stop();
      say(`idle: ${JSON.stringify(results.idle)}`);
    }

    // 2b. The shipped config as it comes: its generator writes 100 records/s to a file, the dashboard is served.
    {
      const { d } = await start(dir, shipped);
      await sleep(3000);
      results.shipped = await measure(d, WINDOW_S);
      await d.stop();
      say(`shipped config: ${JSON.stringify(results.shipped)}`);
    }

    // 3. and 4. Under load.
    for (const [name, rate, keys] of [["load_1khz_20keys", 1000, 20], ["load_10k_per_s_20keys", 10_000, 20]] as const) {
      const { d } = await start(dir, LOAD(rate, keys));
      await sleep(3000);
      results[name] = await measure(d, WINDOW_S);
      say(`${name}: ${JSON.stringify(results[name])}`);
      if (name === "load_10k_per_s_20keys" && MINUTES > 0) {
        // 5. Flatness: RSS every 5 s for MINUTES at 10k records/s.
        const series: number[] = [];
        const t0 = performance.now();
        const c0 = sample(d.pid).cpuS;
        const r0 = await recordsWritten(d.url);
        while (performance.now() - t0 < MINUTES * 60_000) {
          await sleep(5000);
          series.push(sample(d.pid).rssMiB);
        }
        const wall = (performance.now() - t0) / 1000;
        const perMin = Math.max(1, Math.min(12, Math.floor(series.length / 2))); // a minute of 5 s samples
        const first = series.slice(0, perMin);
        const last = series.slice(-perMin);
        const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
        results.flatness = {
          minutes: MINUTES,
          samples: series.length,
          rss_first_minute_mean_mib: round(mean(first)),
          rss_last_minute_mean_mib: round(mean(last)),
          rss_min_mib: round(Math.min(...series)),
          rss_max_mib: round(Math.max(...series)),
          rss_slope_second_half_mib_per_min: round(slope(series.slice(Math.floor(series.length / 2))) * 12),
          rss_series_mib_every_5s: series.map(round),
          cpu_percent_of_one_core: round(100 * (sample(d.pid).cpuS - c0) / wall),
          records_per_s: Math.round((await recordsWritten(d.url) - r0) / wall),
        };
        const { rss_series_mib_every_5s: _, ...summary } = results.flatness as Record<string, unknown>;
        say(`flatness over ${MINUTES} min at 10k records/s: ${JSON.stringify(summary)}`);
      }
      if (await d.stop() !== 0) throw new Error(`exit code != 0:\n${d.log()}`);
    }
    if (args.values.json) console.log(JSON.stringify(results, null, 2));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) await main();
