// A Node.js consumer of feedgate's control protocol (docs/control.md): it leases
// topics, renews the lease while it runs, prints every reply as a JSON line, and
// exits WITHOUT releasing (like a consumer that dies), so its lease expires.
// Usage: node control.mjs REDIS_URL CLIENT TTL_SECONDS RUN_SECONDS TOPIC...
import { createClient } from "redis";

const [url, client, ttlText, runText, ...topics] = process.argv.slice(2);
const ttl = Number(ttlText);
const runFor = Number(runText) * 1000;
const redis = createClient({ url });
redis.on("error", (err) => {
  console.error(`redis error: ${err.message}`);
  process.exit(2);
});
await redis.connect();

const lease = (req) =>
  redis.xAdd("feedgate:control", "*", {
    op: "lease", client, topics: topics.join(" "), ttl: String(ttl), req,
  });

let cursor = "0-0";
const started = Date.now();
let renewals = 0;
await lease(`node-${renewals}`);
let nextRenewal = Date.now() + (ttl * 1000) / 3;
while (Date.now() - started < runFor) {
  const reply = await redis.xRead(
    { key: `feedgate:reply:${client}`, id: cursor },
    { BLOCK: 200, COUNT: 100 },
  );
  for (const stream of reply ?? []) {
    for (const entry of stream.messages) {
      cursor = entry.id;
      console.log(JSON.stringify(entry.message));
    }
  }
  if (Date.now() >= nextRenewal) {
    renewals += 1;
    await lease(`node-${renewals}`);
    nextRenewal = Date.now() + (ttl * 1000) / 3;
  }
}
await redis.quit();
