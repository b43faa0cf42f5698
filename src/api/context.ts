// What every /api/v1 route knows about its request: who is asking (session cookie or bearer
// token), and that a state-changing request did not come from a foreign page.
import { Elysia } from "elysia";
import type { Core } from "../core.ts";
import { AppError } from "../errors.ts";
import { fromOwnPage, isAllowedOrigin } from "../auth/origin.ts";
import { authenticate, SESSION_COOKIE } from "../web/auth.ts";

export function apiContext(core: Core) {
  return (
    new Elysia()
      .resolve({ as: "scoped" }, async ({ headers, cookie }) => ({
        auth: await authenticate(core, headers, cookie[SESSION_COOKIE]?.value as string | undefined),
      }))
      // A browser names the page that made a request in Origin. From a foreign page, nothing
      // that changes state is done: with a cookie it would act as the victim (CSRF), without
      // one it could log the victim into someone else's account (login CSRF).
      .onBeforeHandle({ as: "scoped" }, ({ request, auth }) => {
        if (request.method === "GET" || request.method === "HEAD") return;
        const origin = request.headers.get("origin");
        const foreign = origin !== null && !isAllowedOrigin(origin, request, core.config.allowedOrigins);
        if (foreign || (auth.via === "cookie" && !fromOwnPage(request, core.config.allowedOrigins))) {
          throw new AppError("forbidden", "Cross-origin request refused: it did not come from this site's pages.");
        }
      })
  );
}
