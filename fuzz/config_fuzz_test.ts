/**
 * Fuzz target: the TOML configuration with `${VAR}` substitution
 * (config/load.ts, config/env.ts). Random text, and the shipped
 * configurations damaged byte by byte, with random variables: loading either
 * gives a configuration or throws `ConfigError` — whose problems each name a
 * key path or a line — never another exception.
 */
import assert from "node:assert/strict";
import fc from "npm:fast-check@^4.10.2";
import { parseConfig } from "../config/load.ts";
import { ConfigError } from "../config/errors.ts";
import { substitute, SubstitutionError } from "../config/env.ts";
import { transports } from "../transports/mod.ts";
import { expectOnly, expectOnlyAsync, fuzz, hostileText } from "./runner.ts";

const root = new URL("../", import.meta.url);
const shipped = await Promise.all(
  ["telemetry.toml", "examples/live.toml", "examples/moat.toml", "examples/redis_influx.toml", "examples/zmq.toml"].map(
    (p) => Deno.readTextFile(new URL(p, root)),
  ),
);

/** Small configurations that use what the loader checks: variables, names, inputs lists, units, unknown keys. */
const SNIPPETS = [
  `[daemon]\nhttp = "\${HTTP:-off}"\ndata_dir = "\${DATA:?set DATA}"\n`,
  `[[inputs.generator]]\nname = "g"\nrate = "\${RATE:-5}"\n[[outputs.mpack_file]]\ninputs = ["g"]\npath = "/tmp/x.mpack"\nwhen_full = "latest"\n`,
  `[[inputs.generator]]\nname = "a"\n[[inputs.generator]]\nname = "a"\n[[outputs.stdout]]\ninputs = ["b"]\n`,
  `[inputs.generator]\nname = "x"\n[[outputs.nope]]\n[[outputs.__proto__]]\n[[outputs.constructor]]\n`,
  `[[inputs.__proto__]]\n[[inputs.toString]]\n[[inputs.hasOwnProperty]]\n["__proto__"]\nx = 1\n`,
  `[[outputs.influxdb]]\nurl = "\${URL}"\nbatch = "1k"\nflush = "10 ms"\n`,
];
const valid = fc.oneof(fc.constantFrom(...shipped), fc.constantFrom(...SNIPPETS));

const varName = fc.constantFrom("HTTP", "DATA", "RATE", "URL", "HOME", "X", "__proto__", "constructor");
const env = fc.dictionary(varName, fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom("", "${X}", "$${", "off")), {
  maxKeys: 4,
});

Deno.test("fuzz config: any text with any variables loads or throws ConfigError that says where", async () => {
  let loaded = 0, refused = 0;
  await fuzz("config.load", fc.tuple(hostileText(valid, 2048), env), async ([text, vars]) => {
    const r = await expectOnlyAsync(
      () =>
        parseConfig(text, {
          file: "f.toml",
          registry: transports,
          env: (n) => Object.hasOwn(vars, n) ? vars[n] : undefined,
        }),
      [ConfigError],
    );
    if ("value" in r) loaded++;
    else {
      refused++;
      const e = r.error as ConfigError;
      assert.ok(e.problems.length > 0, "a ConfigError without a problem");
      for (const p of e.problems) {
        assert.ok(p.path !== "" || p.line !== undefined, `a problem without a place: ${p.message}`);
      }
    }
  });
  // Both ends are reached: some inputs load, some are refused.
  assert.ok(loaded > 0 && refused > 0, `loaded ${loaded}, refused ${refused}`);
});

Deno.test("fuzz config: substitution of any string throws only SubstitutionError", async () => {
  const text = fc.string({ unit: fc.constantFrom("$", "{", "}", ":", "-", "?", "X", "a", "_", "1"), maxLength: 24 });
  await fuzz("config.substitute", fc.tuple(text, env), ([s, vars]) => {
    const r = expectOnly(() => substitute(s, (n) => Object.hasOwn(vars, n) ? vars[n] : undefined), [SubstitutionError]);
    if ("value" in r && !s.includes("$")) assert.equal(r.value, s);
  });
});
