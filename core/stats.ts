/**
 * Counters and gauges of every input and output, rendered as Prometheus text.
 *
 * @module
 */

/** Counters of one processor of a part (see `processors/`). Plain fields: they are bumped on the hot path. */
export class ProcessorStats {
  /** Records that came in. */
  in = 0;
  /** Records passed on (an aggregate counts the records it made). */
  out = 0;
  /** Records left out (filtered, thinned, superseded, emptied). */
  dropped = 0;

  /**
   * Creates zeroed counters.
   *
   * @param index its place in the part's list (from 0)
   * @param type the processor type (`throttle`…)
   */
  constructor(readonly index: number, readonly type: string) {}

  /** A plain object for JSON APIs and tests. */
  toJSON(): Record<string, unknown> {
    return { index: this.index, type: this.type, in: this.in, out: this.out, dropped: this.dropped };
  }
}

/** Counters of one part (an input or an output). Plain fields: they are bumped on the hot path. */
export class PartStats {
  /** Records received (inputs) or written (outputs). */
  records = 0;
  /** Bytes received (inputs) or written (outputs). */
  bytes = 0;
  /** Bad messages, decode failures and write failures. */
  errors = 0;
  /** Records dropped, by reason (e.g. `drop_oldest`, `latest`). */
  readonly dropped = new Map<string, number>();
  /** Records refused because they are beyond the codecs' limits or cannot be encoded, by reason (`too_deep`…). */
  readonly rejected = new Map<string, number>();
  /** Records refused, all reasons (a plain field: the bus reads it around every write). */
  rejectedTotal = 0;
  /** Extra named counters a transport wants visible (e.g. `garbage_bytes`). */
  readonly counters = new Map<string, number>();
  /** Gauges read when metrics are rendered (e.g. queue depth). */
  readonly gauges = new Map<string, () => number>();
  /** The counters of the part's processors, in order (replaced when a reload changes them). */
  processors: ProcessorStats[] = [];

  /**
   * Creates zeroed counters for one part.
   *
   * @param kind `input` or `output`
   * @param name the configured name
   * @param type the transport type
   */
  constructor(
    readonly kind: "input" | "output",
    readonly name: string,
    readonly type: string,
  ) {}

  /** Adds `n` drops for `reason`. */
  drop(reason: string, n = 1): void {
    this.dropped.set(reason, (this.dropped.get(reason) ?? 0) + n);
  }

  /** Adds `n` refused records for `reason`. */
  reject(reason: string, n = 1): void {
    this.rejected.set(reason, (this.rejected.get(reason) ?? 0) + n);
    this.rejectedTotal += n;
  }

  /** Adds `n` to the named extra counter. */
  count(name: string, n = 1): void {
    this.counters.set(name, (this.counters.get(name) ?? 0) + n);
  }

  /** Total drops over all reasons. */
  get droppedTotal(): number {
    let n = 0;
    for (const v of this.dropped.values()) n += v;
    return n;
  }

  /** A plain object for JSON APIs and tests. */
  toJSON(): Record<string, unknown> {
    const gauges: Record<string, number> = {};
    for (const [k, f] of this.gauges) gauges[k] = f();
    return {
      kind: this.kind,
      name: this.name,
      type: this.type,
      records: this.records,
      bytes: this.bytes,
      errors: this.errors,
      dropped: Object.fromEntries(this.dropped),
      rejected: Object.fromEntries(this.rejected),
      counters: Object.fromEntries(this.counters),
      gauges,
      processors: this.processors.map((p) => p.toJSON()),
    };
  }
}

function esc(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function metricName(s: string): string {
  return s.replace(/[^a-zA-Z0-9_]/g, "_");
}

/** Renders the stats of all parts in the Prometheus text exposition format (0.0.4). */
export function renderPrometheus(parts: Iterable<PartStats>, extra: Record<string, number> = {}): string {
  const lines: string[] = [];
  const families = new Map<string, { help: string; type: string; samples: string[] }>();
  function add(name: string, help: string, type: string, labels: string, value: number) {
    let f = families.get(name);
    if (!f) families.set(name, f = { help, type, samples: [] });
    f.samples.push(`${name}{${labels}} ${value}`);
  }
  for (const p of parts) {
    const k = p.kind;
    const labels = `${k}="${esc(p.name)}",type="${esc(p.type)}"`;
    add(
      `telebus_${k}_records_total`,
      `Records ${k === "input" ? "received" : "written"}.`,
      "counter",
      labels,
      p.records,
    );
    add(`telebus_${k}_bytes_total`, `Bytes ${k === "input" ? "received" : "written"}.`, "counter", labels, p.bytes);
    add(`telebus_${k}_errors_total`, "Bad input or failed writes.", "counter", labels, p.errors);
    if (k === "output" || p.dropped.size > 0) {
      add(`telebus_${k}_dropped_total`, "Records dropped, all reasons.", "counter", labels, p.droppedTotal);
    }
    for (const [reason, n] of p.dropped) {
      add(
        `telebus_${k}_dropped_by_reason_total`,
        "Records dropped, by reason.",
        "counter",
        `${labels},reason="${esc(reason)}"`,
        n,
      );
    }
    for (const [reason, n] of p.rejected) {
      add(
        `telebus_${k}_rejected_total`,
        "Records refused: beyond the codecs' limits or not encodable, by reason.",
        "counter",
        `${labels},reason="${esc(reason)}"`,
        n,
      );
    }
    for (const [c, n] of p.counters) {
      add(`telebus_${k}_${metricName(c)}_total`, `Transport counter ${c}.`, "counter", labels, n);
    }
    for (const [g, f] of p.gauges) {
      add(`telebus_${k}_${metricName(g)}`, `Gauge ${g}.`, "gauge", labels, f());
    }
    for (const s of p.processors) {
      const l = `kind="${k}",part="${esc(p.name)}",processor="${s.type}",index="${s.index}"`;
      add("telebus_processor_records_in_total", "Records into a processor.", "counter", l, s.in);
      add("telebus_processor_records_out_total", "Records a processor passed on.", "counter", l, s.out);
      add("telebus_processor_dropped_total", "Records a processor left out.", "counter", l, s.dropped);
    }
  }
  for (const [name, v] of Object.entries(extra)) {
    add(`telebus_${metricName(name)}`, name, "gauge", "", v);
  }
  for (const [name, f] of families) {
    lines.push(`# HELP ${name} ${f.help}`, `# TYPE ${name} ${f.type}`, ...f.samples.map((s) => s.replace("{}", "")));
  }
  return lines.join("\n") + "\n";
}
