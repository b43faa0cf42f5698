// The bus between instances, on a real Redis: two buses play two instances. Each hands its own
// events to its own listeners at once and never again from Redis; the other gets exactly the
// events of the topics it has listeners for, in the order they were published.
import { afterAll, describe, expect, test } from "bun:test";
import { redisBus, type Bus } from "../src/realtime/bus.ts";
import { redisNames, topics, type Topic } from "../src/realtime/topics.ts";
import type { BusEvent } from "../src/realtime/events.ts";
import { createLogger } from "../src/log.ts";
import { withRedis } from "./helpers/server.ts";

const names = redisNames(`bustest${Date.now().toString(36)}`);
const log = createLogger("error", "bus-test");
const buses: Bus[] = [];

function instance(id: string): { bus: Bus; heard: [Topic, BusEvent][] } {
  const heard: [Topic, BusEvent][] = [];
  const bus = redisBus(process.env.REDIS_URL!, names, id, (topic, event) => heard.push([topic, event]), log);
  buses.push(bus);
  return { bus, heard };
}

const typing = (threadId: number, n: number): BusEvent => ({ type: "typing", threadId, user: { id: n, username: `user${n}` } });

async function until(check: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await Bun.sleep(5);
  }
}

afterAll(async () => {
  await Promise.all(buses.map((b) => b.close()));
});

describe.skipIf(!withRedis)("the bus through Redis", () => {
  test("the other instance hears exactly the events of the topics it follows, in order, once; the publisher hears its own once", async () => {
    const a = instance("a");
    const b = instance("b");
    await until(() => a.bus.healthy() && b.bus.healthy());
    for (const topic of [topics.thread(1), topics.user(7)]) {
      await a.bus.subscribe(topic);
      await b.bus.subscribe(topic);
    }

    // One tick: a message-like run of events on several topics, one event to many topics.
    const shared = typing(1, 99);
    a.bus.publish(topics.thread(1), typing(1, 1));
    a.bus.publish(topics.thread(2), typing(2, 2)); // nobody on B follows thread 2
    a.bus.publish(topics.user(7), shared);
    a.bus.publish(topics.user(8), shared);
    a.bus.publish(topics.thread(1), typing(1, 3));
    // The next tick: a second message on the channel.
    await Bun.sleep(0);
    a.bus.publish(topics.thread(1), typing(1, 4));

    await until(() => b.heard.length >= 4);
    await Bun.sleep(100); // anything extra would have arrived by now
    expect(b.heard.map(([topic, e]) => [topic, e.type === "typing" ? e.user.id : null])).toEqual([
      ["thread:1", 1],
      ["user:7", 99],
      ["thread:1", 3],
      ["thread:1", 4],
    ]);
    // A delivered its own six at once, and none came back through Redis (though A follows
    // thread 1 and user 7 too).
    expect(a.heard.length).toBe(6);

    // B no longer follows thread 1: its events stop reaching B; user 7's still do.
    await b.bus.unsubscribe(topics.thread(1));
    a.bus.publish(topics.thread(1), typing(1, 5));
    a.bus.publish(topics.user(7), typing(0, 6));
    await until(() => b.heard.length >= 5);
    await Bun.sleep(100);
    expect(b.heard.slice(4).map(([topic]) => topic)).toEqual(["user:7"]);
  });

  test("text the bus did not write on its channel is skipped, and delivery goes on", async () => {
    const b = instance("c");
    const a = instance("d");
    await until(() => a.bus.healthy() && b.bus.healthy());
    await b.bus.subscribe(topics.thread(3));
    const Redis = (await import("ioredis")).default;
    const raw = new Redis(process.env.REDIS_URL!);
    await raw.publish(names.bus, "someone else\nthread:3\t{not json\nno tab here\n\n");
    await raw.quit();
    a.bus.publish(topics.thread(3), typing(3, 1));
    await until(() => b.heard.length >= 1);
    await Bun.sleep(100);
    expect(b.heard.map(([topic, e]) => [topic, e.type])).toEqual([["thread:3", "typing"]]);
  });
});
