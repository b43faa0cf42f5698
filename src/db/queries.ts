// The typed layer over sql/: every query Parley runs, one file each, named here with the
// types of its parameters and rows. The files are imported as text so the compiled binary
// carries them; nothing builds SQL from strings.
import type { Sql } from "./client.ts";
import type { SystemEvent } from "../realtime/events.ts";

import blocksBetween from "../../sql/queries/blocks/between.sql" with { type: "text" };
import blocksDelete from "../../sql/queries/blocks/delete.sql" with { type: "text" };
import blocksInsert from "../../sql/queries/blocks/insert.sql" with { type: "text" };
import blocksList from "../../sql/queries/blocks/list.sql" with { type: "text" };
import blocksBlockedIds from "../../sql/queries/blocks/blocked_ids.sql" with { type: "text" };
import blocksBlockersAmong from "../../sql/queries/blocks/blockers_among.sql" with { type: "text" };
import messagesCountBySender from "../../sql/queries/messages/count_by_sender.sql" with { type: "text" };
import messagesStoreSystemLine from "../../sql/queries/messages/store_system_line.sql" with { type: "text" };
import messagesSend from "../../sql/queries/messages/send.sql" with { type: "text" };
import messagesPageAfter from "../../sql/queries/messages/page_after.sql" with { type: "text" };
import messagesPageBefore from "../../sql/queries/messages/page_before.sql" with { type: "text" };
import schemaApplied from "../../sql/queries/schema/applied.sql" with { type: "text" };
import schemaInstallation from "../../sql/queries/schema/installation.sql" with { type: "text" };
import schemaLedger from "../../sql/queries/schema/ledger.sql" with { type: "text" };
import schemaLock from "../../sql/queries/schema/lock.sql" with { type: "text" };
import schemaRecord from "../../sql/queries/schema/record.sql" with { type: "text" };
import schemaVacuum from "../../sql/queries/schema/vacuum.sql" with { type: "text" };
import sessionsDelete from "../../sql/queries/sessions/delete.sql" with { type: "text" };
import sessionsDeleteExpired from "../../sql/queries/sessions/delete_expired.sql" with { type: "text" };
import sessionsDeleteForUser from "../../sql/queries/sessions/delete_for_user.sql" with { type: "text" };
import sessionsExtend from "../../sql/queries/sessions/extend.sql" with { type: "text" };
import sessionsFind from "../../sql/queries/sessions/find.sql" with { type: "text" };
import sessionsInsert from "../../sql/queries/sessions/insert.sql" with { type: "text" };
import threadsAccept from "../../sql/queries/threads/accept.sql" with { type: "text" };
import threadsAddMember from "../../sql/queries/threads/add_member.sql" with { type: "text" };
import threadsFindDirect from "../../sql/queries/threads/find_direct.sql" with { type: "text" };
import threadsForMember from "../../sql/queries/threads/for_member.sql" with { type: "text" };
import threadsInsertDirect from "../../sql/queries/threads/insert_direct.sql" with { type: "text" };
import threadsInsertGroup from "../../sql/queries/threads/insert_group.sql" with { type: "text" };
import threadsHandOver from "../../sql/queries/threads/hand_over.sql" with { type: "text" };
import threadsIsMember from "../../sql/queries/threads/is_member.sql" with { type: "text" };
import threadsLastSeq from "../../sql/queries/threads/last_seq.sql" with { type: "text" };
import threadsLock from "../../sql/queries/threads/lock.sql" with { type: "text" };
import threadsMarkRead from "../../sql/queries/threads/mark_read.sql" with { type: "text" };
import threadsMemberIds from "../../sql/queries/threads/member_ids.sql" with { type: "text" };
import threadsReceipts from "../../sql/queries/threads/receipts.sql" with { type: "text" };
import threadsRemoveMember from "../../sql/queries/threads/remove_member.sql" with { type: "text" };
import threadsRename from "../../sql/queries/threads/rename.sql" with { type: "text" };
import threadsDirectWith from "../../sql/queries/threads/direct_with.sql" with { type: "text" };
import threadsListChanges from "../../sql/queries/threads/list_changes.sql" with { type: "text" };
import threadsAddedBy from "../../sql/queries/threads/added_by.sql" with { type: "text" };
import threadsRejoinSelf from "../../sql/queries/threads/rejoin_self.sql" with { type: "text" };
import threadsReadState from "../../sql/queries/threads/read_state.sql" with { type: "text" };
import usersFindById from "../../sql/queries/users/find_by_id.sql" with { type: "text" };
import usersFindByUsername from "../../sql/queries/users/find_by_username.sql" with { type: "text" };
import usersFindMany from "../../sql/queries/users/find_many.sql" with { type: "text" };
import usersContacts from "../../sql/queries/users/contacts.sql" with { type: "text" };
import usersInsert from "../../sql/queries/users/insert.sql" with { type: "text" };
import usersPresenceVisible from "../../sql/queries/users/presence_visible.sql" with { type: "text" };
import usersSettings from "../../sql/queries/users/settings.sql" with { type: "text" };
import usersUpdateSettings from "../../sql/queries/users/update_settings.sql" with { type: "text" };

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
export type MemberStatus = "active" | "request";

export interface ThreadRow {
  id: number;
  kind: "direct" | "group";
  title: string | null;
  createdBy: number | null;
  status: MemberStatus;
  lastSeq: number;
  lastMessageAt: string | null;
  readSeq: number;
  readAt: string | null;
  joinedAt: string;
  unread: number;
  participants: UserRow[];
  lastText: string | null;
  lastSenderId: number | null;
  lastKind: "text" | "system" | null;
  lastEvent: SystemEvent | null;
}
export interface MessageRow {
  id: number;
  threadId: number;
  seq: number;
  senderId: number;
  text: string;
  clientId: string | null;
  createdAt: string;
  kind: "text" | "system";
  event: SystemEvent | null;
}
export type SendFate = "not_found" | "undeliverable" | "not_allowed" | "stored" | "same" | "insert";
/** One send of a batch as parley_send decided it (sql/migrations/0006_send_function.sql). */
export interface SendRow {
  /** The send's place in the batch, from 1. */
  i: number;
  fate: SendFate;
  /** The stored message's, for "insert" and "stored". */
  id: number | null;
  seq: number | null;
  createdAt: string | null;
  /** The earlier message's text, for "stored". */
  storedText: string | null;
  /** On the first send of each thread only. */
  threadKind: "direct" | "group" | null;
  threadTitle: string | null;
  members: number[] | null;
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
  vacuum: query<[], never>(schemaVacuum),
};

export const users = {
  insert: query<[username: string, passwordHash: string], UserRow>(usersInsert),
  findByUsername: query<[username: string], UserWithPasswordRow>(usersFindByUsername),
  findById: query<[id: number], UserRow>(usersFindById),
  findMany: query<[usernames: string[]], UserRow>(usersFindMany),
  settings: query<[id: number], Settings>(usersSettings),
  updateSettings: query<[id: number, readReceipts: boolean | null, showPresence: boolean | null], Settings>(usersUpdateSettings),
  presenceVisible: query<[viewerId: number, ids: number[]], { id: number }>(usersPresenceVisible),
  contacts: query<[ids: number[], onlyShown: boolean], { of: number; userId: number }>(usersContacts),
};

export interface Settings {
  readReceipts: boolean;
  showPresence: boolean;
}

export const blocks = {
  insert: query<[blockerId: number, blockedId: number], never>(blocksInsert),
  delete: query<[blockerId: number, blockedId: number], never>(blocksDelete),
  list: query<[blockerId: number], UserRow>(blocksList),
  between: query<[a: number, b: number], { blockerId: number; blockedId: number }>(blocksBetween),
  blockedIds: query<[blockerId: number], { blockedId: number }>(blocksBlockedIds),
  blockersAmong: query<[blockedId: number, userIds: number[]], { blockerId: number }>(blocksBlockersAmong),
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
  insertDirect: query<[directKey: string, createdBy: number, otherId: number], { id: number }>(threadsInsertDirect),
  insertGroup: query<[title: string | null, createdBy: number, memberIds: number[]], { id: number }>(threadsInsertGroup),
  handOver: query<[threadId: number, leaverId: number], never>(threadsHandOver),
  forMember: query<
    [userId: number, threadId: number | null, limit: number, offset: number, changedSince: string | null, status: MemberStatus | null],
    ThreadRow
  >(threadsForMember),
  lock: query<[threadId: number, actorId: number], { id: number; kind: "direct" | "group"; title: string | null; createdBy: number | null; lastSeq: number }>(
    threadsLock,
  ),
  addMember: query<[threadId: number, userId: number, addedBy: number], { userId: number }>(threadsAddMember),
  removeMember: query<[threadId: number, userId: number], { userId: number }>(threadsRemoveMember),
  rename: query<[threadId: number, title: string], never>(threadsRename),
  memberIds: query<[threadId: number], { userId: number }>(threadsMemberIds),
  accept: query<[threadId: number, userId: number], { userId: number }>(threadsAccept),
  receipts: query<[threadId: number, viewerId: number], { readSeq: number }>(threadsReceipts),
  directWith: query<[directKey: string, userId: number], { id: number; member: boolean }>(threadsDirectWith),
  listChanges: query<
    [userId: number, since: string],
    { id: number; kind: "direct" | "group"; title: string | null; lastSeq: number; lastMessageAt: string | null; listed: boolean }
  >(threadsListChanges),
  addedBy: query<[threadId: number, userId: number], { userId: number }>(threadsAddedBy),
  rejoinSelf: query<[threadId: number, userId: number], never>(threadsRejoinSelf),
  readState: query<
    [threadId: number, userId: number],
    { id: number; kind: "direct" | "group"; title: string | null; lastSeq: number; lastMessageAt: string | null; readSeq: number; unread: number; receipts: boolean }
  >(threadsReadState),
  isMember: query<[threadId: number, userId: number], { member: number }>(threadsIsMember),
  markRead: query<[threadId: number, userId: number, seq: number], { readSeq: number; previousReadSeq: number }>(threadsMarkRead),
  lastSeq: query<[threadId: number], { lastSeq: number }>(threadsLastSeq),
};

export const messages = {
  send: query<
    [threadIds: number[], senderIds: number[], texts: string[], clientIds: (string | null)[], lookUp: boolean],
    SendRow
  >(messagesSend),
  storeSystemLine: query<[threadId: number, seq: number, actorId: number, text: string, event: string], MessageRow>(messagesStoreSystemLine),
  pageBefore: query<[threadId: number, beforeSeq: number, limit: number, viewerId: number | null], MessageWithSenderRow>(messagesPageBefore),
  pageAfter: query<[threadId: number, afterSeq: number, limit: number, viewerId: number | null], MessageWithSenderRow>(messagesPageAfter),
  countBySender: query<[threadId: number, fromSeq: number, toSeq: number], { senderId: number; n: number }>(messagesCountBySender),
};
