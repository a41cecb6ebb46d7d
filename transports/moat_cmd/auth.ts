/**
 * The telebus MoaT server's authentication step. When the daemon has a
 * `token`, the first command on every connection must be `auth(token)`:
 *
 * ```
 * → [0, "auth", "<token>"]          (a plain cmd; ["auth"] as an rpc path works too)
 * ← [-4, true]                      (accepted: any command may follow, even before this reply arrives)
 * ← [-2, "PermissionError", "…"]    (a wrong token, or any other command first: the server then closes)
 * ```
 *
 * A connection that has not authenticated within the server's `auth_timeout`
 * is closed. A server without a token answers `auth` with `true` too, so a
 * client may always send it.
 *
 * @module
 */
import type { Endpoint } from "../../protocol/moat_cmd/endpoint.ts";

/** The command that authenticates a connection. */
export const AUTH_COMMAND = "auth";

/** Sends `auth(token)` on a fresh connection; resolves once the server accepted it, throws its error otherwise. */
export async function authenticate(ep: Endpoint, token: string, signal?: AbortSignal): Promise<void> {
  const reply = await ep.cmd(AUTH_COMMAND, [token], undefined, signal);
  if (reply[0] !== true) throw new Error(`auth: unexpected reply ${JSON.stringify(reply)}`);
}
