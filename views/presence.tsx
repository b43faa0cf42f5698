import type { ShownPresence } from "../src/chat/presence.ts";
import type { PageContext } from "./layout.tsx";

/** "online", or "last seen <time>"; an empty, hidden line for someone who hides it. */
export function PresenceLine({ ctx, presence }: { ctx: PageContext; presence: ShownPresence | null }) {
  const { t } = ctx.locale;
  if (!presence) return <p id="presence" class="presence" hidden></p>;
  const [before, after = ""] = t.people.lastSeen.split("{time}");
  return (
    <p id="presence" class={presence.online ? "presence online" : "presence"} data-user-id={String(presence.userId)}>
      {presence.online ? (
        <span safe>{t.people.online}</span>
      ) : presence.lastSeen ? (
        <span>
          <span safe>{before}</span>
          <time datetime={presence.lastSeen} safe>
            {ctx.locale.time(presence.lastSeen)}
          </time>
          <span safe>{after}</span>
        </span>
      ) : (
        ""
      )}
    </p>
  );
}
