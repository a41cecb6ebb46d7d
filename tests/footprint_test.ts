/**
 * What the daemon loads at start, which is most of its idle memory (README, "Footprint"): the modules
 * `telebus run` imports before it reads a config, and the transports a config makes it load.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { startDaemon } from "../start.ts";
import { transports } from "../transports/mod.ts";
import type { TransportRegistry } from "../core/transport.ts";

const ROOT = new URL("../", import.meta.url);

interface InfoModule {
  specifier: string;
  dependencies?: { code?: { specifier: string }; isDynamic?: boolean }[];
}

/** The modules `root` imports statically, itself included: what loads before any `import()` runs. */
async function staticClosure(root: string): Promise<Set<string>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", root],
    cwd: fileURLToPath(ROOT),
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as { roots: string[]; modules: InfoModule[] };
  const modules = new Map(info.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const todo = [...info.roots];
  while (todo.length > 0) {
    const s = todo.pop()!;
    if (seen.has(s)) continue;
    seen.add(s);
    for (const d of modules.get(s)?.dependencies ?? []) {
      if (!d.isDynamic && d.code) todo.push(d.code.specifier);
    }
  }
  return seen;
}

Deno.test("footprint: `telebus run` loads no transport, no node:crypto, no CommonJS package before the config", async () => {
  const all = [...await staticClosure("cli/run.ts")].map((s) =>
    s.startsWith(ROOT.href) ? s.slice(ROOT.href.length) : s
  );
  // Each transport is a lazy import of the registry: it loads only when a config names it.
  assert.deepEqual(all.filter((s) => s.startsWith("transports/")), ["transports/mod.ts"]);
  // Each package and Node module below costs resident memory in every daemon (measured in README, "Footprint"):
  // node:crypto ~2.5 MiB (the session cookie uses WebCrypto); a CommonJS entry point (fastest-levenshtein's
  // `main`) ~5 MiB, for Node's module loader; zod, the schemas' first library, ~10 MiB (valibot: ~2.5). A new one here
  // must be worth its memory.
  assert.deepEqual(all.filter((s) => s.startsWith("npm:")).sort(), [
    "npm:fastest-levenshtein@^1.0.16/esm/mod.js",
    "npm:smol-toml@^1.4.2",
    "npm:valibot@^1.1.0",
  ]);
  assert.deepEqual(all.filter((s) => s.startsWith("node:")).sort(), ["node:path", "node:util"]);
});

Deno.test("footprint: a daemon loads the transports its config names and no other", async () => {
  const loaded: string[] = [];
  const counting: TransportRegistry = Object.fromEntries(
    Object.entries(transports).map(([type, load]) => [type, () => {
      loaded.push(type);
      return load();
    }]),
  );
  const dir = await Deno.makeTempDir({ prefix: "telebus_footprint_test_" });
  try {
    const daemon = await startDaemon({
      toml: `[daemon]\nhttp = "off"\ndata_dir = "${dir}"\n` +
        `[[inputs.generator]]\nname = "robot"\nrate = 10\n` +
        `[[outputs.mpack_file]]\nname = "log"\npath = "${dir}/t-{seq}.mpack"\n`,
    }, { transports: counting, log: false });
    await daemon.stop();
    assert.deepEqual([...new Set(loaded)].sort(), ["generator", "mpack_file"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("footprint: the zmq transport loads zeromq.js only as the fallback (not on libzmq through FFI)", async () => {
  const closure = [...await staticClosure(new URL("transports/zmq/mod.ts", ROOT).href)];
  assert.ok(closure.some((s) => s.endsWith("/net/zmq_ffi.ts")), closure.join("\n"));
  assert.deepEqual(closure.filter((s) => /zeromq|\/net\/zmq\.ts$/.test(s)), []);
  // …and the fallback is there to load: net/zmq_socket.ts imports net/zmq.ts (and so zeromq.js) dynamically.
  const socket = [...await staticClosure(new URL("net/zmq.ts", ROOT).href)];
  assert.ok(socket.some((s) => s.includes("zeromq")), socket.join("\n"));
});
