/**
 * telebus against the Python originals' work, side by side in one run, with
 * a bare loop of telebus's own library beside them: medians of alternating
 * rounds, and the ratios.
 *
 *   deno run -A bench/vs_python.ts [--records 200000] [--messages 200000] [--rounds 5] [--only dump,list,stats,generate]
 *
 * Needs Debian's `python3-msgpack` and `python3-zmq` (for /usr/bin/python3).
 * Each job is timed as a whole process, start-up included, on the same data:
 *
 * - `dump`: `telebus dump LOG` against mpacklog's dump loop (`msgpack.Unpacker`
 *   over the file, `json.dumps` per record, printed), both into /dev/null; peak
 *   resident memory from `/proc/<pid>/status` (VmHWM). Bare loop: telebus's
 *   library as an application would use it (`MpackStreamReader` and
 *   `toJson` per record, written in 64 KiB chunks).
 * - `list`: `telebus list LOG` against mpacklog's list (leaf paths per record,
 *   the new ones sorted and printed).
 * - `stats`: receiving 1 KiB `raw-1.0` messages (header + 1 KiB) from one
 *   sender that runs throughout (`telebus generate`, which outpaces every
 *   receiver here, so that it does not set the pace): `telebus stats --count N` against
 *   m_stats' loop (pyzmq PULL, `recv_multipart`, count bytes of messages whose
 *   first frame is not empty), each reporting messages per second from its
 *   first message to its N-th. Bare loop: zeromq.js PULL, receive while
 *   readable (net/zmq.ts), count bytes.
 * - `generate`: sending N 1 KiB `raw-1.0` messages (m_generate's header and
 *   zeros) on a PUB socket nobody subscribes to, so that only the sender's
 *   own cost is measured: `telebus generate -m pub --count N` against
 *   m_generate's loop (pyzmq `send_json` + `send`). Bare loop: zeromq.js PUB
 *   sending the same two frames.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { writeTelemetryLog } from "./fixtures.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    records: { type: "string", default: "200000" },
    messages: { type: "string", default: "200000" },
    rounds: { type: "string", default: "5" },
    only: { type: "string", default: "dump,list,stats,generate" },
    json: { type: "boolean", default: false },
  },
});
const RECORDS = Number(values.records);
const MESSAGES = Number(values.messages);
const ROUNDS = Number(values.rounds);
const ONLY = new Set(String(values.only).split(","));
const PYTHON = "/usr/bin/python3";
const ROOT = new URL("..", import.meta.url).pathname;
const MAIN = join(ROOT, "main.ts");
const DENO = Deno.execPath();

const PY_DUMP = `
import sys, json, msgpack
# mpacklog dump: a streaming unpacker over the file, json.dumps per record (NaN patched), print.
with open(sys.argv[1], "rb") as f:
    for obj in msgpack.Unpacker(f, raw=False, read_size=4096):
        print(json.dumps(obj, allow_nan=True).replace(" NaN", " null"))
`;

const PY_LIST = `
import sys, msgpack
# mpacklog list: the leaf paths of each record not seen before, sorted.
def list_fields(d, prefix=""):
    for k, v in d.items():
        p = prefix + "/" + k if prefix else k
        if isinstance(v, dict):
            yield from list_fields(v, p)
        else:
            yield p
seen = set()
with open(sys.argv[1], "rb") as f:
    for obj in msgpack.Unpacker(f, raw=False, read_size=4096):
        new = sorted(p for p in list_fields(obj) if p not in seen)
        if new:
            seen.update(new)
            print("\\n".join("- " + p for p in new))
            print()
`;

const PY_STATS = `
import sys, time, zmq
# m_stats: PULL (connect, RCVTIMEO 1000), count messages whose first frame is not empty, and their bytes.
n_want = int(sys.argv[2])
ctx = zmq.Context()
s = ctx.socket(zmq.PULL)
s.setsockopt(zmq.RCVHWM, 100)
s.setsockopt(zmq.RCVTIMEO, 1000)
s.connect(sys.argv[1])
n = 0
nbytes = 0
t0 = None
while n < n_want:
    frames = s.recv_multipart()
    if t0 is None:
        t0 = time.perf_counter()
    if len(frames[0]) == 0:
        continue
    n += 1
    nbytes += sum(len(f) for f in frames)
dt = time.perf_counter() - t0
print("rate", (n - 1) / dt, nbytes)
`;

const PY_GENERATE = `
import sys, time, zmq
# m_generate -m pub -s 1/1024: BIND, send_json(header, SNDMORE) then the zeros, N times.
n = int(sys.argv[1])
ctx = zmq.Context()
s = ctx.socket(zmq.PUB)
s.setsockopt(zmq.SNDHWM, 100)
s.bind_to_random_port("tcp://127.0.0.1")
zeros = bytes(1024)
t0 = time.perf_counter()
for k in range(n):
    s.send_json({"htype": "raw-1.0", "type": "int32", "shape": [1, 256.0], "frame": k}, flags=zmq.SNDMORE)
    s.send(zeros)
dt = time.perf_counter() - t0
print("rate", n / dt)
`;

const BARE_DUMP = `
import { MpackStreamReader } from "${ROOT}codecs/mpack_stream.ts";
import { toJson } from "${ROOT}codecs/json.ts";
const f = await Deno.open(Deno.args[0]);
const reader = new MpackStreamReader();
const enc = new TextEncoder();
let text = "";
const flush = () => { const b = enc.encode(text); text = ""; for (let n = 0; n < b.length;) n += Deno.stdout.writeSync(b.subarray(n)); };
for (;;) {
  const buf = new Uint8Array(65536);
  const n = await f.read(buf);
  if (n === null) break;
  reader.push(buf.subarray(0, n));
  for (let it = reader.next(); it; it = reader.next()) {
    if (it.kind === "record") text += toJson(it.value, { style: "python" }) + "\\n";
  }
  if (text.length > 65536) flush();
}
flush();
`;

const BARE_STATS = `
import * as zmq from "npm:zeromq@^6.5.0";
import { receiveMessage } from "${ROOT}net/zmq.ts";
const want = Number(Deno.args[1]);
const sock = new zmq.Pull({ receiveHighWaterMark: 100, linger: 0 });
sock.connect(Deno.args[0]);
let n = 0, bytes = 0, t0 = 0;
while (n < want) {
  const m = await receiveMessage(sock);
  if (!m) break;
  if (t0 === 0) t0 = performance.now();
  if (m[0].length === 0) continue;
  n++;
  for (const f of m) bytes += f.length;
}
console.log("rate", (n - 1) / ((performance.now() - t0) / 1000), bytes);
sock.close();
`;

const BARE_GENERATE = `
import * as zmq from "npm:zeromq@^6.5.0";
const n = Number(Deno.args[0]);
const sock = new zmq.Publisher({ sendHighWaterMark: 100, linger: 0 });
await sock.bind("tcp://127.0.0.1:*");
const zeros = new Uint8Array(1024);
const enc = new TextEncoder();
const t0 = performance.now();
for (let k = 0; k < n; k++) {
  await sock.send([enc.encode('{"htype": "raw-1.0", "type": "int32", "shape": [1, 256.0], "frame": ' + k + "}"), zeros]);
}
console.log("rate", n / ((performance.now() - t0) / 1000));
sock.close();
`;

const dir = await Deno.makeTempDir({ prefix: "telebus-vs-python-" });
const script = async (name: string, text: string) => {
  const p = join(dir, name);
  await Deno.writeTextFile(p, text);
  return p;
};

interface Run {
  /** Wall-clock seconds of the whole process. */
  seconds: number;
  /** Peak resident memory, MiB. */
  peakMiB: number;
  /** Standard output. */
  stdout: string;
  /** Standard error. */
  stderr: string;
}

/** Runs a command with stdout to /dev/null (or captured), timing it and sampling its peak memory. */
async function timed(cmd: string, args: string[], capture = false): Promise<Run> {
  const t0 = performance.now();
  const child = new Deno.Command(cmd, {
    args,
    stdin: "null",
    stdout: capture ? "piped" : "null",
    stderr: "piped",
  }).spawn();
  let peak = 0;
  let running = true;
  const sampler = (async () => {
    while (running) {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(await Deno.readTextFile(`/proc/${child.pid}/status`));
        if (m) peak = Math.max(peak, Number(m[1]));
      } catch {
        return;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  const out = await child.output();
  const seconds = (performance.now() - t0) / 1000;
  running = false;
  await sampler;
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  const dec = new TextDecoder();
  return {
    seconds,
    peakMiB: peak / 1024,
    stdout: capture ? dec.decode(out.stdout) : "",
    stderr: dec.decode(out.stderr),
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

interface Contender {
  name: string;
  /** One measurement: a figure where larger is better when `rate`, else seconds. */
  run(): Promise<{ value: number; peakMiB?: number }>;
}

interface JobResult {
  job: string;
  unit: string;
  results: { name: string; value: number; peakMiB?: number }[];
}

/** Runs the contenders in alternating order for ROUNDS rounds; medians. */
async function job(name: string, unit: string, contenders: Contender[]): Promise<JobResult> {
  const values = contenders.map(() => [] as number[]);
  const peaks = contenders.map(() => [] as number[]);
  for (let r = 0; r < ROUNDS; r++) {
    const order = contenders.map((_, i) => i);
    if (r % 2) order.reverse();
    for (const i of order) {
      const m = await contenders[i].run();
      values[i].push(m.value);
      if (m.peakMiB !== undefined) peaks[i].push(m.peakMiB);
    }
  }
  return {
    job: name,
    unit,
    results: contenders.map((c, i) => ({
      name: c.name,
      value: median(values[i]),
      peakMiB: peaks[i].length ? Math.max(...peaks[i]) : undefined,
    })),
  };
}

const rateOf = (stdout: string) => Number(/rate ([\d.e+]+)/.exec(stdout)?.[1]);

const results: JobResult[] = [];
try {
  const log = join(dir, "log.mpack");
  const size = await writeTelemetryLog(log, RECORDS, 30);
  console.error(`log: ${RECORDS} records, ${(size / 1e6).toFixed(1)} MB; ${ROUNDS} rounds per job`);

  if (ONLY.has("dump")) {
    const py = await script("dump.py", PY_DUMP);
    const bare = await script("bare_dump.ts", BARE_DUMP);
    const measure = async (cmd: string, args: string[]) => {
      const r = await timed(cmd, args);
      return { value: r.seconds, peakMiB: r.peakMiB };
    };
    results.push(
      await job("dump", "s", [
        { name: "telebus dump", run: () => measure(DENO, ["run", "-A", MAIN, "dump", log]) },
        { name: "Python (mpacklog dump loop)", run: () => measure(PYTHON, [py, log]) },
        { name: "bare loop (MpackStreamReader + toJson)", run: () => measure(DENO, ["run", "-A", bare, log]) },
      ]),
    );
  }

  if (ONLY.has("list")) {
    const py = await script("list.py", PY_LIST);
    const measure = async (cmd: string, args: string[]) => {
      const r = await timed(cmd, args);
      return { value: r.seconds, peakMiB: r.peakMiB };
    };
    results.push(
      await job("list", "s", [
        { name: "telebus list", run: () => measure(DENO, ["run", "-A", MAIN, "list", log]) },
        { name: "Python (mpacklog list loop)", run: () => measure(PYTHON, [py, log]) },
      ]),
    );
  }

  if (ONLY.has("stats")) {
    // One sender for every receiver, faster than any of them: telebus generate (m_generate's messages) on PUSH.
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (l.addr as Deno.NetAddr).port;
    l.close();
    const address = `tcp://127.0.0.1:${port}`;
    const sender = new Deno.Command(DENO, {
      args: ["run", "-A", MAIN, "generate", "-q", "-a", `tcp://127.0.0.1:${port}`, "-s", String(1 / 1024)],
      stdout: "null",
      stderr: "inherit",
    }).spawn();
    const py = await script("stats.py", PY_STATS);
    const bare = await script("bare_stats.ts", BARE_STATS);
    const n = String(MESSAGES);
    try {
      results.push(
        await job("stats (receive 1 KiB)", "msgs/s", [
          {
            name: "telebus stats",
            run: async () => {
              const r = await timed(DENO, ["run", "-A", MAIN, "stats", address, "--count", n, "-i", "1000"], true);
              const s = Number(/average_message_rate:\s+([\d.]+)/.exec(r.stdout)?.[1]);
              return { value: s };
            },
          },
          {
            name: "Python (m_stats loop)",
            run: async () => ({ value: rateOf((await timed(PYTHON, [py, address, n], true)).stdout) }),
          },
          {
            name: "bare loop (zeromq.js PULL)",
            run: async () => ({ value: rateOf((await timed(DENO, ["run", "-A", bare, address, n], true)).stdout) }),
          },
        ]),
      );
    } finally {
      sender.kill("SIGKILL");
      await sender.status;
    }
  }

  if (ONLY.has("generate")) {
    const py = await script("generate.py", PY_GENERATE);
    const bare = await script("bare_generate.ts", BARE_GENERATE);
    const n = String(MESSAGES);
    results.push(
      await job("generate (send 1 KiB)", "msgs/s", [
        {
          name: "telebus generate",
          run: async () => {
            const r = await timed(DENO, [
              "run",
              "-A",
              MAIN,
              "generate",
              "-m",
              "pub",
              "-a",
              "tcp://127.0.0.1:*",
              "-s",
              String(1 / 1024),
              "--count",
              n,
              "--linger",
              "0",
            ], true);
            return { value: Number(/\(([\d.]+) Hz/.exec(r.stderr)?.[1]) };
          },
        },
        {
          name: "Python (m_generate loop)",
          run: async () => ({ value: rateOf((await timed(PYTHON, [py, n], true)).stdout) }),
        },
        {
          name: "bare loop (zeromq.js PUB)",
          run: async () => ({ value: rateOf((await timed(DENO, ["run", "-A", bare, n], true)).stdout) }),
        },
      ]),
    );
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}

if (values.json) console.log(JSON.stringify(results, null, 2));
else {
  for (const r of results) {
    const [tb, py] = r.results;
    const faster = r.unit === "s" ? py.value / tb.value : tb.value / py.value;
    console.log(
      `\n${r.job}: telebus ${faster.toFixed(2)}× the Python original (median of ${ROUNDS} alternating rounds)`,
    );
    for (const x of r.results) {
      const v = r.unit === "s" ? `${x.value.toFixed(2)} s` : `${Math.round(x.value).toLocaleString("en")} ${r.unit}`;
      const peak = x.peakMiB !== undefined ? `, peak ${x.peakMiB.toFixed(0)} MiB` : "";
      console.log(`  ${x.name.padEnd(42)} ${v}${peak}`);
    }
  }
}
