/**
 * The `foxglove` output's services: the daemon's callable commands
 * (`core/commands.ts`, e.g. a MoaT device's, offered by a `moat_cmd` input)
 * advertised as Foxglove services, and `serviceCallRequest`s answered by
 * calling them. Requests and responses are JSON: the request an array of
 * positional arguments or `{"args": […], "kwargs": {…}}`, the response the
 * command's answer.
 *
 * @module
 */
import type { CommandRegistry } from "../../core/commands.ts";
import type { DaemonCheckProblem } from "../../core/transport.ts";
import { isLoopback, parseHostPort } from "../../core/http.ts";
import type { FoxgloveConfig } from "./schema.ts";
import { toJson } from "../../codecs/json.ts";
import { ServerBinaryOpcode } from "./protocol.ts";
import type { Service } from "./protocol.ts";

/** Calls one client may have waiting for an answer; more fail at once (no unbounded pile of calls). */
export const MAX_CALLS_IN_FLIGHT = 16;

/** What the services need of a client. */
export interface ServiceClient {
  /** Sends a JSON message. */
  sendJson(message: unknown): void;
  /** Sends a binary frame. */
  sendFrame(frame: Uint8Array): void;
}

const REQUEST_SCHEMA = JSON.stringify({
  description: 'The arguments: an array of positional ones, or {"args": [...], "kwargs": {...}}',
  oneOf: [
    { type: "array" },
    { type: "object", properties: { args: { type: "array" }, kwargs: { type: "object" } } },
  ],
});
const RESPONSE_SCHEMA = JSON.stringify({ description: "The command's answer, as JSON" });

/**
 * A service call acts on a device: with `services = true` on an address other machines reach, the daemon
 * must have a token, or anyone there could call the devices' commands.
 */
export function checkServices(config: FoxgloveConfig, daemon: { token: string }): DaemonCheckProblem | undefined {
  if (!config.services || daemon.token || isLoopback(parseHostPort(config.listen).hostname)) return undefined;
  return {
    key: "services",
    message: `services let clients call device commands, and ${JSON.stringify(config.listen)} is reachable from ` +
      "other machines while [daemon] has no token: set [daemon] token, or listen on 127.0.0.1",
  };
}

/** A decoded `serviceCallRequest` (client binary opcode 2). */
export interface CallRequest {
  /** The service. */
  serviceId: number;
  /** The client's id of the call. */
  callId: number;
  /** The payload's encoding. */
  encoding: string;
  /** The payload. */
  data: Uint8Array;
}

/** Decodes a `serviceCallRequest`: opcode, service id, call id, encoding length and encoding, payload. */
export function parseCallRequest(frame: Uint8Array): CallRequest | undefined {
  if (frame.length < 13) return undefined;
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const len = view.getUint32(9, true);
  if (13 + len > frame.length) return undefined;
  return {
    serviceId: view.getUint32(1, true),
    callId: view.getUint32(5, true),
    encoding: new TextDecoder().decode(frame.subarray(13, 13 + len)),
    data: frame.subarray(13 + len),
  };
}

/** A `serviceCallResponse` frame (server binary opcode 3), laid out as the request. */
export function responseFrame(serviceId: number, callId: number, encoding: string, payload: Uint8Array): Uint8Array {
  const enc = new TextEncoder().encode(encoding);
  const frame = new Uint8Array(13 + enc.length + payload.length);
  const view = new DataView(frame.buffer);
  view.setUint8(0, ServerBinaryOpcode.SERVICE_CALL_RESPONSE);
  view.setUint32(1, serviceId, true);
  view.setUint32(5, callId, true);
  view.setUint32(9, enc.length, true);
  frame.set(enc, 13);
  frame.set(payload, 13 + enc.length);
  return frame;
}

/** Splits a JSON request payload into positional and keyword arguments; throws with a message for the client. */
export function callArguments(data: Uint8Array): { args: unknown[]; kw?: Record<string, unknown> } {
  const text = new TextDecoder().decode(data).trim();
  if (text === "") return { args: [] };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new Error("the request is not JSON");
  }
  if (Array.isArray(v)) return { args: v };
  if (v && typeof v === "object") {
    const { args = [], kwargs, ...rest } = v as Record<string, unknown>;
    const extra = Object.keys(rest);
    if (extra.length) throw new Error(`unknown request key(s) ${extra.join(", ")}: expected args and kwargs`);
    if (!Array.isArray(args)) throw new Error("args must be an array");
    if (kwargs !== undefined && (kwargs === null || typeof kwargs !== "object" || Array.isArray(kwargs))) {
      throw new Error("kwargs must be an object");
    }
    return { args, kw: kwargs as Record<string, unknown> | undefined };
  }
  throw new Error('the request must be an array of arguments or {"args": [...], "kwargs": {...}}');
}

/** The services of one output: ids for the registry's commands, and the calls of each client. */
export class ServiceTable {
  readonly #ids = new Map<string, number>();
  readonly #services = new Map<number, Service>();
  readonly #calls = new Map<ServiceClient, { ac: AbortController; n: number }>();
  #nextId = 1;

  /** @param commands the daemon's commands */
  constructor(readonly commands: CommandRegistry) {
    this.sync();
  }

  /** The services advertised now. */
  get services(): Service[] {
    return [...this.#services.values()];
  }

  /** Brings the table up to the registry; returns what was added and what removed. */
  sync(): { added: Service[]; removed: number[] } {
    const now = new Set<string>();
    const added: Service[] = [];
    for (const c of this.commands.list()) {
      now.add(c.name);
      if (this.#ids.has(c.name)) continue;
      const id = this.#nextId++;
      const schema = (s: string) => ({ encoding: "json", schemaName: "", schemaEncoding: "jsonschema", schema: s });
      const service: Service = {
        id,
        name: c.name,
        type: c.description ?? "telebus command",
        request: { ...schema(REQUEST_SCHEMA), schemaName: `${c.name}/request` },
        response: { ...schema(RESPONSE_SCHEMA), schemaName: `${c.name}/response` },
      };
      this.#ids.set(c.name, id);
      this.#services.set(id, service);
      added.push(service);
    }
    const removed: number[] = [];
    for (const [name, id] of this.#ids) {
      if (now.has(name)) continue;
      this.#ids.delete(name);
      this.#services.delete(id);
      removed.push(id);
    }
    return { added, removed };
  }

  /** Answers one call: `serviceCallResponse` with the answer's JSON, or `serviceCallFailure` with why not. */
  async call(client: ServiceClient, req: CallRequest): Promise<void> {
    const fail = (message: string) =>
      client.sendJson({ op: "serviceCallFailure", serviceId: req.serviceId, callId: req.callId, message });
    const service = this.#services.get(req.serviceId);
    const command = service && this.commands.get(service.name);
    if (!command) return fail(`service ${req.serviceId} does not exist`);
    if (req.encoding !== "json") return fail(`encoding ${JSON.stringify(req.encoding)} is not supported: use json`);
    let a: ReturnType<typeof callArguments>;
    try {
      a = callArguments(req.data);
    } catch (e) {
      return fail((e as Error).message);
    }
    let state = this.#calls.get(client);
    if (!state) this.#calls.set(client, state = { ac: new AbortController(), n: 0 });
    if (state.n >= MAX_CALLS_IN_FLIGHT) return fail(`more than ${MAX_CALLS_IN_FLIGHT} calls waiting for an answer`);
    state.n++;
    try {
      const answer = await command.call(a.args, a.kw, state.ac.signal);
      const payload = new TextEncoder().encode(toJson(answer));
      client.sendFrame(responseFrame(req.serviceId, req.callId, "json", payload));
    } catch (e) {
      fail(e instanceof Error ? e.message : String(e));
    } finally {
      state.n--;
    }
  }

  /** A client went: its waiting calls are given up. */
  forget(client: ServiceClient): void {
    this.#calls.get(client)?.ac.abort(new Error("the client went away"));
    this.#calls.delete(client);
  }
}
