// /api/v1: signing up, in and out, and who is asking.
import { Elysia, t } from "elysia";
import type { Core } from "../core.ts";
import { logIn, signUp } from "../chat/accounts.ts";
import { expiredSessionCookie, requireSession, startSession, SESSION_COOKIE } from "../web/auth.ts";
import { apiContext } from "./context.ts";
import { clientAddress } from "../web/address.ts";

const credentials = t.Object({ username: t.Unknown(), password: t.Unknown() });

export function accountRoutes(core: Core) {
  return new Elysia()
    .use(apiContext(core))
    .post(
      "/signup",
      async ({ body, request, cookie, auth, set, server }) => {
        const user = await signUp(core, body, clientAddress(request, server));
        const token = await startSession(core, request, cookie[SESSION_COOKIE]!, user, auth.session);
        set.status = 201;
        return { user, token };
      },
      { body: credentials },
    )
    .post(
      "/login",
      async ({ body, request, cookie, auth, server }) => {
        const user = await logIn(core, body, clientAddress(request, server));
        const token = await startSession(core, request, cookie[SESSION_COOKIE]!, user, auth.session);
        return { user, token };
      },
      { body: credentials },
    )
    .post("/logout", async ({ auth, cookie, request, set }) => {
      await core.sessions.invalidate(requireSession(auth));
      cookie[SESSION_COOKIE]!.set(expiredSessionCookie(request));
      set.status = 204;
    })
    // "Log out everywhere": every session of this person, on every device and instance.
    .post("/logout-all", async ({ auth, cookie, request, set }) => {
      await core.sessions.invalidateAll(requireSession(auth).user.id);
      cookie[SESSION_COOKIE]!.set(expiredSessionCookie(request));
      set.status = 204;
    })
    .get("/me", ({ auth }) => ({ user: requireSession(auth).user }));
}
