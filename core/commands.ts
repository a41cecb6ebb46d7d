/**
 * The daemon's callable commands: an input that can reach a device (the
 * `moat_cmd` input) registers the commands it offers; an output that lets its
 * clients call them (the `foxglove` output's services) lists them and is told
 * when the list changes. This is how two transports meet without importing
 * each other.
 *
 * @module
 */

/** A command a part offers to the daemon's other parts. */
export interface CallableCommand {
  /** One line on what it does (shown to clients). */
  readonly description?: string;
  /**
   * Calls it: positional and keyword arguments in, the answer out; rejects with an `Error` whose message
   * is what the caller is told. `signal` aborts when the caller gives up (it went away).
   */
  call(args: readonly unknown[], kw: Record<string, unknown> | undefined, signal?: AbortSignal): Promise<unknown>;
}

/** A registered command with its name. */
export interface NamedCommand extends CallableCommand {
  /** Its daemon-wide name (the registering part's name, a slash, the command). */
  readonly name: string;
}

/** The registry of callable commands of one daemon. */
export class CommandRegistry {
  readonly #commands = new Map<string, NamedCommand>();
  readonly #listeners = new Set<() => void>();

  /**
   * Registers `command` as `name`, replacing an earlier one of that name (names start with the part's name,
   * and a part restarted by a reload may register before its old self has withdrawn); returns the function
   * that takes it away again (only this registration: a later one of the same name stays).
   */
  register(name: string, command: CallableCommand): () => void {
    const entry: NamedCommand = { name, description: command.description, call: (a, k, s) => command.call(a, k, s) };
    this.#commands.set(name, entry);
    this.#changed();
    return () => {
      if (this.#commands.get(name) !== entry) return;
      this.#commands.delete(name);
      this.#changed();
    };
  }

  /** The registered commands, sorted by name. */
  list(): NamedCommand[] {
    return [...this.#commands.values()].sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  }

  /** The command of that name, if registered. */
  get(name: string): NamedCommand | undefined {
    return this.#commands.get(name);
  }

  /** Calls `listener` after every change of the list; returns the function that stops that. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #changed(): void {
    for (const l of [...this.#listeners]) {
      try {
        l();
      } catch {
        // A listener's failure is its own; the others still hear of the change.
      }
    }
  }
}
