/**
 * Runs the telebus daemon as a subprocess for end-to-end tests: start with a
 * config, wait for it to listen, read its metrics, stop it with a signal.
 *
 * @module
 */
const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** A daemon subprocess. */
export class DaemonProcess {
  /** Everything the daemon wrote to stderr so far. */
  log = "";
  /** The daemon's HTTP base URL, once it listens. */
  url = "";
  readonly #child: Deno.ChildProcess;
  readonly #reading: Promise<void>;
  #listening!: (url: string) => void;
  readonly #listeningP: Promise<string>;

  private constructor(args: string[], env?: Record<string, string>) {
    this.#listeningP = new Promise((r) => this.#listening = r);
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN, ...args],
      stdout: "null",
      stderr: "piped",
      env,
    }).spawn();
    this.#child = child;
    this.#reading = (async () => {
      const dec = new TextDecoder();
      for await (const chunk of child.stderr) {
        this.log += dec.decode(chunk, { stream: true });
        const m = /listening url=(\S+)/.exec(this.log);
        if (m && !this.url) {
          this.url = m[1].replace(/\/$/, "");
          this.#listening(this.url);
        }
      }
    })();
  }

  /** Starts `telebus --config <config>` and waits until it listens (or fails). */
  static async start(config: string, env?: Record<string, string>): Promise<DaemonProcess> {
    const d = new DaemonProcess(["--config", config], env);
    const exited = d.#child.status.then((s) => s.code);
    const r = await Promise.race([d.#listeningP, exited]);
    if (typeof r === "number") {
      await d.#reading;
      throw new Error(`daemon exited with ${r} before listening:\n${d.log}`);
    }
    return d;
  }

  /** GETs a path of the daemon's HTTP server and returns status and text. */
  async get(path: string): Promise<{ status: number; text: string }> {
    const r = await fetch(this.url + path);
    return { status: r.status, text: await r.text() };
  }

  /** The value of one metric sample whose line starts with `prefix`. */
  async metric(prefix: string): Promise<number> {
    const { text } = await this.get("/metrics");
    const line = text.split("\n").find((l) => l.startsWith(prefix));
    return line ? Number(line.split(" ").pop()) : NaN;
  }

  /** Sends `signal` (SIGHUP: reload) without waiting. */
  signal(signal: Deno.Signal): void {
    this.#child.kill(signal);
  }

  /** Sends `signal` and returns the exit code. */
  async stop(signal: Deno.Signal = "SIGTERM"): Promise<number> {
    this.#child.kill(signal);
    const s = await this.#child.status;
    await this.#reading;
    return s.code;
  }

  /** The daemon's process id. */
  get pid(): number {
    return this.#child.pid;
  }

  /** Peak resident memory of the daemon process so far, in bytes (Linux's `VmHWM`). */
  async peakRss(): Promise<number> {
    // Through cat: Deno grants reading /proc/PID/ only with --allow-all, which the test run does not have.
    const out = await new Deno.Command("cat", { args: [`/proc/${this.#child.pid}/status`], stdout: "piped" }).output();
    const status = new TextDecoder().decode(out.stdout);
    const kb = /VmHWM:\s+(\d+) kB/.exec(status);
    if (!kb) throw new Error("no VmHWM in /proc/PID/status");
    return Number(kb[1]) * 1024;
  }

  /** Bytes the daemon process has read so far, its own code included (Linux's `rchar` of `/proc/PID/io`). */
  async bytesRead(): Promise<number> {
    // Through cat, as above.
    const out = await new Deno.Command("cat", { args: [`/proc/${this.#child.pid}/io`], stdout: "piped" }).output();
    const rchar = /rchar:\s+(\d+)/.exec(new TextDecoder().decode(out.stdout));
    if (!rchar) throw new Error("no rchar in /proc/PID/io");
    return Number(rchar[1]);
  }

  /** The exit status, when the daemon ends by itself. */
  get status(): Promise<Deno.CommandStatus> {
    return this.#child.status;
  }
}
