/**
 * `telebus permissions`: the rules, and the proof that the daemon runs with
 * exactly the printed flags (no `-A`) on the shipped configuration and on a
 * configuration using every path- and network-using transport.
 */
import assert from "node:assert/strict";
import * as zmq from "npm:zeromq@^6.5.0";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseConfig } from "../config/load.ts";
import { transports } from "../transports/mod.ts";
import {
  BUILTIN_ENV,
  npmPackageDir,
  permissionFlags,
  type PermissionNeeds,
  permissionNeeds,
  referencedVariables,
  TELEBUS_CODE,
  templateFolder,
} from "../cli/permissions.ts";
import { encodeMsgpack } from "../codecs/msgpack.ts";
import { openIndexedMcap } from "../codecs/mcap_read.ts";
import { MockInflux, mpackFiles, printedFlags, ROOT, startWithFlags, until } from "../testing/mod.ts";

Deno.test("permissions: template folders and referenced variables", () => {
  assert.equal(templateFolder("data/logs/t-{datetime}.mpack"), "data/logs");
  assert.equal(templateFolder("/var/log/{host}/{date}/t.mpack"), "/var/log");
  assert.equal(templateFolder("t-{seq}.mpack"), ".");
  assert.equal(templateFolder("/t.mpack"), "/");
  const vars = referencedVariables(`
# \${IN_COMMENT} is not read
[daemon]
http = "\${HTTP_ADDR:-127.0.0.1:8080}"
data_dir = "$\${LITERAL}/\${DATA:?set DATA}"
[[outputs.mpack_file]]
path = "\${A}/\${B}-x.mpack"
streams = ["\${S}"]
`);
  assert.deepEqual([...vars].sort(), ["A", "B", "DATA", "HTTP_ADDR", "S"]);
});

Deno.test("permissions: every side of every registered transport brings its rule", async () => {
  for (const [type, load] of Object.entries(transports)) {
    const { transport } = await load();
    assert.ok(transport.input || transport.output, type);
    for (const side of [transport.input, transport.output]) {
      if (side) assert.equal(typeof side.permissions, "function", `no permission rule for ${type}`);
    }
  }
});

Deno.test("permissions: needs of a config using every kind of resource", async () => {
  const text = `
[daemon]
http = "127.0.0.1:9100"
data_dir = "/srv/tb/data"
[[inputs.mpack_tail]]
name = "robot"
path = "\${ROBOT_LOGS}"
[[outputs.mpack_file]]
name = "inner"
path = "/srv/tb/data/logs/{host}-{seq}.mpack"
[[outputs.mpack_file]]
name = "rel"
path = "logs/{date}/t.mpack"
[[outputs.mpack_serve]]
listen = "0.0.0.0:4747"
[[outputs.websocket]]
`;
  const env = (n: string) => n === "ROBOT_LOGS" ? "/var/log/robot/" : undefined;
  const config = await parseConfig(text, { registry: transports, env, file: "/etc/tb/t.toml" });
  const needs = await permissionNeeds(config, { cwd: "/srv/tb", text });
  assert.deepEqual([...needs.net].sort(), ["0.0.0.0:4747", "127.0.0.1:9100"]);
  // data/logs lies inside data_dir: it adds nothing.
  // Besides telebus's own code (lazy imports load it when used), only what the config names.
  const code = new Set(TELEBUS_CODE.map((p) => fileURLToPath(new URL(p, new URL("../", import.meta.url)))));
  assert.deepEqual([...code].filter((p) => !needs.read.has(p)), [], "read access to each place of telebus's code");
  assert.deepEqual([...needs.read].filter((p) => !code.has(p)).sort(), [
    "/etc/tb/t.toml",
    "/srv/tb/data",
    "/srv/tb/logs",
    "/var/log/robot",
  ]);
  assert.deepEqual([...needs.write].sort(), ["/srv/tb/data", "/srv/tb/logs"]);
  assert.deepEqual([...needs.env].sort(), [...BUILTIN_ENV, "ROBOT_LOGS"].sort());
  assert.deepEqual([...needs.sys], ["hostname"]);
  assert.equal(needs.ffi.size, 0);
  const flags = permissionFlags(needs);
  assert.deepEqual(flags.map((f) => f.split("=")[0]), [
    "--allow-net",
    "--allow-read",
    "--allow-write",
    "--allow-env",
    "--allow-sys",
  ]);
  assert.ok(flags.includes("--allow-sys=hostname"));
  assert.ok(!flags.some((f) => f === "--allow-read" || f === "--allow-write" || f === "--allow-net"));
});

Deno.test("permissions: zmq, redis_streams and moat_cmd rules", async () => {
  const empty = (): PermissionNeeds => ({
    net: new Set(),
    read: new Set(),
    write: new Set(),
    env: new Set(),
    sys: new Set(),
    ffi: new Set(),
  });
  /** Applies the rule of `type`'s `side` to `table` (validated by its schema first, as the loader does). */
  const apply = async (
    type: string,
    side: "input" | "output",
    table: Record<string, unknown>,
    needs: PermissionNeeds,
  ) => {
    const t = (await transports[type]()).transport;
    const ctx = { side, path: (p: string) => p };
    if (side === "input") t.input!.permissions(t.input!.schema.parse(table), needs, ctx);
    else t.output!.permissions(t.output!.schema.parse(table), needs, ctx);
  };
  const zmq = empty();
  await apply("zmq", "input", { address: ["tcp://*:5555", "tcp://10.0.0.2:5556", "ipc:///run/x"] }, zmq);
  assert.deepEqual([...zmq.ffi], ["*"]);
  assert.deepEqual([...zmq.net].sort(), ["0.0.0.0:5555", "10.0.0.2:5556"]);
  assert.ok(zmq.read.has("/etc/alpine-release"));
  assert.ok([...zmq.read].some((p) => p.endsWith("/node_modules/zeromq")), [...zmq.read].join());
  const input = empty();
  await apply("redis_streams", "input", { url: "redis://robot.local", streams: ["s"] }, input);
  assert.deepEqual([...input.net], ["robot.local:6379"]);
  assert.deepEqual([...input.sys], ["hostname"]);
  const output = empty();
  await apply("redis_streams", "output", { url: "rediss://10.0.0.3:6380" }, output);
  assert.deepEqual([...output.net], ["10.0.0.3:6380"]);
  assert.equal(output.sys.size, 0);
  assert.equal(
    npmPackageDir("file:///a/node_modules/.deno/z@1/node_modules/z/lib/i.js", "z"),
    "/a/node_modules/.deno/z@1/node_modules/z",
  );
  assert.equal(npmPackageDir("npm:z", "z"), undefined);
  const moat = empty();
  await apply("moat_cmd", "input", { connect: "/dev/ttyUSB0", command: "c" }, moat);
  await apply("moat_cmd", "input", { connect: "ws://robot:8765/ws", command: "c" }, moat);
  await apply("moat_cmd", "input", { connect: "robot:27587", command: "c" }, moat);
  await apply("moat_cmd", "output", { listen: "127.0.0.1:27587" }, moat);
  assert.deepEqual([...moat.net].sort(), ["127.0.0.1:27587", "robot:27587", "robot:8765"]);
  assert.deepEqual([...moat.read], ["/dev/ttyUSB0"]);
  assert.deepEqual([...moat.write], ["/dev/ttyUSB0"]);
});

Deno.test("permissions: a part's rule is its transport definition's", async () => {
  const text = `[daemon]\nhttp = "off"\n[[inputs.generator]]\n`;
  const { transport } = await transports.generator();
  const registry = {
    generator: () =>
      Promise.resolve({
        transport: {
          ...transport,
          input: {
            ...transport.input!,
            permissions: (_c: unknown, n: PermissionNeeds) => n.ffi.add("/usr/lib/libzmq.so.5"),
          },
        },
      }),
  };
  const config = await parseConfig(text, { registry });
  assert.ok(permissionFlags(await permissionNeeds(config, { text })).includes("--allow-ffi=/usr/lib/libzmq.so.5"));
});

Deno.test("permissions: the daemon runs the shipped config with exactly the printed flags", async () => {
  const dir = await Deno.makeTempDir({ prefix: "telebus_perm_" });
  try {
    await Deno.copyFile(join(ROOT, "telemetry.toml"), join(dir, "telemetry.toml"));
    const env = { TELEBUS_DATA: join(dir, "data"), TELEBUS_HTTP: "127.0.0.1:0" };
    const flags = await printedFlags("telemetry.toml", dir, env);
    assert.ok(flags.every((f) => f.startsWith("--allow-") && f.includes("=")), flags.join(" "));
    assert.ok(flags.includes("--allow-net=127.0.0.1:0"));
    assert.ok(flags.includes(`--allow-write=${join(dir, "data")}`));
    assert.ok(!flags.some((f) => /^--allow-(ffi|sys|run)/.test(f)), "no ffi, sys or run for the shipped config");

    const d = await startWithFlags(flags, "telemetry.toml", dir, env);
    const health = await fetch(d.url + "/health");
    assert.equal(health.status, 200, await health.text());
    const logs = join(dir, "data", "logs");
    await until("a .mpack file with records", async () => (await mpackFiles(logs)).some((f) => f.size > 0));
    assert.equal(await d.stop(), 0, d.log());
    assert.doesNotMatch(d.log(), /NotCapable|Requires .* access|PermissionDenied/);
    assert.match(d.log(), /INFO telebus: stopped/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("permissions: tail, {host} file names, mpack_serve and websocket run with the printed flags", async () => {
  const dir = await Deno.makeTempDir({ prefix: "telebus_perm_" });
  try {
    const src = join(dir, "robot");
    await Deno.mkdir(src);
    const records = Array.from({ length: 50 }, (_, i) => encodeMsgpack({ time: 1_700_000_000 + i, seq: i }));
    await Deno.writeFile(join(src, "a.mpack"), new Uint8Array(records.flatMap((r) => [...r])));
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const servePort = (l.addr as Deno.NetAddr).port;
    l.close();
    await Deno.writeTextFile(
      join(dir, "t.toml"),
      `[daemon]
http = "127.0.0.1:0"
data_dir = "state"
[[inputs.mpack_tail]]
name = "robot"
path = "\${ROBOT_LOGS}"
from = "start"
[[outputs.mpack_file]]
name = "copy"
path = "out/{host}-{seq}.mpack"
[[outputs.mpack_serve]]
listen = "127.0.0.1:${servePort}"
[[outputs.websocket]]
[[outputs.graphql]]
`,
    );
    const env = { ROBOT_LOGS: src };
    const flags = await printedFlags("t.toml", dir, env);
    assert.ok(flags.includes("--allow-sys=hostname"), flags.join(" "));
    assert.ok(flags.some((f) => f.startsWith("--allow-net=") && f.includes(`127.0.0.1:${servePort}`)));
    const d = await startWithFlags(flags, "t.toml", dir, env);
    assert.equal((await fetch(d.url + "/health")).status, 200);
    for (const page of ["/", "/graphql"]) {
      const r = await fetch(d.url + page, { headers: { accept: "text/html" } });
      const body = await r.text();
      assert.equal(r.status, 200, `${page}: ${body}`);
      assert.match(body, /<html/i, page);
    }
    const host = Deno.hostname().replace(/[^A-Za-z0-9_.-]/g, "_");
    await until(
      "the tailed records in out/",
      async () => (await mpackFiles(join(dir, "out"))).some((f) => f.size >= records[0].length * 50),
    );
    assert.ok((await mpackFiles(join(dir, "out"))).every((f) => f.name.startsWith(host + "-")));
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: servePort });
    await conn.write(new TextEncoder().encode("get"));
    const buf = new Uint8Array(256);
    assert.ok((await conn.read(buf) ?? 0) > 1, "mpack_serve answers");
    conn.close();
    assert.equal(await d.stop(), 0, d.log());
    assert.doesNotMatch(d.log(), /NotCapable|Requires .* access|PermissionDenied/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("permissions: the influxdb output's sending thread runs with the printed flags (a MOCK InfluxDB)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "telebus_perm_" });
  const mock = new MockInflux();
  try {
    await Deno.writeTextFile(
      join(dir, "t.toml"),
      `[daemon]
http = "127.0.0.1:0"
data_dir = "state"
[[inputs.generator]]
rate = 200
keys = 4
[[outputs.influxdb]]
url = "\${INFLUX_URL}"
database = "telemetry"
batch_size = 50
flush_interval = "100ms"
`,
    );
    const env = { INFLUX_URL: mock.url };
    const flags = await printedFlags("t.toml", dir, env);
    assert.ok(flags.some((f) => f.startsWith("--allow-net=") && f.includes(new URL(mock.url).host)), flags.join(" "));
    // Read access in the checkout: telebus's code (TELEBUS_CODE) and the config's folder, never the checkout itself.
    const reads = flags.find((f) => f.startsWith("--allow-read="))!.slice("--allow-read=".length).split(",");
    const inCheckout = reads.filter((p) => p.startsWith(ROOT) && !p.startsWith(dir));
    assert.ok(
      inCheckout.length > 0 && inCheckout.every((p) => TELEBUS_CODE.some((c) => p === ROOT + c)),
      inCheckout.join(" "),
    );
    const d = await startWithFlags(flags, "t.toml", dir, env);
    await until("points written through the sending thread", () => Promise.resolve(mock.writtenLines.length >= 100));
    assert.equal(await d.stop(), 0, d.log());
    assert.doesNotMatch(d.log(), /NotCapable|Requires .* access|PermissionDenied|sending thread/);
    assert.ok(mock.writtenLines.every((l) => l.startsWith("robot/telemetry ")), mock.writtenLines[0]);
  } finally {
    await mock.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("permissions: the mcap output's worker runs with the printed flags", async () => {
  const dir = await Deno.makeTempDir({ prefix: "telebus_perm_" });
  try {
    await Deno.writeTextFile(
      join(dir, "t.toml"),
      `[daemon]
http = "127.0.0.1:0"
data_dir = "state"
[[inputs.generator]]
rate = 500
keys = 4
[[outputs.mcap]]
name = "rec"
path = "out/rec-{seq}.mcap"
flush_interval = "100ms"
`,
    );
    const flags = await printedFlags("t.toml", dir, {});
    const d = await startWithFlags(flags, "t.toml", dir, {});
    const written = async () => {
      const text = await (await fetch(`${d.url}/metrics`)).text();
      return Number(/telebus_output_records_total\{[^}]*output="rec"[^}]*\} (\d+)/.exec(text)?.[1] ?? 0);
    };
    await until("records written by the worker", async () => await written() >= 200);
    assert.equal(await d.stop(), 0, d.log());
    assert.doesNotMatch(d.log(), /NotCapable|Requires .* access|PermissionDenied|mcap worker/);
    const names: string[] = [];
    for await (const e of Deno.readDir(join(dir, "out"))) names.push(e.name);
    assert.equal(names.length, 1, names.join(" "));
    const { reader, close } = await openIndexedMcap(join(dir, "out", names[0]));
    try {
      assert.ok((reader.statistics?.messageCount ?? 0n) >= 200n);
    } finally {
      close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// Both bindings of the zmq sockets under exactly the printed flags: libzmq through FFI (the default) and zeromq.js
// (TELEBUS_ZMQ=zeromq.js, which the flags let the daemon read).
for (const binding of ["ffi", "zeromq.js"]) {
  Deno.test(`permissions: a zmq input and output run with the printed flags [${binding}]`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "telebus_perm_" });
    const [pin, pout] = [0, 0].map(() => {
      const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      l.close();
      return (l.addr as Deno.NetAddr).port;
    });
    const push = new zmq.Push({ linger: 0 }), pull = new zmq.Pull({ linger: 0 });
    try {
      await Deno.writeTextFile(
        join(dir, "z.toml"),
        `[daemon]\nhttp = "127.0.0.1:0"\ndata_dir = "state"\ndashboard = false\n` +
          `[[inputs.zmq]]\naddress = "tcp://127.0.0.1:${pin}"\nconn_type = "bind"\nformat = "raw"\n` +
          `[[outputs.zmq]]\naddress = "tcp://127.0.0.1:${pout}"\nformat = "raw"\n`,
      );
      const env = { TELEBUS_ZMQ: binding }; // anything but "zeromq.js" is the default, FFI
      const flags = await printedFlags("z.toml", dir, env);
      assert.ok(flags.includes("--allow-ffi"), flags.join(" "));
      assert.ok(flags.some((f) => f.startsWith("--allow-env=") && f.includes("TELEBUS_ZMQ")), flags.join(" "));
      const d = await startWithFlags(flags, "z.toml", dir, env);
      await until("the zmq output", () => /zmq output open/.test(d.log()));
      assert.match(d.log(), new RegExp(`zmq input open .*binding=${binding}`));
      assert.match(d.log(), new RegExp(`zmq output open .*binding=${binding}`));
      push.connect(`tcp://127.0.0.1:${pin}`);
      pull.connect(`tcp://127.0.0.1:${pout}`);
      await push.send(new TextEncoder().encode("hello"));
      const [frame] = await pull.receive();
      assert.equal(new TextDecoder().decode(frame), "hello");
      assert.equal(await d.stop(), 0, d.log());
      assert.doesNotMatch(d.log(), /NotCapable|Requires .* access|PermissionDenied/);
    } finally {
      push.close();
      pull.close();
      await Deno.remove(dir, { recursive: true });
    }
  });
}
