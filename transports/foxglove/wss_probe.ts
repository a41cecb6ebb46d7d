/**
 * Run by `tls_test.ts` in a process of its own, started with `--cert CA`: Deno's WebSocket trusts a test CA only
 * through that flag. Connects `@foxglove/ws-protocol`'s client to the URL given, subscribes to the topic given and
 * prints one JSON line: the server's name, the channel and the first message's data.
 *
 * @module
 */
import { Fox } from "./test_util.ts";
import { until } from "../../testing/mod.ts";

const [url, topic] = Deno.args;
const fox = await Fox.connect(url);
try {
  const channel = await fox.channel(topic);
  const sub = fox.client.subscribe(channel.id);
  await until("a message", () => fox.of(sub).length > 0);
  console.log(JSON.stringify({ name: fox.info?.name, topic: channel.topic, data: fox.of(sub)[0].data }));
} finally {
  await fox.close();
}
