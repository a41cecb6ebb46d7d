/**
 * Waiting in tests without fixed sleeps: poll a condition with a deadline
 * ({@linkcode until}, {@linkcode untilValue}), await a promise or an event
 * with a deadline ({@linkcode withTimeout}, {@linkcode nextEvent}). Every timeout
 * names what was awaited, so that a failure says what did not happen.
 *
 * @module
 */

/** What is awaited: a text, or a function that describes the state at the time of the timeout. */
export type What = string | (() => string);

const describe = (what: What): string => typeof what === "string" ? what : what();

/** Resolves after `ms` milliseconds, and at once when `signal` aborts. */
function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}

/**
 * Waits until `condition` holds, polling (every 5 ms at first, backing off to `every`), and
 * throws `timed out after MS ms waiting for WHAT` when it does not hold within `ms`.
 *
 * @param what what the condition means, for the timeout message (a function is asked only then)
 * @param condition checked at once and after each pause; may be async
 * @param ms the deadline in milliseconds (default 10 s)
 * @param every the longest pause between checks in milliseconds (default 50; less where a test times the wait)
 */
export async function until(
  what: What,
  condition: () => boolean | Promise<boolean>,
  ms = 10_000,
  every = 50,
): Promise<void> {
  await untilValue(what, async () => (await condition()) || undefined, ms, every);
}

/**
 * Waits until `get` returns something other than `undefined` (polling like {@linkcode until})
 * and returns it; throws when nothing came within `ms`.
 *
 * @param what what is awaited, for the timeout message
 * @param get asked at once and after each pause; may be async
 * @param ms the deadline in milliseconds (default 10 s)
 * @param every the longest pause between checks in milliseconds (default 50)
 */
export async function untilValue<T>(
  what: What,
  get: () => T | undefined | Promise<T | undefined>,
  ms = 10_000,
  every = 50,
): Promise<T> {
  const end = performance.now() + ms;
  let step = Math.min(5, every);
  for (;;) {
    const v = await get();
    if (v !== undefined) return v;
    if (performance.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${describe(what)}`);
    await pause(step);
    step = Math.min(every, step * 2);
  }
}

/**
 * Awaits `promise`, or throws `timed out after MS ms waiting for WHAT` when it has not settled within `ms`.
 *
 * @param what what the promise stands for, for the timeout message
 * @param promise the awaited promise
 * @param ms the deadline in milliseconds (default 10 s)
 */
export async function withTimeout<T>(what: What, promise: Promise<T>, ms = 10_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${describe(what)}`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The next `type` event of `target` (a WebSocket, an AbortSignal, …), or a timeout error naming `type`.
 *
 * @param target what dispatches the event
 * @param type the event type, e.g. `"open"` or `"close"`
 * @param ms the deadline in milliseconds (default 10 s)
 */
export function nextEvent<E extends Event = Event>(target: EventTarget, type: string, ms = 10_000): Promise<E> {
  let listener!: (e: Event) => void;
  const event = new Promise<E>((resolve) => {
    listener = (e) => resolve(e as E);
    target.addEventListener(type, listener, { once: true });
  });
  return withTimeout(`a "${type}" event`, event, ms).finally(() => target.removeEventListener(type, listener));
}

/**
 * Lets `ms` milliseconds pass on purpose. Not a way to wait for something: use it only where a test checks
 * that nothing happens during a stretch of time, or stands for a slow peer, and say so where it is called.
 *
 * @param ms milliseconds to let pass
 * @param signal ends the pause early when aborted
 */
export function letTimePass(ms: number, signal?: AbortSignal): Promise<void> {
  return pause(ms, signal);
}

/** Resolves after the current macrotask queue has run once (timers of 0 ms, I/O callbacks already due). */
export function nextMacrotask(): Promise<void> {
  return pause(0);
}
