/** The daemon's command registry. */
import assert from "node:assert/strict";
import { CommandRegistry } from "./commands.ts";

Deno.test("commands: register, list, call, change events; a withdrawal takes only its own registration", async () => {
  const reg = new CommandRegistry();
  let changes = 0;
  const stop = reg.onChange(() => changes++);
  const offB = reg.register("b", { call: (args) => Promise.resolve(["b", ...args]) });
  const offA = reg.register("a", { description: "A", call: (_a, kw) => Promise.resolve(kw) });
  assert.deepEqual(reg.list().map((c) => c.name), ["a", "b"]);
  assert.equal(reg.get("a")?.description, "A");
  assert.deepEqual(await reg.get("b")!.call([1], undefined), ["b", 1]);
  assert.deepEqual(await reg.get("a")!.call([], { x: 1 }), { x: 1 });
  assert.equal(changes, 2);
  // A restarted part registers again before its old self withdraws: the new one stays.
  const offB2 = reg.register("b", { call: () => Promise.resolve("new") });
  offB();
  assert.equal(await reg.get("b")!.call([], undefined), "new");
  offB2();
  offA();
  assert.deepEqual(reg.list(), []);
  assert.equal(changes, 5);
  stop();
  reg.register("c", { call: () => Promise.resolve(0) });
  assert.equal(changes, 5, "no events after onChange's stop");
});
