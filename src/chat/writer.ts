// Group commit for messages. Sends that arrive while a transaction is in flight wait and go
// together in the next one: one multi-row insert, one commit, however many senders. An idle
// server still commits a lone message at once, so batching costs no latency when quiet.
//
// Each transaction locks its threads (in id order), checks membership under those locks,
// takes the next seqs and stores the rows, so seq order is commit order with no gaps. A
// clientId stored before (a retried send) is refused by its unique index; the transaction
// rolls back and the batch goes again, reading the stored messages first. A thread is never
// in two transactions at once: one sender's messages keep their order. Nothing is resolved
// before its transaction commits.
//
// Usually one transaction is in flight: batches stay large and cheap. A second one starts only
// behind a backlog (SECOND_AT waiting sends), so the database and this process both keep busy
// when the sends come faster than one transaction at a time can take them.
import type { Db, PipelinedTx } from "../db/client.ts";
import { isUnavailable } from "../errors.ts";
import { messages as q, threads as threadsQ, type MessageRow } from "../db/queries.ts";
import { AppError, notFound } from "../errors.ts";
import type { Message, ThreadHead, UserRef } from "../realtime/events.ts";

/** Transactions in flight at once; each holds a pool connection. */
const MAX_IN_FLIGHT = 2;
/** Waiting sends that justify a transaction beside the one in flight. */
const SECOND_AT = 200;
/** Rows per transaction: bounds the statement size and the lock time. */
const MAX_BATCH = 500;

export interface WriteRequest {
  threadId: number;
  sender: UserRef;
  text: string;
  clientId: string | null;
}

export interface WriteResult {
  message: Message;
  /** False when the clientId matched a message stored earlier: nothing new was stored. */
  created: boolean;
  /** The thread as this message left it. */
  thread: ThreadHead;
  /** Everyone in the thread when it committed: whose feeds hear of it. */
  members: readonly number[];
}

interface Pending extends WriteRequest {
  resolve(result: WriteResult): void;
  reject(error: unknown): void;
}

type Outcome = { ok: WriteResult } | { error: unknown };

export class MessageWriter {
  private queue: Pending[] = [];
  private inFlight = 0;
  private busyThreads = new Set<number>();
  private idleWaiters: (() => void)[] = [];
  /**
   * Committed batches not yet published and answered. Publishing a batch is real work (counters,
   * frames, the bus), and the next batch need not wait for it: it goes to the database first,
   * and the publishing happens while the database works on it.
   */
  private unpublished: (() => void)[] = [];

  constructor(
    private readonly db: Db,
    private readonly onCommit: (results: WriteResult[]) => void,
    private readonly log: (err: unknown) => void = () => {},
  ) {}

  write(request: WriteRequest): Promise<WriteResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ ...request, resolve, reject });
      this.pump();
    });
  }

  /** Resolves when every accepted write has been committed or refused (graceful shutdown). */
  drain(): Promise<void> {
    if (this.inFlight === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Starts what may start; says whether it started anything. */
  private pump(): boolean {
    let started = false;
    while (this.inFlight < MAX_IN_FLIGHT && this.queue.length > (this.inFlight === 0 ? 0 : SECOND_AT)) {
      const batch: Pending[] = [];
      const rest: Pending[] = [];
      for (const request of this.queue) {
        if (batch.length < MAX_BATCH && !this.busyThreads.has(request.threadId)) batch.push(request);
        else rest.push(request);
      }
      if (batch.length === 0) break;
      started = true;
      this.queue = rest;
      const threads = new Set(batch.map((r) => r.threadId));
      for (const id of threads) this.busyThreads.add(id);
      this.inFlight++;
      void this.flush(batch).then((publish) => {
        for (const id of threads) this.busyThreads.delete(id);
        this.inFlight--;
        this.unpublished.push(publish);
        // The next batch's statements go out first (store() publishes this one once they have).
        if (!this.pump()) this.publish();
        if (this.inFlight === 0 && this.queue.length === 0) for (const done of this.idleWaiters.splice(0)) done();
      });
    }
    return started;
  }

  /** Publishes and answers committed batches, in commit order. */
  private publish = (): void => {
    for (const publish of this.unpublished.splice(0)) publish();
  };

  /**
   * Stores a batch; resolves (never rejects) with what publishes and answers it: the committed
   * messages go out and their senders hear back, or the refused ones hear why.
   */
  private async flush(batch: Pending[], lookUp = false): Promise<() => void> {
    let outcomes: Outcome[];
    try {
      // Once this batch's statements are sent (postgres.js writes them in setImmediate), the
      // batches before it are published.
      outcomes = await this.db.pipelined((tx) => store(tx, batch, lookUp, () => setImmediate(this.publish)));
    } catch (err) {
      // A clientId already stored: a retried send. The transaction rolled back whole, so the
      // batch goes again, this time reading the stored messages under the locks first.
      if (!lookUp && isRetriedClientId(err)) return this.flush(batch, true);
      if (batch.length > 1 && isDataError(err)) {
        // One message the database will not take: try each alone, in order, one transaction
        // at a time, so it cannot sink the others or let them overtake each other.
        const each: (() => void)[] = [];
        for (const request of batch) each.push(await this.flush([request]));
        return () => each.forEach((publish) => publish());
      }
      const error = isDataError(err)
        ? new AppError("invalid_text", "The database refused this message's text.")
        : new AppError("unavailable", "The message could not be stored just now. Send it again with the same clientId: it is stored once.");
      if (!isUnavailable(err)) this.log(err);
      return () => batch.forEach((request) => request.reject(error));
    }
    return () => {
      // Retried sends are published again too: if the first publisher died before publishing,
      // this is how the message gets out; where it did get out, sequencers drop the repeat.
      this.onCommit(outcomes.flatMap((outcome) => ("ok" in outcome ? [outcome.ok] : [])));
      outcomes.forEach((outcome, i) => {
        if ("ok" in outcome) batch[i]!.resolve(outcome.ok);
        else batch[i]!.reject(outcome.error);
      });
    };
  }
}

/**
 * lookUp: read the messages already stored under the batch's clientIds. Almost every send is
 * new, so a batch first goes without that read: the unique index on clientIds refuses a
 * retried one, and the batch goes again with it (see flush).
 */
async function store(tx: PipelinedTx, batch: Pending[], lookUp: boolean, sent: () => void): Promise<Outcome[]> {
  const threadIds = [...new Set(batch.map((r) => r.threadId))];
  const retried = lookUp ? batch.filter((r) => r.clientId !== null) : [];
  // One round trip: the lock first, then what must be read under it. postgres.js pipelines
  // statements issued together on a transaction's connection, and PostgreSQL runs them in
  // the order sent, so the reads after the lock see the locked state.
  const reads = Promise.all([
    q.lockThreads(tx, threadIds),
    q.members(tx, threadIds),
    q.blockedSenders(tx, batch.map((r) => r.threadId), batch.map((r) => r.sender.id)),
    retried.length > 0
      ? q.findByClientIds(tx, retried.map((r) => r.threadId), retried.map((r) => r.sender.id), retried.map((r) => r.clientId!))
      : Promise.resolve([] as MessageRow[]),
  ]);
  sent(); // Promise.all has started them: they are on their way
  const [lockedRows, memberRows, blockedRows, earlierRows] = await reads;
  const locked = new Map(lockedRows.map((t) => [t.id, t]));
  const lastSeq = new Map(lockedRows.map((t) => [t.id, t.lastSeq]));
  const members = new Map<number, number[]>();
  const requested = new Set<string>();
  for (const m of memberRows) {
    const list = members.get(m.threadId);
    if (list) list.push(m.userId);
    else members.set(m.threadId, [m.userId]);
    if (m.status === "request") requested.add(`${m.threadId}:${m.userId}`);
  }
  // In a 1:1, someone the other side blocked cannot write to them; they are told only that it
  // could not be delivered, not why. Nor can the one who blocked write into it (it is their
  // own block, so they are told).
  const blockFate = new Map(blockedRows.map((b) => [`${b.threadId}:${b.senderId}`, b.blocked]));
  const blockError = (request: Pending) => {
    const blocked = blockFate.get(`${request.threadId}:${request.sender.id}`);
    if (blocked === undefined) return null;
    return blocked
      ? new AppError("undeliverable", "The message could not be delivered.")
      : new AppError("not_allowed", "You blocked this person. Unblock them in your settings to write to them.");
  };
  const earlier = new Map(earlierRows.map((row) => [`${row.threadId}:${row.senderId}:${row.clientId}`, row]));

  // Decide each request's fate; inserts get the next seqs of their thread in queue order.
  type Fate = { insert: number } | { same: string } | { stored: MessageRow } | { error: unknown };
  const fate: Fate[] = [];
  const inserts: { request: Pending; seq: number }[] = [];
  const inBatch = new Map<string, number>();
  for (const request of batch) {
    if (!locked.has(request.threadId) || !members.get(request.threadId)?.includes(request.sender.id)) {
      fate.push({ error: notFound() });
      continue;
    }
    const blocked = blockError(request);
    if (blocked) {
      fate.push({ error: blocked });
      continue;
    }
    const key = request.clientId === null ? null : `${request.threadId}:${request.sender.id}:${request.clientId}`;
    const stored = key === null ? undefined : earlier.get(key);
    if (stored) {
      fate.push({ stored });
    } else if (key !== null && inBatch.has(key)) {
      fate.push({ same: key }); // the same send twice in one batch: one row, both answered with it
    } else {
      const seq = lastSeq.get(request.threadId)! + 1;
      lastSeq.set(request.threadId, seq);
      if (key !== null) inBatch.set(key, inserts.length);
      fate.push({ insert: inserts.length });
      inserts.push({ request, seq });
    }
  }

  let rowOf = (_index: number): MessageRow => {
    throw new Error("no rows inserted");
  };
  if (inserts.length === 0) {
    await tx.commit();
  } else {
    // Everything left is decided already, so it goes in one round trip with the COMMIT.
    const stored = q.storeBatch(
      tx,
      inserts.map((i) => i.request.threadId),
      inserts.map((i) => i.seq),
      inserts.map((i) => i.request.sender.id),
      inserts.map((i) => i.request.text),
      inserts.map((i) => i.request.clientId),
      inserts.map(() => "text"),
      inserts.map(() => null),
    );
    // A 1:1 whose other side declined it (and left) comes back to them as a new request.
    const rejoined = [...new Set(inserts.map((i) => i.request.threadId))]
      .filter((id) => locked.get(id)!.kind === "direct" && members.get(id)!.length < 2)
      .map(async (id) => ({ id, rows: await threadsQ.rejoinDirect(tx, id) }));
    // Answering a message request accepts it.
    const accepted = [...new Set(inserts.map((i) => `${i.request.threadId}:${i.request.sender.id}`))]
      .filter((key) => requested.has(key))
      .map((key) => {
        const [threadId, userId] = key.split(":").map(Number) as [number, number];
        return threadsQ.accept(tx, threadId, userId);
      });
    const committed = tx.commit();
    // Answers come in the order sent, so a statement that fails rejects this with its own error
    // (a retried clientId, a text the database refuses) before COMMIT answers "rolled back".
    const [rows, rejoins] = await Promise.all([stored, Promise.all(rejoined), Promise.all(accepted), committed]);
    for (const { id, rows: back } of rejoins) for (const { userId } of back) members.get(id)!.push(userId);
    const bySeq = new Map(rows.map((row) => [`${row.threadId}:${row.seq}`, row]));
    rowOf = (index) => bySeq.get(`${inserts[index]!.request.threadId}:${inserts[index]!.seq}`)!;
  }

  return fate.map((f, i): Outcome => {
    if ("error" in f) return f;
    const request = batch[i]!;
    const row = "insert" in f ? rowOf(f.insert) : "same" in f ? rowOf(inBatch.get(f.same)!) : f.stored;
    const t = locked.get(request.threadId)!;
    return {
      ok: {
        message: toMessage(row, request.sender),
        created: "insert" in f,
        thread: { id: t.id, kind: t.kind, title: t.title, lastSeq: row.seq, lastMessageAt: row.createdAt },
        members: members.get(request.threadId)!,
      },
    };
  });
}

export function toMessage(row: MessageRow, sender: UserRef): Message {
  return {
    id: row.id,
    threadId: row.threadId,
    seq: row.seq,
    sender: { id: sender.id, username: sender.username },
    text: row.text,
    createdAt: row.createdAt,
    clientId: row.clientId,
    kind: row.kind,
    event: row.event,
  };
}

/** The unique index on (thread, sender, clientId) refused a row: that send was stored before. */
function isRetriedClientId(err: unknown): boolean {
  // postgres.js names the constraint constraint_name, PGlite constraint.
  const e = err as { code?: unknown; constraint_name?: unknown; constraint?: unknown } | null;
  return e?.code === "23505" && (e.constraint_name ?? e.constraint) === "messages_client_id_key";
}

/** SQLSTATE classes 22 (data exception) and 23 (constraint): this row, not the database. */
function isDataError(err: unknown): boolean {
  const code = String((err as { code?: unknown } | null)?.code ?? "");
  return code.startsWith("22") || code.startsWith("23");
}
