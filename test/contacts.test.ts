// Who counts as a contact is asked two ways: all the contacts of some people at once (whose
// feeds hear them come online, users/contacts.sql) and a few people at a time (whose presence a
// page may show, users/presence_visible.sql). Over random small worlds of conversations, statuses,
// blocks and settings, both must give what the rule says, so one cannot drift from the other.
import { afterAll, beforeAll, expect, test } from "bun:test";
import fc from "fast-check";
import { users as uq } from "../src/db/queries.ts";
import type { Sql } from "../src/db/client.ts";
import { startServer, type TestServer } from "./helpers/server.ts";

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.stop());

const PEOPLE = 4;

const world = fc.record({
  // Each conversation: who is in it, and whether each has accepted it or it is still a request.
  threads: fc.array(
    fc.uniqueArray(fc.record({ person: fc.nat(PEOPLE - 1), status: fc.constantFrom("active", "request") }), {
      minLength: 2,
      maxLength: PEOPLE,
      selector: (m) => m.person,
    }),
    { maxLength: 3 },
  ),
  blocks: fc.uniqueArray(fc.tuple(fc.nat(PEOPLE - 1), fc.nat(PEOPLE - 1)).filter(([a, b]) => a !== b), {
    maxLength: 4,
    selector: ([a, b]) => `${a}:${b}`,
  }),
  showPresence: fc.array(fc.boolean(), { minLength: PEOPLE, maxLength: PEOPLE }),
});
type World = typeof world extends fc.Arbitrary<infer W> ? W : never;

/** The rule, written once more in plain code: a shared conversation both accepted, no block either way. */
function contactsOf(w: World, me: number): Set<number> {
  const out = new Set<number>();
  for (const members of w.threads) {
    if (!members.some((m) => m.person === me && m.status === "active")) continue;
    for (const other of members) {
      if (other.person === me || other.status !== "active") continue;
      if (w.blocks.some(([a, b]) => (a === me && b === other.person) || (a === other.person && b === me))) continue;
      out.add(other.person);
    }
  }
  return out;
}

class RollBack extends Error {}
let run = 0;

async function withWorld(w: World, check: (tx: Sql, ids: number[]) => Promise<void>): Promise<void> {
  const prefix = `ct${Date.now().toString(36)}${run++}`;
  await server.running.core.db
    .transaction(async (tx) => {
      const ids: number[] = [];
      for (let i = 0; i < PEOPLE; i++) {
        const [row] = await tx.query<{ id: number }>("INSERT INTO users (username, password_hash, show_presence) VALUES ($1, 'x', $2) RETURNING id", [
          `${prefix}_${i}`,
          w.showPresence[i],
        ]);
        ids.push(row!.id);
      }
      for (const members of w.threads) {
        const [thread] = await tx.query<{ id: number }>("INSERT INTO threads (kind) VALUES ('group') RETURNING id");
        for (const m of members) {
          await tx.query("INSERT INTO thread_members (thread_id, user_id, status) VALUES ($1, $2, $3)", [thread!.id, ids[m.person], m.status]);
        }
      }
      for (const [a, b] of w.blocks) await tx.query("INSERT INTO blocks (blocker_id, blocked_id) VALUES ($1, $2)", [ids[a], ids[b]]);
      await check(tx, ids);
      throw new RollBack();
    })
    .catch((err) => {
      if (!(err instanceof RollBack)) throw err;
    });
}

test("a person's contacts, all at once and a few at a time, are those the rule says", async () => {
  await fc.assert(
    fc.asyncProperty(world, fc.nat(PEOPLE - 1), fc.oneof(fc.constant([...Array(PEOPLE).keys()]), fc.subarray([...Array(PEOPLE).keys()])), async (w, me, asked) => {
      await withWorld(w, async (tx, ids) => {
        const index = (id: number) => ids.indexOf(id);
        const expected = contactsOf(w, me);
        const all = await uq.contacts(tx, [ids[me]!], false);
        expect(new Set(all.map((r) => index(r.userId)))).toEqual(expected);
        expect(all.length).toBe(expected.size);
        // Everyone's at once, asked twice over: each person's own, once each; with onlyShown,
        // only the contacts of those who show their presence.
        for (const onlyShown of [false, true]) {
          const everyone = await uq.contacts(tx, [...ids, ...ids], onlyShown);
          for (let p = 0; p < PEOPLE; p++) {
            const theirs = everyone.filter((r) => r.of === ids[p]).map((r) => index(r.userId));
            expect(new Set(theirs)).toEqual(onlyShown && !w.showPresence[p] ? new Set() : contactsOf(w, p));
            expect(theirs.length).toBe(new Set(theirs).size);
          }
        }
        // Asking about some people (the person themselves among them, perhaps, and twice over):
        // those of them who are contacts and show their presence.
        const visible = (await uq.presenceVisible(tx, ids[me]!, [...asked, ...asked].map((i) => ids[i]!))).map((r) => index(r.id));
        expect(new Set(visible)).toEqual(new Set(asked.filter((i) => expected.has(i) && w.showPresence[i])));
        expect(visible.length).toBe(new Set(visible).size);
      });
    }),
    { numRuns: 150 },
  );
});
