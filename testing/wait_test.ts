import assert from "node:assert/strict";
import { nextEvent, until, untilValue, withTimeout } from "./wait.ts";
import { prng, randomBytes } from "./prng.ts";
import { concat, hex, unhex } from "./bytes.ts";

Deno.test("until: returns once the condition holds; a timeout names what was awaited", async () => {
  let n = 0;
  await until("three checks", () => ++n >= 3);
  assert.equal(n, 3);
  await assert.rejects(until("the impossible", () => false, 30), /timed out after 30 ms waiting for the impossible/);
  let state = "early";
  const late = until(() => `a state of ${state}`, async () => (await Promise.resolve(false)), 30);
  state = "late";
  await assert.rejects(late, /waiting for a state of late/);
});

Deno.test("untilValue: the first defined value; withTimeout: the promise's value or a named timeout", async () => {
  let n = 0;
  assert.equal(await untilValue("a value", () => ++n === 2 ? "two" : undefined), "two");
  assert.equal(await withTimeout("a resolved promise", Promise.resolve(7)), 7);
  await assert.rejects(withTimeout("a promise that never settles", new Promise(() => {}), 20), /never settles/);
});

Deno.test("nextEvent: the event once dispatched; a timeout names its type", async () => {
  const target = new EventTarget();
  const got = nextEvent(target, "ping");
  target.dispatchEvent(new Event("ping"));
  assert.equal((await got).type, "ping");
  await assert.rejects(nextEvent(target, "pong", 20), /a "pong" event/);
});

Deno.test("prng and bytes: the same seed gives the same numbers; hex round-trips; concat joins", () => {
  const a = prng(42), b = prng(42);
  const xs = Array.from({ length: 5 }, a);
  assert.deepEqual(xs, Array.from({ length: 5 }, b));
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  // The bytes the torn-log fixtures were made with before the kit: mulberry32's top byte, as written there.
  const before = new Uint8Array(64);
  let st = 11;
  for (let i = 0; i < before.length; i++) {
    st = (st + 0x6d2b79f5) >>> 0;
    let t = Math.imul(st ^ (st >>> 15), st | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    before[i] = (t ^ (t >>> 14)) >>> 24;
  }
  assert.equal(hex(randomBytes(64, 11)), hex(before));
  assert.equal(hex(concat(unhex("0102"), new Uint8Array(0), unhex("ff"))), "0102ff");
});
