/**
 * The dashboard's static assets, embedded as text at build time (text
 * imports are part of the module graph, so `deno compile` carries them and
 * nothing is read from disk or fetched from a CDN at run time).
 *
 * @module
 */
import indexHtml from "./index.html" with { type: "text" };
import appJs from "./app.js" with { type: "text" };
import uplotJs from "npm:uplot@^1.6.32/dist/uPlot.iife.min.js" with { type: "text" };
import uplotCss from "npm:uplot@^1.6.32/dist/uPlot.min.css" with { type: "text" };

/** A static asset: its content and content type. */
export interface Asset {
  /** The file's text. */
  body: string;
  /** Its `content-type`. */
  type: string;
}

/** The dashboard's files by path below the dashboard's root. */
export const dashboardAssets: Record<string, Asset> = {
  "": { body: indexHtml, type: "text/html; charset=utf-8" },
  "assets/app.js": { body: appJs, type: "text/javascript; charset=utf-8" },
  "assets/uplot.js": { body: uplotJs, type: "text/javascript; charset=utf-8" },
  "assets/uplot.css": { body: uplotCss, type: "text/css; charset=utf-8" },
};
