// Signing up and logging in. The rules for names and passwords live here and nowhere else.
import type { Db } from "../db/client.ts";
import type { Core } from "../core.ts";
import { LIMITS } from "../auth/rate-limit.ts";
import { users } from "../db/queries.ts";
import { AppError } from "../errors.ts";
import { hashPassword, verifyPassword } from "../auth/password.ts";
import type { SessionUser } from "../auth/session.ts";

export const USERNAME = /^[A-Za-z0-9_.-]{3,32}$/;
const USERNAME_MAX = 32;
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 256;

export function checkUsername(username: unknown): string {
  if (typeof username !== "string" || !USERNAME.test(username)) {
    throw new AppError("invalid_username", "A username is 3–32 characters: letters, digits, _ . and -.", { field: "username" });
  }
  return username;
}

export function checkPassword(password: unknown): string {
  // Counted in characters (code points), as a person counts them.
  const length = typeof password === "string" ? [...password].length : 0;
  if (typeof password !== "string" || length < PASSWORD_MIN || length > PASSWORD_MAX) {
    throw new AppError("invalid_password", `A password is ${PASSWORD_MIN}–${PASSWORD_MAX} characters.`, { field: "password" });
  }
  return password;
}

export async function signUp(core: Core, input: { username: unknown; password: unknown }, address: string): Promise<SessionUser> {
  const username = checkUsername(input.username);
  const password = checkPassword(input.password);
  await core.limits.check(LIMITS.signupPerAddress, address);
  const [user] = await users.insert(core.db, username, await hashPassword(password));
  if (!user) throw new AppError("username_taken", "That username is taken.", { field: "username" });
  return user;
}

export async function logIn(core: Core, input: { username: unknown; password: unknown }, address: string): Promise<SessionUser> {
  const invalid = new AppError("invalid_credentials", "Invalid username or password.");
  if (typeof input.username !== "string" || typeof input.password !== "string") throw invalid;
  // Longer than any valid name or password: refused before spending a hash on it.
  if (input.username.length > USERNAME_MAX || [...input.password].length > PASSWORD_MAX) throw invalid;
  // Every attempt counts, for the address and for the account (whether or not it exists, so
  // the limit itself says nothing about which names are real).
  await core.limits.check(LIMITS.loginPerAddress, address);
  await core.limits.check(LIMITS.loginPerAccount, input.username.toLowerCase());
  const [user] = USERNAME.test(input.username) ? await users.findByUsername(core.db, input.username) : [];
  const ok = await verifyPassword(input.password, user?.passwordHash ?? null);
  if (!user || !ok) throw invalid;
  return { id: user.id, username: user.username };
}

export async function findUser(db: Db, username: string): Promise<SessionUser | null> {
  if (!USERNAME.test(username)) return null;
  const [user] = await users.findByUsername(db, username);
  return user ? { id: user.id, username: user.username } : null;
}
