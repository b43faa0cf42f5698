// Bun.password's defaults are argon2id with 64 MiB and t=2: good, so they are kept.
// A login for a name that does not exist still verifies against a real hash, so the answer
// takes as long as a wrong password would and does not tell which names exist.

let decoy: Promise<string> | null = null;

export function hashPassword(password: string): Promise<string> {
  return Bun.password.hash(password);
}

export async function verifyPassword(password: string, hash: string | null): Promise<boolean> {
  if (hash === null) {
    decoy ??= Bun.password.hash("parley-decoy-password");
    await Bun.password.verify(password, await decoy);
    return false;
  }
  return Bun.password.verify(password, hash);
}
