/**
 * The pages in a real browser (Debian's chromium, driven by playwright-core). The dashboard, with the default config:
 * the page lists the generator's streams with their rates, shows the newest values, plots a clicked key live.
 * GraphiQL: it loads offline and runs a query. Every request stays on the daemon. Screenshots go to test-output/.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { DaemonProcess } from "./helpers/daemon_process.ts";

const CHROMIUM = "/usr/bin/chromium";
const OUT = new URL("../test-output/", import.meta.url).pathname;

/** Starts a daemon with a generator (and `extra` TOML) and a headless chromium. */
async function setup(extra = "") {
  const dir = await Deno.makeTempDir();
  const config = join(dir, "t.toml");
  await Deno.writeTextFile(
    config,
    `[daemon]\nhttp = "127.0.0.1:0"\ndata_dir = "${dir}"\n\n[[inputs.generator]]\nname = "robot"\nrate = 200\nstreams = ["robot/base", "robot/arm"]\n${extra}`,
  );
  const daemon = await DaemonProcess.start(config);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  return { dir, daemon, browser };
}

Deno.test("dashboard: streams with rates, newest values, a live plot, nothing fetched from elsewhere", async () => {
  const { dir, daemon, browser } = await setup();
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    const requests: string[] = [];
    page.on("request", (r) => requests.push(r.url()));
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(daemon.url + "/");
    // Browser-side code is passed as text: it runs in the page, not in Deno.
    await page.waitForFunction('document.getElementById("status")?.textContent === "live"');
    // The stream list shows both streams with a rate near 100/s each.
    await page.waitForFunction('document.querySelectorAll("#streams tr").length === 2');
    await page.waitForTimeout(1500);
    const rates = await page.evaluate(
      '[...document.querySelectorAll("#streams td.rate")].map((td) => Number(td.textContent))',
    ) as number[];
    assert.ok(rates.every((r) => r > 50 && r < 150), `rates ${rates}`);
    // The newest values, then a click on a number starts a plot that grows.
    await page.click('#tree .num[data-path="x"]');
    await page.waitForTimeout(1500);
    const points = await page.evaluate("state.plot.data[1].filter((v) => v !== null).length") as number;
    assert.ok(points > 50, `plotted ${points} points`);
    const inked = await page.evaluate(`(() => {
      const c = document.querySelector("#plot canvas");
      const px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < px.length; i += 4) if (px[i] > 0) n++;
      return n;
    })()`) as number;
    assert.ok(inked > 500, `the plot drew ${inked} pixels`);
    await Deno.mkdir(OUT, { recursive: true });
    await page.screenshot({ path: join(OUT, "dashboard.png") });
    const foreign = requests.filter((u) => !u.startsWith(daemon.url));
    assert.deepEqual(foreign, [], "every request stays on the daemon");
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    assert.equal(await daemon.stop(), 0);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("graphiql: loads offline and runs a query", async () => {
  const { dir, daemon, browser } = await setup("\n[[outputs.graphql]]\n");
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    const requests: string[] = [];
    page.on("request", (r) => requests.push(r.url()));
    await page.goto(daemon.url + "/graphql");
    await page.waitForSelector(".graphiql-container");
    await page.click(".graphiql-execute-button");
    await page.waitForFunction('document.querySelector(".result-window")?.textContent.includes("generator")');
    await Deno.mkdir(OUT, { recursive: true });
    await page.screenshot({ path: join(OUT, "graphiql.png") });
    assert.deepEqual(requests.filter((u) => !u.startsWith(daemon.url)), [], "every request stays on the daemon");
  } finally {
    await browser.close();
    assert.equal(await daemon.stop(), 0);
    await Deno.remove(dir, { recursive: true });
  }
});
