/**
 * What the MQTT tests share (named `_test` so that it counts as test code; it holds no tests): a daemon whose records of chosen inputs the test collects, and a bare mqtt.js
 * client.
 *
 * @module
 */
import mqtt from "npm:mqtt@^5.16.0";
import type { BusRecord } from "../../core/record.ts";
import { testDaemon } from "../../testing/mod.ts";

/** A test daemon from `config` collecting the records of `inputs` (with a blocking subscription). */
export async function collectingDaemon(config: Record<string, unknown>, inputs: string[]) {
  const t = await testDaemon({ ...config, daemon: { http: "off", ...(config.daemon as object) } });
  const got: BusRecord[] = [];
  const unsubscribe = t.daemon.subscribe((rs) => void got.push(...rs), { whenFull: "block", inputs });
  return {
    ...t,
    got,
    async stop() {
      await unsubscribe();
      await t.close();
    },
  };
}

/** A bare client, connected. */
export function bareClient(url: string, options: mqtt.IClientOptions = {}): Promise<mqtt.MqttClient> {
  return mqtt.connectAsync(url, { reconnectPeriod: 100, ...options });
}

/** The `seq` keys of records, sorted and without repeats. */
export function seqs(records: BusRecord[]): number[] {
  return [...new Set(records.map((r) => r.data.seq as number))].sort((a, b) => a - b);
}

/** 0 … n-1. */
export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
