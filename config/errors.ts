/**
 * Configuration errors that say where: the file, the line and column, and the
 * key path with the bad value.
 *
 * @module
 */

/** One problem found in a configuration. */
export interface ConfigProblem {
  /** Key path such as `outputs.mpack_file[0].when_full` (empty for syntax errors). */
  path: string;
  /** What is wrong, with the bad value where there is one. */
  message: string;
  /** 1-based line in the file, when known. */
  line?: number;
  /** 1-based column in the file, when known. */
  column?: number;
}

/** A configuration that cannot be used; `message` lists every problem, one per line. */
export class ConfigError extends Error {
  /**
   * Collects every problem into one error.
   *
   * @param file the configuration file (or `<config>` for an object)
   * @param problems everything found wrong
   * @param detail extra text (e.g. the TOML code block around a syntax error)
   */
  constructor(readonly file: string, readonly problems: ConfigProblem[], readonly detail = "") {
    super(
      problems.map((p) => {
        const where = p.line ? `${file}:${p.line}:${p.column ?? 1}` : file;
        return `${where}: ${p.path ? p.path + ": " : ""}${p.message}`;
      }).join("\n") + (detail ? "\n" + detail : ""),
    );
    this.name = "ConfigError";
  }
}
