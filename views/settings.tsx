import type { Settings, UserRow } from "../src/db/queries.ts";
import { CsrfField, Layout, type PageContext } from "./layout.tsx";

export function SettingsPage({ ctx, settings, blocked, saved }: { ctx: PageContext; settings: Settings; blocked: UserRow[]; saved: boolean }) {
  const { t } = ctx.locale;
  return (
    <Layout ctx={ctx} title={t.settings.title} page="settings">
      <main class="settings">
        <h1 safe>{t.settings.title}</h1>
        {saved ? (
          <p class="notice" role="status" safe>
            {t.settings.saved}
          </p>
        ) : (
          ""
        )}
        <form method="post" action="/settings" class="card">
          <h2 safe>{t.settings.privacy}</h2>
          <CsrfField ctx={ctx} />
          {/* A checkbox that is off sends nothing; the hidden field says the form was seen. */}
          <input type="hidden" name="submitted" value="1" />
          <label class="check">
            <input type="checkbox" name="readReceipts" value="1" checked={settings.readReceipts} />
            <span safe>{t.settings.readReceipts}</span>
          </label>
          <p class="hint" safe>
            {t.settings.readReceiptsHint}
          </p>
          <label class="check">
            <input type="checkbox" name="showPresence" value="1" checked={settings.showPresence} />
            <span safe>{t.settings.showPresence}</span>
          </label>
          <p class="hint" safe>
            {t.settings.showPresenceHint}
          </p>
          <button type="submit" class="primary" safe>
            {t.settings.save}
          </button>
        </form>
        <section class="card">
          <h2 safe>{t.settings.blocked}</h2>
          {blocked.length === 0 ? (
            <p class="empty" safe>
              {t.settings.noneBlocked}
            </p>
          ) : (
            <ul id="blocked">
              {blocked.map((user) => (
                <li>
                  <a href={`/u/${encodeURIComponent(user.username)}`} safe>
                    {user.username}
                  </a>
                  <form method="post" action={`/blocks/${encodeURIComponent(user.username)}/delete`} class="inline">
                    <CsrfField ctx={ctx} />
                    <input type="hidden" name="back" value="/settings" />
                    <button type="submit" class="link" safe>
                      {t.people.unblock}
                    </button>
                  </form>
                </li>
              ))}
            </ul>
          )}
        </section>
        <section class="card">
          <h2 safe>{t.settings.sessions}</h2>
          <form method="post" action="/logout-everywhere">
            <CsrfField ctx={ctx} />
            <p class="hint" safe>
              {t.settings.logOutEverywhereHint}
            </p>
            <button type="submit" class="danger" safe>
              {t.settings.logOutEverywhere}
            </button>
          </form>
        </section>
      </main>
    </Layout>
  );
}
