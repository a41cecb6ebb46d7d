/**
 * MoaT-Cmd (moat-lib-cmd 0.3.3, and moat-lib-rpc's path commands), sans I/O:
 * the {@linkcode Endpoint} state machine, header integers, errors, and the
 * byte-stream framings (CBOR sequence, SerialPacker).
 *
 * @example
 * ```ts
 * import { Endpoint } from "./mod.ts";
 * const server = new Endpoint({ handler: (req) => ["pong", ...req.args] });
 * const client = new Endpoint();
 * const reply = client.cmd("ping", [1]);
 * // Carry messages across (a real program encodes them and uses a socket).
 * server.msgIn(client.takeOut());
 * await new Promise((r) => setTimeout(r, 0));
 * client.msgIn(server.takeOut());
 * console.log(await reply); // [["pong", 1]]
 * ```
 *
 * @module
 */
export * from "./header.ts";
export * from "./errors.ts";
export * from "./endpoint.ts";
export * from "./framing.ts";
