// Seeds a benchmark's people, conversations and sessions straight through Parley's own data
// layer, before the server starts (PGlite allows one process at a time): signing up ten
// thousand people through the API would spend minutes in argon2, which is not what is measured.
import type { Config } from "../src/config.ts";
import { connectPostgres, openEmbedded, type Db } from "../src/db/client.ts";
import { migrate } from "../src/db/migrate.ts";
import { schema, threads as tq, users as uq } from "../src/db/queries.ts";
import { Sessions, databaseSessionStore, redisSessionStore } from "../src/auth/session.ts";
import { redisNames } from "../src/realtime/topics.ts";
import { MessageWriter } from "../src/chat/writer.ts";
import Redis from "ioredis";
import { progress } from "./progress.ts";

export interface BenchPerson {
  id: number;
  username: string;
  token: string;
}

export interface Seeded {
  people: BenchPerson[];
  /** pairs[i] = [sender, receiver, threadId] */
  pairs: [number, number, number][];
  group: { threadId: number; members: number[] };
  /** The reader of the pages scenario: 100 conversations, one of them 1,000 messages long. */
  reader: { person: number; longThread: number };
}

export interface SeedPlan {
  people: number;
  pairs: number;
  groupMembers: number;
  listThreads: number;
  history: number;
}

export async function openDb(config: Config): Promise<Db> {
  return config.databaseUrl ? connectPostgres(config.databaseUrl) : openEmbedded(config.dataDir);
}

export async function seed(config: Config, plan: SeedPlan): Promise<Seeded> {
  const db = await openDb(config);
  await migrate(db);
  const redis = config.redisUrl ? new Redis(config.redisUrl) : null;
  const [installation] = await schema.installation(db);
  const sessions = new Sessions(redis ? redisSessionStore(redis, redisNames(installation!.id)) : databaseSessionStore(db));
  const hash = await Bun.password.hash("bench-password");
  const tag = Date.now().toString(36);

  const people: BenchPerson[] = [];
  const step = progress("seeding people", plan.people);
  for (let i = 0; i < plan.people; i += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, plan.people - i) }, async (_, k) => {
        const [user] = await uq.insert(db, `b${tag}_${i + k}`, hash);
        const { token } = await sessions.create(user!);
        return { id: user!.id, username: user!.username, token };
      }),
    );
    people.push(...batch);
    step(people.length);
  }

  // 1:1 threads both sides accepted (they are not message requests).
  const direct = async (a: number, b: number) => {
    const [low, high] = people[a]!.id < people[b]!.id ? [people[a]!, people[b]!] : [people[b]!, people[a]!];
    const [row] = await tq.insertDirect(db, `${low.id}:${high.id}`, people[a]!.id, people[b]!.id);
    await tq.accept(db, row!.id, people[b]!.id);
    return row!.id;
  };
  const pairs: [number, number, number][] = [];
  const pairStep = progress("seeding 1:1 threads", plan.pairs);
  for (let i = 0; i < plan.pairs; i++) {
    pairs.push([2 * i, 2 * i + 1, await direct(2 * i, 2 * i + 1)]);
    if (i % 50 === 49) pairStep(i + 1);
  }
  pairStep(plan.pairs);

  const members = Array.from({ length: plan.groupMembers }, (_, i) => i);
  const [group] = await tq.insertGroup(db, "bench group", people[0]!.id, members.slice(1).map((i) => people[i]!.id));
  for (const i of members) await tq.accept(db, group!.id, people[i]!.id);

  // The reader: threads with the last people, and one long history.
  const reader = plan.people - 1;
  const threads: number[] = [];
  const partnerOf: number[] = [];
  for (let k = 0; k < plan.listThreads; k++) {
    threads.push(await direct(reader, plan.people - 2 - k));
    partnerOf.push(plan.people - 2 - k);
  }
  const ref = (i: number) => ({ id: people[i]!.id, username: people[i]!.username });
  const writer = new MessageWriter(db, () => {});
  const historyStep = progress("seeding history", plan.history);
  const them = ref(partnerOf[0]!);
  const me = ref(reader);
  for (let i = 0; i < plan.history; i += 100) {
    await Promise.all(
      Array.from({ length: Math.min(100, plan.history - i) }, (_, k) =>
        writer.write({ threadId: threads[0]!, sender: (i + k) % 3 ? them : me, text: `history message ${i + k}: ${"lorem ipsum ".repeat(4)}`, clientId: null }),
      ),
    );
    historyStep(Math.min(plan.history, i + 100));
  }
  // A last message in every other thread, so the list shows previews and counts.
  await Promise.all(threads.slice(1).map((threadId, k) => writer.write({ threadId, sender: ref(partnerOf[k + 1]!), text: `hello ${k}`, clientId: null })));

  await redis?.quit();
  await db.close();
  return { people, pairs, group: { threadId: group!.id, members }, reader: { person: reader, longThread: threads[0]! } };
}
