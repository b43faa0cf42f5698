// The typed layer over sql/: every query Parley runs, one file each, named here with the
// types of its parameters and rows. The files are imported as text so the compiled binary
// carries them; nothing builds SQL from strings.
import type { Sql } from "./client.ts";

import schemaLock from "../../sql/queries/schema/lock.sql" with { type: "text" };
import schemaLedger from "../../sql/queries/schema/ledger.sql" with { type: "text" };
import schemaApplied from "../../sql/queries/schema/applied.sql" with { type: "text" };
import schemaRecord from "../../sql/queries/schema/record.sql" with { type: "text" };
import schemaInstallation from "../../sql/queries/schema/installation.sql" with { type: "text" };
import usersInsert from "../../sql/queries/users/insert.sql" with { type: "text" };
import usersFindByUsername from "../../sql/queries/users/find_by_username.sql" with { type: "text" };
import usersFindById from "../../sql/queries/users/find_by_id.sql" with { type: "text" };
import sessionsInsert from "../../sql/queries/sessions/insert.sql" with { type: "text" };
import sessionsFind from "../../sql/queries/sessions/find.sql" with { type: "text" };
import sessionsExtend from "../../sql/queries/sessions/extend.sql" with { type: "text" };
import sessionsDelete from "../../sql/queries/sessions/delete.sql" with { type: "text" };
import sessionsDeleteForUser from "../../sql/queries/sessions/delete_for_user.sql" with { type: "text" };
import sessionsDeleteExpired from "../../sql/queries/sessions/delete_expired.sql" with { type: "text" };
import threadsFindDirect from "../../sql/queries/threads/find_direct.sql" with { type: "text" };
import threadsInsertDirect from "../../sql/queries/threads/insert_direct.sql" with { type: "text" };
import threadsForMember from "../../sql/queries/threads/for_member.sql" with { type: "text" };
import threadsIsMember from "../../sql/queries/threads/is_member.sql" with { type: "text" };
import threadsLastSeq from "../../sql/queries/threads/last_seq.sql" with { type: "text" };
import threadsMarkRead from "../../sql/queries/threads/mark_read.sql" with { type: "text" };
import messagesLockThreads from "../../sql/queries/messages/lock_threads.sql" with { type: "text" };
import messagesMembers from "../../sql/queries/messages/members.sql" with { type: "text" };
import messagesFindByClientIds from "../../sql/queries/messages/find_by_client_ids.sql" with { type: "text" };
import messagesInsertBatch from "../../sql/queries/messages/insert_batch.sql" with { type: "text" };
import messagesAdvanceThreads from "../../sql/queries/messages/advance_threads.sql" with { type: "text" };
import messagesPageBefore from "../../sql/queries/messages/page_before.sql" with { type: "text" };
import messagesPageAfter from "../../sql/queries/messages/page_after.sql" with { type: "text" };
import messagesCountBySender from "../../sql/queries/messages/count_by_sender.sql" with { type: "text" };

type Query<P extends readonly unknown[], R> = (db: Sql, ...params: P) => Promise<R[]>;

function query<P extends readonly unknown[], R>(text: string): Query<P, R> {
  return (db, ...params) => db.query<R>(text, params);
}

export interface UserRow {
  id: number;
  username: string;
}
export interface UserWithPasswordRow extends UserRow {
  passwordHash: string;
}
export interface SessionRow {
  id: string;
  secretHash: Uint8Array;
  expiresAt: string;
  userId: number;
  username: string;
}
export interface ThreadRow {
  id: number;
  kind: "direct" | "group";
  title: string | null;
  lastSeq: number;
  lastMessageAt: string | null;
  readSeq: number;
  readAt: string | null;
  joinedAt: string;
  unread: number;
  participants: UserRow[];
  lastText: string | null;
  lastSenderId: number | null;
}
export interface MessageRow {
  id: number;
  threadId: number;
  seq: number;
  senderId: number;
  text: string;
  clientId: string | null;
  createdAt: string;
}
export interface MessageWithSenderRow extends MessageRow {
  senderName: string;
}

export const schema = {
  lock: query<[key: number], never>(schemaLock),
  ledger: query<[], never>(schemaLedger),
  applied: query<[version: number], { version: number }>(schemaApplied),
  record: query<[version: number, name: string], never>(schemaRecord),
  installation: query<[], { id: string }>(schemaInstallation),
};

export const users = {
  insert: query<[username: string, passwordHash: string], UserRow>(usersInsert),
  findByUsername: query<[username: string], UserWithPasswordRow>(usersFindByUsername),
  findById: query<[id: number], UserRow>(usersFindById),
};

export const sessions = {
  insert: query<[id: string, secretHash: Uint8Array, userId: number, expiresAt: string], never>(sessionsInsert),
  find: query<[id: string], SessionRow>(sessionsFind),
  extend: query<[id: string, expiresAt: string], never>(sessionsExtend),
  delete: query<[id: string], never>(sessionsDelete),
  deleteForUser: query<[userId: number], never>(sessionsDeleteForUser),
  deleteExpired: query<[], never>(sessionsDeleteExpired),
};

export const threads = {
  findDirect: query<[directKey: string], { id: number }>(threadsFindDirect),
  insertDirect: query<[directKey: string, createdBy: number, memberIds: number[]], { id: number }>(threadsInsertDirect),
  forMember: query<[userId: number, threadId: number | null, limit: number, offset: number, changedSince: string | null], ThreadRow>(
    threadsForMember,
  ),
  isMember: query<[threadId: number, userId: number], { member: number }>(threadsIsMember),
  markRead: query<[threadId: number, userId: number, seq: number], { readSeq: number; previousReadSeq: number }>(threadsMarkRead),
  lastSeq: query<[threadId: number], { lastSeq: number }>(threadsLastSeq),
};

export const messages = {
  lockThreads: query<[threadIds: number[]], { id: number; kind: "direct" | "group"; title: string | null; lastSeq: number }>(messagesLockThreads),
  members: query<[threadIds: number[]], { threadId: number; userId: number }>(messagesMembers),
  findByClientIds: query<[threadIds: number[], senderIds: number[], clientIds: string[]], MessageRow>(messagesFindByClientIds),
  insertBatch: query<
    [threadIds: number[], seqs: number[], senderIds: number[], texts: string[], clientIds: (string | null)[]],
    MessageRow
  >(messagesInsertBatch),
  advanceThreads: query<[threadIds: number[], lastSeqs: number[]], never>(messagesAdvanceThreads),
  pageBefore: query<[threadId: number, beforeSeq: number, limit: number], MessageWithSenderRow>(messagesPageBefore),
  pageAfter: query<[threadId: number, afterSeq: number, limit: number], MessageWithSenderRow>(messagesPageAfter),
  countBySender: query<[threadId: number, fromSeq: number, toSeq: number], { senderId: number; n: number }>(messagesCountBySender),
};
