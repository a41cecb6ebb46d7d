/**
 * Reading the daemon's `/metrics` (Prometheus text format 0.0.4, as
 * core/stats.ts renders it) for `telebus top`: samples, then one row of
 * counters per input, output and processor.
 *
 * Hand-written: the format's sample lines are one regular expression and a
 * label scanner; the npm parsers for it ship no types and parse the whole
 * family structure `top` does not need.
 *
 * @module
 */

/** One sample line: `name{labels} value`. */
export interface Sample {
  /** The metric name. */
  name: string;
  /** Its labels (unescaped). */
  labels: Record<string, string>;
  /** Its value (`NaN`, `±Inf` included). */
  value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?[ \t]+(\S+)(?:[ \t]+-?\d+)?$/;

function parseValue(s: string): number {
  if (s === "+Inf" || s === "Inf") return Infinity;
  if (s === "-Inf") return -Infinity;
  return Number(s);
}

/** Parses a label set's inside (`a="x",b="y\"z"`); throws on a malformed one. */
function parseLabels(s: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < s.length) {
    const m = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"/.exec(s.slice(i));
    if (!m) throw new Error(`bad labels in metrics line ${JSON.stringify(line)}`);
    i += m[0].length;
    let v = "";
    for (;;) {
      if (i >= s.length) throw new Error(`unterminated label value in metrics line ${JSON.stringify(line)}`);
      const c = s[i++];
      if (c === '"') break;
      if (c === "\\") {
        const e = s[i++];
        v += e === "n" ? "\n" : e;
      } else v += c;
    }
    labels[m[1]] = v;
    const rest = /^\s*,?\s*/.exec(s.slice(i))!;
    i += rest[0].length;
  }
  return labels;
}

/** Parses Prometheus text into its samples (comments and blank lines skipped). */
export function parsePrometheus(text: string): Sample[] {
  const out: Sample[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`bad metrics line ${JSON.stringify(line)}`);
    out.push({ name: m[1], labels: m[2] ? parseLabels(m[2], line) : {}, value: parseValue(m[3]) });
  }
  return out;
}

/** The kinds of part `/metrics` reports, each with its name in a label of the same name. */
export const PART_KINDS = ["input", "output", "processor"] as const;

/** The counters of one input, output or processor at one moment. */
export interface PartCounters {
  /** `input`, `output` or `processor`. */
  kind: (typeof PART_KINDS)[number];
  /** Its configured name. */
  name: string;
  /** Its transport (or processor) type. */
  type: string;
  /** Other labels that tell it apart (a processor's input or output), as `key=value`. */
  where: string;
  /** `…_records_total`. */
  records: number;
  /** `…_bytes_total`. */
  bytes: number;
  /** `…_errors_total`. */
  errors: number;
  /** `…_dropped_total`, or the sum over `…_dropped_by_reason_total`. */
  dropped: number;
  /** The sum over `…_rejected_total` reasons. */
  rejected: number;
  /** `…_queue_records`, when it has a queue. */
  queue?: number;
  /** `…_queue_capacity_records`, when it has a queue. */
  capacity?: number;
}

/** What one scrape of `/metrics` says. */
export interface Snapshot {
  /** Every part, in the order `/metrics` lists them first. */
  parts: PartCounters[];
  /** `telebus_bus_records_total`: records that entered the bus. */
  bus?: number;
  /** `telebus_up`: 1 while the daemon runs. */
  up?: number;
}

/** An input's or output's row: its name from the label named after its kind, the other labels as `where`. */
function partRow(kind: string, labels: Record<string, string>) {
  const { reason: _reason, type = "", ...others } = labels;
  const name = others[kind];
  delete others[kind];
  return { name, type, where: Object.entries(others).map(([k, v]) => `${k}=${v}`).join(",") };
}

/**
 * A processor's row, from `core/stats.ts`'s labels `{kind,part,processor,index}`: processors have no name of their
 * own, so it is named by its part and place in the part's list (`up[0]`), with the part's kind as `where`.
 */
function processorRow(labels: Record<string, string>) {
  return { name: `${labels.part}[${labels.index ?? 0}]`, type: labels.processor ?? "", where: labels.kind ?? "" };
}

/** Groups the samples of `text` into one row per part. */
export function snapshotOf(text: string): Snapshot {
  const parts = new Map<string, PartCounters>();
  const droppedByReason = new Map<PartCounters, number>();
  const snap: Snapshot = { parts: [] };
  for (const s of parsePrometheus(text)) {
    if (s.name === "telebus_bus_records_total") snap.bus = s.value;
    else if (s.name === "telebus_up") snap.up = s.value;
    const kind = PART_KINDS.find((k) => s.name.startsWith(`telebus_${k}_`) && k in s.labels);
    if (!kind) continue;
    const { name, type, where } = kind === "processor" && "part" in s.labels
      ? processorRow(s.labels)
      : partRow(kind, s.labels);
    const key = JSON.stringify([kind, name, type, where]);
    let p = parts.get(key);
    if (!p) {
      p = { kind, name, type, where, records: 0, bytes: 0, errors: 0, dropped: 0, rejected: 0 };
      parts.set(key, p);
    }
    switch (s.name.slice(`telebus_${kind}_`.length)) {
      case "records_total":
      case "records_in_total": // a processor's: what came in is its rate
        p.records = s.value;
        break;
      case "bytes_total":
        p.bytes = s.value;
        break;
      case "errors_total":
        p.errors = s.value;
        break;
      case "dropped_total":
        p.dropped = s.value;
        break;
      case "dropped_by_reason_total":
        droppedByReason.set(p, (droppedByReason.get(p) ?? 0) + s.value);
        break;
      case "rejected_total":
        p.rejected += s.value;
        break;
      case "queue_records":
        p.queue = s.value;
        break;
      case "queue_capacity_records":
        p.capacity = s.value;
        break;
    }
  }
  // An input reports only reasons (no total) until it has dropped something; take their sum.
  for (const [p, n] of droppedByReason) if (p.dropped === 0) p.dropped = n;
  snap.parts = [...parts.values()];
  return snap;
}
