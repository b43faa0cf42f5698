// The page for an error that escaped a page route. It is rendered from the request alone:
// no session lookup, since the error may be that the database or Redis is away.
import type { AppError } from "../errors.ts";
import { isLang, locale, negotiate } from "../i18n/index.ts";
import { ErrorPage } from "../../views/error.tsx";

function cookie(request: Request, name: string): string | undefined {
  const match = request.headers.get("cookie")?.match(new RegExp(`(?:^|;\\s*)${name}=([^;]*)`));
  return match?.[1];
}

export function errorPage(request: Request, err: AppError): string {
  const lang = cookie(request, "lang");
  const l = locale(isLang(lang) ? lang : negotiate(request.headers.get("accept-language")), "UTC");
  const text = err.code === "not_found" && !new URL(request.url).pathname.startsWith("/chat/") ? l.t.errors.page_not_found : ((l.t.errors as Record<string, string>)[err.code] ?? err.message);
  return ErrorPage({ ctx: { locale: l, user: null, csrf: "", path: "/" }, status: err.status, text }) as string;
}
