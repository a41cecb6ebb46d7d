/**
 * Human-readable durations (`"250ms"`, `"1h30m"`) and sizes (`"64MiB"`, `"10kB"`).
 *
 * @module
 */

const DURATION_UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** Parses a duration into milliseconds; a bare number is seconds. Throws with a clear message. */
export function parseDuration(v: string | number): number {
  if (typeof v === "number") {
    if (!Number.isFinite(v) || v < 0) throw new Error(`bad duration ${v}: expected a number of seconds >= 0`);
    return v * 1000;
  }
  const s = v.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
  const re = /(\d+(?:\.\d+)?)\s*(ns|us|µs|ms|s|m|h|d)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    total += Number(m[1]) * DURATION_UNITS[m[2]];
    matched = re.lastIndex;
  }
  if (matched === 0 || matched !== s.length) {
    throw new Error(`bad duration ${JSON.stringify(v)}: expected e.g. "250ms", "5s", "1h30m"`);
  }
  return total;
}

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
};

/** Parses a size into bytes; a bare number is bytes. Throws with a clear message. */
export function parseSize(v: string | number): number {
  if (typeof v === "number") {
    if (!Number.isFinite(v) || v < 0) throw new Error(`bad size ${v}: expected a number of bytes >= 0`);
    return Math.floor(v);
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(v);
  const unit = m?.[2].toLowerCase() ?? "";
  if (!m || !(unit === "" || unit in SIZE_UNITS)) {
    throw new Error(`bad size ${JSON.stringify(v)}: expected e.g. "512KiB", "64MiB", "1GB"`);
  }
  return Math.floor(Number(m[1]) * (unit === "" ? 1 : SIZE_UNITS[unit]));
}
