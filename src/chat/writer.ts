// Group commit for messages. Sends that arrive while a transaction is in flight wait and go
// together in the next one: one multi-row insert, one commit, however many senders. A lone
// send after a quiet spell is committed at once (after the current turn of the event loop,
// so a burst read together goes together).
//
// Each transaction is one statement, one round trip: parley_send (sql/migrations/
// 0006_send_function.sql) locks its threads (in id order), then checks membership and blocks
// under those locks, takes the next seqs and stores the rows, and commits as it returns; so
// seq order is commit order with no gaps.
// A clientId stored before (a retried send) is refused by its unique index; the transaction
// rolls back and the batch goes again, this time looking the stored messages up. A thread is
// never in two transactions at once: one sender's messages keep their order. Nothing is
// resolved before its transaction commits.
//
// Usually one transaction is in flight, started no more often than every MIN_GAP_MS under
// load: batches stay large and cheap. A second one starts only behind a backlog (SECOND_AT
// waiting sends), so the database and this process both keep busy when the sends come faster
// than one transaction at a time can take them.
import type { Db } from "../db/client.ts";
import { isUnavailable } from "../errors.ts";
import { messages as q, type MessageRow, type SendRow } from "../db/queries.ts";
import { AppError, notFound } from "../errors.ts";
import type { Message, ThreadHead, UserRef } from "../realtime/events.ts";

/** Transactions in flight at once; each holds a pool connection. */
const MAX_IN_FLIGHT = 2;
/** Waiting sends that justify a transaction beside the one in flight. */
const SECOND_AT = 200;
/** Rows per transaction: bounds the statement size and the lock time. */
const MAX_BATCH = 500;
/**
 * Under steady load, a transaction starts at most this long after the one before it started
 * (unless FULL_BATCH sends are waiting): each transaction costs the database about as much as
 * a few dozen rows, so fewer, fuller ones leave it more to spare. A send after a quiet spell
 * goes at once.
 */
const MIN_GAP_MS = 2;
const FULL_BATCH = 64;

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
  private pumpScheduled = false;
  /** When the last transaction started, and the timer waiting out MIN_GAP_MS after it. */
  private lastStart = -Infinity;
  private gapTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly db: Db,
    private readonly onCommit: (results: WriteResult[]) => void,
    private readonly log: (err: unknown) => void = () => {},
  ) {}

  write(request: WriteRequest): Promise<WriteResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ ...request, resolve, reject });
      // Not at once: the sends read in this turn of the event loop (a burst from many sockets
      // arrives together) go in one transaction, not a first one of one send and the rest behind it.
      if (!this.pumpScheduled) {
        this.pumpScheduled = true;
        setImmediate(this.scheduledPump);
      }
    });
  }

  private scheduledPump = (): void => {
    this.pumpScheduled = false;
    this.pump();
  };

  /** Resolves when every accepted write has been committed or refused (graceful shutdown). */
  drain(): Promise<void> {
    if (this.inFlight === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Starts what may start; says whether it started anything. */
  private pump(): boolean {
    let started = false;
    while (this.inFlight < MAX_IN_FLIGHT && this.queue.length > (this.inFlight === 0 ? 0 : SECOND_AT)) {
      if (this.inFlight === 0) {
        const wait = this.lastStart + MIN_GAP_MS - performance.now();
        if (wait > 0 && this.queue.length < FULL_BATCH) {
          this.gapTimer ??= setTimeout(() => {
            this.gapTimer = null;
            this.pump();
          }, wait);
          break;
        }
      }
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
      this.lastStart = performance.now();
      void this.flush(batch).then((publish) => {
        for (const id of threads) this.busyThreads.delete(id);
        this.inFlight--;
        this.unpublished.push(publish);
        // The next batch's statement goes out first (store() publishes this one once it has).
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
      // Once this batch's statement is sent (postgres.js writes it in setImmediate), the
      // batches before it are published.
      outcomes = await store(this.db, batch, lookUp, () => setImmediate(this.publish));
    } catch (err) {
      // A clientId already stored: a retried send. The transaction rolled back whole, so the
      // batch goes again, this time reading the stored messages under the locks first.
      if (!lookUp && isRetriedClientId(err)) return this.flush(batch, true);
      // The connection went while the statement was out: it may have committed, its answer
      // lost. Sends with a clientId go again, looking themselves up: stored once either way,
      // and answered and published as stored (or refused, if the database is still away). One
      // without a clientId cannot be told from a new send, so it hears of the failure.
      if (!lookUp && isUnavailable(err) && batch.some((r) => r.clientId !== null)) {
        const unknown = batch.filter((r) => r.clientId === null);
        const again = await this.flush(
          batch.filter((r) => r.clientId !== null),
          true,
        );
        return () => {
          again();
          for (const request of unknown) request.reject(unavailable());
        };
      }
      if (batch.length > 1 && isDataError(err)) {
        // One message the database will not take: try each alone, in order, one transaction
        // at a time, so it cannot sink the others or let them overtake each other.
        const each: (() => void)[] = [];
        for (const request of batch) each.push(await this.flush([request]));
        return () => each.forEach((publish) => publish());
      }
      const error = isDataError(err) ? new AppError("invalid_text", "The database refused this message's text.") : unavailable();
      if (!isUnavailable(err)) this.log(err);
      return () => batch.forEach((request) => request.reject(error));
    }
    return () => {
      // Retried sends are published again too: if the first publisher died before publishing,
      // this is how the message gets out; where it did get out, sequencers drop the repeat.
      try {
        this.onCommit(outcomes.flatMap((outcome) => ("ok" in outcome ? [outcome.ok] : [])));
      } catch (err) {
        // Stored is stored: the senders hear so whatever a listener did, and drain() still ends.
        this.log(err);
      }
      outcomes.forEach((outcome, i) => {
        if ("ok" in outcome) batch[i]!.resolve(outcome.ok);
        else batch[i]!.reject(outcome.error);
      });
    };
  }
}

/**
 * One statement, its own transaction: the thread locks, then every send's fate decided and the
 * new ones stored under those locks (sql/queries/messages/send.sql). A failure (a retried
 * clientId, a text the database refuses) takes all of it back and rejects with its own error.
 * lookUp: look for messages already stored under the batch's clientIds. Almost every send is
 * new, so a batch first goes without; the unique index on clientIds refuses a retried one,
 * and the batch goes again with the lookup (see flush).
 */
async function store(db: Db, batch: Pending[], lookUp: boolean, sent: () => void): Promise<Outcome[]> {
  const answers = q.send(
    db,
    batch.map((r) => r.threadId),
    batch.map((r) => r.sender.id),
    batch.map((r) => r.text),
    batch.map((r) => r.clientId),
    lookUp,
  );
  sent(); // on its way
  const rows = await answers;

  const threads = new Map<number, { kind: "direct" | "group"; title: string | null; members: number[] }>();
  const firstInsert = new Map<string, { row: SendRow; text: string }>();
  const sameKey = (r: Pending) => `${r.threadId}:${r.sender.id}:${r.clientId}`;
  for (const row of rows) {
    const request = batch[row.i - 1]!;
    if (row.threadKind !== null) threads.set(request.threadId, { kind: row.threadKind, title: row.threadTitle, members: row.members ?? [] });
    if (row.fate === "insert" && request.clientId !== null) firstInsert.set(sameKey(request), { row, text: request.text });
  }
  return rows.map((row): Outcome => {
    const request = batch[row.i - 1]!;
    switch (row.fate) {
      case "not_found":
        return { error: notFound() };
      // In a 1:1, someone the other side blocked cannot write to them; they are told only that
      // it could not be delivered, not why. Nor can the one who blocked write into it (it is
      // their own block, so they are told).
      case "undeliverable":
        return { error: new AppError("undeliverable", "The message could not be delivered.") };
      case "not_allowed":
        return { error: new AppError("not_allowed", "You blocked this person. Unblock them in your settings to write to them.") };
    }
    // "same" is answered with the row its first copy stored, "stored" with the earlier one.
    const same = row.fate === "same" ? firstInsert.get(sameKey(request))! : null;
    const stored = same?.row ?? row;
    const message = toMessage(
      {
        id: stored.id!,
        threadId: request.threadId,
        seq: stored.seq!,
        senderId: request.sender.id,
        text: same?.text ?? row.storedText ?? request.text,
        clientId: request.clientId,
        createdAt: stored.createdAt!,
        kind: "text",
        event: null,
      },
      request.sender,
    );
    const thread = threads.get(request.threadId)!;
    return {
      ok: {
        message,
        created: row.fate === "insert",
        thread: { id: request.threadId, kind: thread.kind, title: thread.title, lastSeq: message.seq, lastMessageAt: message.createdAt },
        members: thread.members,
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

function unavailable(): AppError {
  return new AppError("unavailable", "The message could not be stored just now. Send it again with the same clientId: it is stored once.");
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
