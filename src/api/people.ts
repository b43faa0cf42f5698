// /api/v1: other people (profiles, presence), whom you blocked, and your settings.
import { Elysia, t } from "elysia";
import type { Core } from "../core.ts";
import { findUser } from "../chat/accounts.ts";
import { block, blockedBy, unblock } from "../chat/blocks.ts";
import { presenceFor } from "../chat/presence.ts";
import { getSettings, updateSettings } from "../chat/settings.ts";
import { AppError } from "../errors.ts";
import { requireSession } from "../web/auth.ts";
import { apiContext } from "./context.ts";

export function peopleRoutes(core: Core) {
  return new Elysia()
    .use(apiContext(core))
    .get("/users/:username", async ({ auth, params }) => {
      const me = requireSession(auth).user;
      const user = await findUser(core.db, params.username);
      if (!user) throw new AppError("unknown_user", "There is nobody with that username.");
      const blocked = (await blockedBy(core, me)).some((b) => b.id === user.id);
      const [presence] = await presenceFor(core, me, [user.id]);
      return { user, blocked, presence: presence ?? null };
    })
    .get("/blocks", async ({ auth }) => ({ blocked: await blockedBy(core, requireSession(auth).user) }))
    .post(
      "/blocks",
      async ({ auth, body, set }) => {
        await block(core, requireSession(auth).user, body.username);
        set.status = 204;
      },
      { body: t.Object({ username: t.Unknown() }) },
    )
    .delete("/blocks/:username", async ({ auth, params, set }) => {
      await unblock(core, requireSession(auth).user, params.username);
      set.status = 204;
    })
    .get("/settings", async ({ auth }) => ({ settings: await getSettings(core, requireSession(auth).user) }))
    .patch(
      "/settings",
      async ({ auth, body }) => ({ settings: await updateSettings(core, requireSession(auth).user, body) }),
      { body: t.Object({ readReceipts: t.Optional(t.Unknown()), showPresence: t.Optional(t.Unknown()) }) },
    );
}
