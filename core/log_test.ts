/**
 * Logging for journald and humans: the `journal` format (syslog priority
 * prefixes, no timestamps), the default `text` format, and rate-limited repeats.
 */
import assert from "node:assert/strict";
import { createLogger, type LogSink } from "./log.ts";

function capture(format?: LogSink["format"]): { sink: LogSink; lines: string[] } {
  const lines: string[] = [];
  return { sink: { level: "debug", format, write: (l) => lines.push(l) }, lines };
}

Deno.test("log: journal format has <N> priorities, one line per event, fields, no timestamp", () => {
  const { sink, lines } = capture("journal");
  const log = createLogger("telebus", sink).child("output.log");
  log.debug("d");
  log.info("writing", { path: "/var/lib/telebus/data/x.mpack", bytes: 12 });
  log.warn("slow", { note: "two words" });
  log.error("failed", { error: new Error("disk full\nreally") });
  assert.deepEqual(lines, [
    "<7>DEBUG telebus.output.log: d",
    "<6>INFO telebus.output.log: writing path=/var/lib/telebus/data/x.mpack bytes=12",
    '<4>WARN telebus.output.log: slow note="two words"',
    '<3>ERROR telebus.output.log: failed error="disk full\\nreally"',
  ]);
});

Deno.test("log: text format (the default) starts with an ISO timestamp", () => {
  const { sink, lines } = capture();
  createLogger("telebus", sink).info("running", { inputs: 1 });
  assert.match(lines[0], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO telebus: running inputs=1$/);
});

Deno.test("log: repeats of one message are rate-limited in the journal format too", () => {
  const { sink, lines } = capture("journal");
  const log = createLogger("input.robot", sink);
  for (let i = 0; i < 100; i++) log.warn("garbage skipped", { bytes: i });
  assert.equal(lines.length, 5);
  assert.ok(lines.every((l) => l.startsWith("<4>WARN input.robot: garbage skipped")));
});

Deno.test("log: TELEBUS_LOG_FORMAT=journal selects the format of the stderr sink", async () => {
  const code = `import { createLogger } from ${JSON.stringify(new URL("./log.ts", import.meta.url).href)};
createLogger("telebus").info("hello", { a: 1 });`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--allow-env=TELEBUS_LOG,TELEBUS_LOG_FORMAT", code],
    env: { TELEBUS_LOG_FORMAT: "journal", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.equal(new TextDecoder().decode(out.stderr), "<6>INFO telebus: hello a=1\n");
});
