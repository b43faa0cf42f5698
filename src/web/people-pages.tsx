// Other people and yourself: profiles (with block and unblock), settings, and the blocked list.
import { Elysia } from "elysia";
import type { Core } from "../core.ts";
import { findUser } from "../chat/accounts.ts";
import { block, blockedBy, unblock } from "../chat/blocks.ts";
import { presenceFor } from "../chat/presence.ts";
import { getSettings, updateSettings } from "../chat/settings.ts";
import { AppError } from "../errors.ts";
import { backTo, field, pageContext, signedIn } from "./page-context.ts";
import { ProfilePage } from "../../views/profile.tsx";
import { SettingsPage } from "../../views/settings.tsx";

export function peoplePages(core: Core) {
  return new Elysia()
    .use(pageContext(core))
    .get("/u/:username", async ({ ctx, session, params }) => {
      const me = signedIn(session);
      const user = await findUser(core.db, params.username);
      if (!user) throw new AppError("unknown_user", "There is nobody with that username.");
      const [blocked, presence] = await Promise.all([blockedBy(core, me), presenceFor(core, me, [user.id])]);
      return <ProfilePage ctx={ctx} user={user} blocked={blocked.some((b) => b.id === user.id)} presence={presence[0] ?? null} />;
    })
    .post("/blocks", async ({ session, body, redirect }) => {
      await block(core, signedIn(session), field(body, "username"));
      return redirect(backTo(body, "/settings"), 303);
    })
    .post("/blocks/:username/delete", async ({ session, params, body, redirect }) => {
      await unblock(core, signedIn(session), params.username);
      return redirect(backTo(body, "/settings"), 303);
    })
    .get("/settings", async ({ ctx, session, query }) => {
      const me = signedIn(session);
      const [settings, blocked] = await Promise.all([getSettings(core, me), blockedBy(core, me)]);
      return <SettingsPage ctx={ctx} settings={settings} blocked={blocked} saved={query.saved === "1"} />;
    })
    .post("/settings", async ({ session, body, redirect }) => {
      await updateSettings(core, signedIn(session), { readReceipts: field(body, "readReceipts") === "1", showPresence: field(body, "showPresence") === "1" });
      return redirect("/settings?saved=1", 303);
    });
}
