/**
 * Figures of the fault suite: each scenario writes what it measured (records lost and duplicated, peak RSS,
 * time to recover) to `test-output/faults/<scenario>.json` and prints it, so that docs/reliability.md can
 * quote the last run.
 *
 * @module
 */
import { join } from "node:path";

const OUT = new URL("../../test-output/faults/", import.meta.url).pathname;

/** What a fault scenario measured. */
export interface FaultFigures {
  /** Records that should have arrived and did not. */
  lost: number;
  /** Records that arrived more than once. */
  duplicated: number;
  /** Records the scenario sent through. */
  records: number;
  /** Peak resident memory of the daemon process, in MiB. */
  peak_rss_mib?: number;
  /** Milliseconds from the end of the fault until everything had arrived. */
  recover_ms?: number;
  /** Anything else worth quoting. */
  [more: string]: unknown;
}

/** Records and prints one scenario's figures. */
export async function recordFigures(scenario: string, figures: FaultFigures): Promise<void> {
  await Deno.mkdir(OUT, { recursive: true });
  const text = JSON.stringify({ scenario, measured: new Date().toISOString(), ...figures });
  await Deno.writeTextFile(join(OUT, `${scenario}.json`), text + "\n");
  console.log(`fault figures: ${text}`);
}

/** Counts what is missing from and repeated in `seqs`, which should be exactly `0 … n-1`. */
export function lostAndDuplicated(seqs: Iterable<number>, n: number): { lost: number; duplicated: number } {
  const seen = new Uint8Array(n);
  let duplicated = 0, outside = 0;
  for (const s of seqs) {
    if (!Number.isInteger(s) || s < 0 || s >= n) outside++;
    else if (seen[s]++) duplicated++;
  }
  let lost = 0;
  for (const c of seen) if (!c) lost++;
  return { lost, duplicated: duplicated + outside };
}
