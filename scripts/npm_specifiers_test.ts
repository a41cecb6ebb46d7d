import assert from "node:assert/strict";
import { rewrite } from "./npm_specifiers.ts";

const IMPORTS = new Map([["zod", "npm:zod@^4.1.12"], ["msgpackr", "npm:msgpackr@^1.11.5"], [
  "@x/y",
  "npm:@x/y@^2.0.0",
]]);

Deno.test("npm_specifiers: bare and outdated npm imports become deno.json's full specifiers; others stay", () => {
  const before = [
    `import { z } from "zod";`,
    `import { Packr } from 'msgpackr/pack';`,
    `export type { Unpackr } from "msgpackr/unpack";`,
    `const mini = await import("npm:zod@^3.0.0/mini");`,
    `import "@x/y/z";`,
    `import local from "./zod.ts";`,
    `import other from "npm:other@1";`,
    `import unknown from "left-pad";`,
  ].join("\n");
  assert.equal(
    rewrite(before, IMPORTS),
    [
      `import { z } from "npm:zod@^4.1.12";`,
      `import { Packr } from 'npm:msgpackr@^1.11.5/pack';`,
      `export type { Unpackr } from "npm:msgpackr@^1.11.5/unpack";`,
      `const mini = await import("npm:zod@^4.1.12/mini");`,
      `import "npm:@x/y@^2.0.0/z";`,
      `import local from "./zod.ts";`,
      `import other from "npm:other@1";`,
      `import unknown from "left-pad";`,
    ].join("\n"),
  );
});
