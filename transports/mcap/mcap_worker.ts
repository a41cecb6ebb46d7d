/**
 * The `mcap` output's worker: makes each record's message (JSON from its
 * MessagePack bytes), builds and compresses the chunks and writes the files
 * ({@linkcode McapFiles}), one message of the main thread at a time, in order.
 * It answers each batch once its records are in the open chunk (or
 * rejected), and reports log lines and bytes written as they happen.
 * The protocol is in thread.ts.
 *
 * @module
 */
import type { LogFields } from "../../core/log.ts";
import { limitReasonOf } from "../../core/limits.ts";
import { KeyTable } from "../../codecs/mpack_json.ts";
import { BatchReader } from "./batch.ts";
import { McapFiles } from "./files.ts";
import type { FromWorker, ToWorker } from "./thread.ts";

/** The worker's global scope (Deno's types describe a window's). */
const scope = self as unknown as {
  postMessage(m: FromWorker): void;
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
};

const post = (m: FromWorker) => {
  try {
    scope.postMessage(m);
  } catch {
    // A log field that cannot be cloned: sent as text.
    if (m.t === "log") scope.postMessage({ ...m, fields: textFields(m.fields) });
    else throw new Error(`cannot post ${m.t}`);
  }
};

function textFields(fields?: LogFields): LogFields | undefined {
  if (!fields) return undefined;
  return Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v instanceof Error ? v.message : String(v)]));
}

let files: McapFiles | undefined;
let openError: string | undefined;
const reader = new BatchReader(new KeyTable());
/** Serialises batches, timed flushes and close. */
let lock: Promise<unknown> = Promise.resolve();
/** Held by {@linkcode ToWorker} `hold` (tests): batches wait until `release`. */
let release: (() => void) | undefined;

function exclusive(fn: () => Promise<void>): Promise<void> {
  const run = lock.then(fn);
  lock = run.catch(() => {});
  return run;
}

const errorText = (e: unknown) => e instanceof Error ? e.message : String(e);

scope.onmessage = (e: MessageEvent<ToWorker>) => {
  const m = e.data;
  switch (m.t) {
    case "open":
      exclusive(async () => {
        const f = new McapFiles(
          m.config,
          m.name,
          m.dataDir,
          {
            log: (level, msg, fields) => post({ t: "log", level, msg, fields }),
            wrote: (bytes, position) => post({ t: "wrote", bytes, position }),
            repaired: () => post({ t: "repaired" }),
            opened: (path) => post({ t: "opened", path }),
          },
          exclusive,
          m.startedMs,
        );
        try {
          await f.open();
          files = f;
          post({ t: "ready" });
        } catch (e) {
          openError = errorText(e);
          post({ t: "open_failed", error: openError });
        }
      });
      break;
    case "batch":
      exclusive(async () => {
        const rejects: { index: number; reason: string; message: string }[] = [];
        try {
          if (!files) throw new Error(openError ?? "the output is closed");
          const f = files;
          await f.begin();
          await reader.read(
            m.batch,
            (r) => f.add(r.stream, r.time, r.message, r.schema),
            (index, e) => rejects.push({ index, reason: limitReasonOf(e), message: errorText(e) }),
          );
          await f.end();
          post({ t: "done", id: m.id, rejects, path: f.path });
        } catch (e) {
          post({ t: "failed", id: m.id, error: errorText(e) });
        }
      });
      break;
    case "close":
      exclusive(async () => {
        try {
          await files?.close();
          files = undefined;
          post({ t: "closed" });
        } catch (e) {
          files = undefined;
          post({ t: "close_failed", error: errorText(e) });
        }
      });
      break;
    case "hold": {
      const held = new Promise<void>((resolve) => release = resolve);
      exclusive(() => held);
      post({ t: "held" });
      break;
    }
    case "release":
      release?.();
      release = undefined;
      break;
  }
};
