/**
 * deploy/telebus.service: systemd accepts it, and its stop timeout leaves room
 * for the daemon's graceful stop (inputs, then drain and close, each bounded by
 * `stop_timeout`, then the HTTP server's 2 s).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseConfig } from "../config/load.ts";
import { transports } from "../transports/mod.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const UNIT = join(ROOT, "deploy/telebus.service");

function directive(unit: string, key: string): string {
  const m = new RegExp(`^${key}=(.*)$`, "m").exec(unit);
  assert.ok(m, `${key}= missing`);
  return m[1].trim();
}

Deno.test("service unit: restart policy, directories, journald, reload, stop timeout", async () => {
  const unit = await Deno.readTextFile(UNIT);
  assert.equal(directive(unit, "Restart"), "on-failure");
  assert.equal(directive(unit, "WorkingDirectory"), "/var/lib/telebus");
  assert.equal(directive(unit, "StateDirectory"), "telebus");
  assert.equal(directive(unit, "StandardError"), "journal");
  assert.equal(directive(unit, "ExecReload"), "/bin/kill -HUP $MAINPID");
  assert.match(
    directive(unit, "ExecStart"),
    /^\/usr\/local\/bin\/telebus run --config \/etc\/telebus\/telemetry\.toml$/,
  );
  assert.doesNotMatch(unit, /^ExecStart=.*(-A|--allow-all)/m);
  const env = await Deno.readTextFile(join(ROOT, "deploy/telebus.env"));
  assert.match(env, /^TELEBUS_LOG_FORMAT=journal$/m);
  const config = await parseConfig(await Deno.readTextFile(join(ROOT, "telemetry.toml")), {
    registry: transports,
    env: () => undefined,
  });
  const stopSec = Number(/^(\d+)s?$/.exec(directive(unit, "TimeoutStopSec"))?.[1]);
  assert.ok(stopSec * 1000 > 2 * config.daemon.stop_timeout + 2000, `TimeoutStopSec=${stopSec}`);
});

Deno.test({
  name: "service unit: systemd-analyze verify accepts it",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "telebus_unit_" });
    try {
      // verify checks that ExecStart's binary exists: stand in /bin/true for the installed one.
      const unit = (await Deno.readTextFile(UNIT)).replaceAll("/usr/local/bin/telebus", "/bin/true");
      await Deno.writeTextFile(join(dir, "telebus.service"), unit);
      const out = await new Deno.Command("/usr/bin/systemd-analyze", {
        args: ["verify", join(dir, "telebus.service")],
        stdout: "piped",
        stderr: "piped",
        env: { SYSTEMD_LOG_COLOR: "0" },
      }).output();
      const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
      assert.equal(out.code, 0, text);
      assert.doesNotMatch(text, /telebus\.service/, text);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
