import type { Children } from "@kitajs/html";
import type { Locale } from "../src/i18n/index.ts";
import { LANGS } from "../src/i18n/index.ts";
import { assetUrl } from "../src/web/assets.ts";

/** What every page needs to know about the request it answers. */
export interface PageContext {
  locale: Locale;
  user: { id: number; username: string } | null;
  /** The CSRF token for forms on this page. */
  csrf: string;
  /** The path being shown, so the language switch can come back to it. */
  path: string;
}

export function CsrfField({ ctx }: { ctx: PageContext }) {
  return <input type="hidden" name="_csrf" value={ctx.csrf} />;
}

export function Layout({ ctx, title, children, page }: { ctx: PageContext; title: string; children: Children; page: string }) {
  const { t } = ctx.locale;
  return (
    <>
      {"<!doctype html>"}
      <html lang={ctx.locale.lang}>
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <title safe>{`${title} · ${t.appName}`}</title>
          <meta name="htmx-config" content='{"includeIndicatorCSS":false}' />
          <link rel="stylesheet" href={assetUrl("app.css")} />
          <script src={assetUrl("htmx.min.js")} defer></script>
          <script src={assetUrl("app.js")} defer></script>
        </head>
        <body data-page={page} data-me={ctx.user ? String(ctx.user.id) : ""} data-lang={ctx.locale.lang}>
          <header class="top">
            <a class="brand" href={ctx.user ? "/messages" : "/"} safe>
              {t.appName}
            </a>
            <nav>
              {ctx.user ? (
                <>
                  <a href="/messages" safe>{t.nav.conversations}</a>
                  <a href="/settings" safe>{t.nav.settings}</a>
                  <span class="me" safe>
                    {ctx.user.username}
                  </span>
                  <form method="post" action="/logout" class="inline">
                    <CsrfField ctx={ctx} />
                    <button type="submit" class="link" safe>
                      {t.nav.logOut}
                    </button>
                  </form>
                </>
              ) : (
                <>
                  <a href="/login" safe>{t.nav.logIn}</a>
                  <a href="/signup" safe>{t.nav.signUp}</a>
                </>
              )}
              <form method="post" action="/lang" class="inline lang">
                <CsrfField ctx={ctx} />
                <input type="hidden" name="back" value={ctx.path} />
                {Object.values(LANGS).map((l) => (
                  <button type="submit" name="lang" value={l.lang} class="link" aria-pressed={String(l.lang === ctx.locale.lang)} safe>
                    {l.languageName}
                  </button>
                ))}
              </form>
            </nav>
          </header>
          {children}
          {/* The page script's words, in the page's language; an attribute is escaped like any other. */}
          <div
            id="strings"
            hidden
            data-strings={JSON.stringify({
              live: t.chat.live,
              connecting: t.chat.connecting,
              reconnecting: t.chat.reconnecting,
              pending: t.chat.pending,
              failed: t.chat.failed,
              retry: t.chat.retry,
              seen: t.people.seen,
              online: t.people.online,
              lastSeen: t.people.lastSeen,
              errors: t.errors,
            })}
          ></div>
        </body>
      </html>
    </>
  );
}

/** A form error beside its field; the id lets the field point at it for screen readers. */
export function FieldError({ id, text }: { id: string; text: string | undefined }) {
  return text ? (
    <p class="field-error" id={id} role="alert" safe>
      {text}
    </p>
  ) : (
    ""
  );
}
