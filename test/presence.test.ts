// The presence store against a real Redis: a person is online while any instance claims them,
// and the joins and leaves arriving together (a reconnect storm) are decided in order, each as
// if it were alone.
import { describe, expect, test } from "bun:test";
import { redisPresence, type PresenceStore } from "../src/realtime/presence.ts";
import { withRedis } from "./helpers/server.ts";
import { redisTestInstallation } from "./helpers/redis.ts";

const { names, connect } = redisTestInstallation("presencetest");

function instance(id: string): PresenceStore {
  return redisPresence(connect(), names, id);
}


describe.skipIf(!withRedis)("presence in Redis", () => {
  test("online while any instance claims them: only the first join and the last leave are changes", async () => {
    const [a, b] = [instance("a"), instance("b")];
    expect(await a.join(1)).toBe(true);
    expect(await b.join(1)).toBe(false);
    expect(await a.leave(1)).toBe(false);
    expect(await b.leave(1)).toBe(true);
    const status = (await a.status([1])).get(1)!;
    expect(status.online).toBe(false);
    expect(Date.now() - status.lastSeen!).toBeLessThan(5_000);
  });

  test("many people in one turn: each decided in order, as alone", async () => {
    const [a, b] = [instance("a"), instance("b")];
    const people = Array.from({ length: 600 }, (_, i) => 100 + i);
    expect(await b.join(100)).toBe(true); // one of them is already online through b
    const joined = await Promise.all(people.map((id) => a.join(id)));
    expect(joined).toEqual(people.map((id) => id !== 100));
    // The same person twice in one turn: the second join is not coming online; then gone, back, gone.
    expect(await Promise.all([a.join(2), a.join(2), a.leave(2), a.join(2), a.leave(2)])).toEqual([true, false, true, true, true]);
    const status = await a.status(people);
    expect(people.every((id) => status.get(id)!.online)).toBe(true);
    const left = await Promise.all(people.map((id) => a.leave(id)));
    expect(left).toEqual(people.map((id) => id !== 100));
    const after = await a.status([100, 101]);
    expect([after.get(100)!.online, after.get(101)!.online]).toEqual([true, false]);
  });
});
