import type { UserRef } from "../src/realtime/events.ts";
import type { ShownPresence } from "../src/chat/presence.ts";
import { fill } from "../src/i18n/index.ts";
import { CsrfField, Layout, type PageContext } from "./layout.tsx";
import { PresenceLine } from "./presence.tsx";

export function ProfilePage({ ctx, user, blocked, presence }: { ctx: PageContext; user: UserRef; blocked: boolean; presence: ShownPresence | null }) {
  const { t } = ctx.locale;
  const me = ctx.user!.id === user.id;
  return (
    <Layout ctx={ctx} title={user.username} page="profile">
      <main class="profile">
        <h1 safe>{user.username}</h1>
        <PresenceLine ctx={ctx} presence={presence} />
        {me ? (
          ""
        ) : (
          <div class="actions">
            {blocked ? (
              ""
            ) : (
              <a class="button primary" href={`/messages?to=${encodeURIComponent(user.username)}#new-message`} safe>
                {t.people.write}
              </a>
            )}
            <form method="post" action={blocked ? `/blocks/${encodeURIComponent(user.username)}/delete` : "/blocks"} class="inline">
              <CsrfField ctx={ctx} />
              <input type="hidden" name="username" value={user.username} />
              <input type="hidden" name="back" value={`/u/${encodeURIComponent(user.username)}`} />
              <button type="submit" class={blocked ? "" : "danger"} safe>
                {blocked ? t.people.unblock : t.people.block}
              </button>
            </form>
          </div>
        )}
        {blocked ? (
          <p class="banner" safe>
            {fill(t.people.blocked, { name: user.username })}
          </p>
        ) : (
          ""
        )}
      </main>
    </Layout>
  );
}
