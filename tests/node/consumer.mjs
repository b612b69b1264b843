// A Node.js consumer of feedgate's streams: reads entries with XREAD and prints
// them as JSON, so the tests can check that a non-Python client sees the
// documented flat fields. Usage: node consumer.mjs REDIS_URL COUNT TOPIC...
import { createClient } from "redis";

const [url, countText, ...topics] = process.argv.slice(2);
const want = Number(countText);
const client = createClient({ url });
client.on("error", (err) => {
  console.error(`redis error: ${err.message}`);
  process.exit(2);
});
await client.connect();

const cursors = Object.fromEntries(topics.map((t) => [t, "0-0"]));
const seen = [];
const deadline = Date.now() + 20000;
while (seen.length < want && Date.now() < deadline) {
  const reply = await client.xRead(
    topics.map((key) => ({ key, id: cursors[key] })),
    { BLOCK: 1000, COUNT: 1000 },
  );
  for (const stream of reply ?? []) {
    for (const entry of stream.messages) {
      cursors[stream.name] = entry.id;
      seen.push({ topic: stream.name, id: entry.id, fields: entry.message });
    }
  }
}
await client.quit();
for (const entry of seen) console.log(JSON.stringify(entry));
process.exit(seen.length >= want ? 0 : 1);
