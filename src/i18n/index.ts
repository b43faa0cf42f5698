// Language and time for one request: which catalogue, how plurals and times are written.
// The language comes from the `lang` cookie (the switch) or else Accept-Language; the time
// zone from the `tz` cookie the page script sets from the browser (UTC until it is known).
import { en, type Catalogue, type Plural } from "./en.ts";
import { ru } from "./ru.ts";

export const LANGS = { en, ru } as const;
export type Lang = keyof typeof LANGS;
export const DEFAULT_LANG: Lang = "en";

export function isLang(value: unknown): value is Lang {
  return typeof value === "string" && Object.hasOwn(LANGS, value);
}

/** Picks the best supported language from an Accept-Language header, honouring q-values. */
export function negotiate(acceptLanguage: string | null | undefined): Lang {
  if (!acceptLanguage) return DEFAULT_LANG;
  const ranked = acceptLanguage
    .split(",")
    .slice(0, 20)
    .map((part, index) => {
      const [tag = "", ...params] = part.trim().split(";");
      const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
      const quality = q ? Number(q.slice(2)) : 1;
      return { base: tag.toLowerCase().split("-")[0] ?? "", quality: Number.isFinite(quality) ? quality : 0, index };
    })
    .filter((entry) => entry.quality > 0)
    .sort((a, b) => b.quality - a.quality || a.index - b.index);
  return ranked.find((entry) => isLang(entry.base))?.base as Lang | undefined ?? DEFAULT_LANG;
}

/**
 * Caches keyed by what clients send (zone cookies) are capped: there are about 600 real zones
 * and 2 languages, so the caps are never reached by honest traffic and bound the rest.
 */
const MAX_ZONES = 1000;
const MAX_FORMATS = 5000;
const zoneCache = new Map<string, boolean>();
/** A time zone from a cookie is used only if Intl knows it. */
export function validTimeZone(zone: string | null | undefined): string {
  if (!zone || zone.length > 64) return "UTC";
  let ok = zoneCache.get(zone);
  if (ok === undefined) {
    try {
      new Intl.DateTimeFormat("en", { timeZone: zone });
      ok = true;
    } catch {
      ok = false;
    }
    if (zoneCache.size < MAX_ZONES) zoneCache.set(zone, ok);
  }
  return ok ? zone : "UTC";
}

const pluralRules = new Map<Lang, Intl.PluralRules>();
const formats = new Map<string, Intl.DateTimeFormat>();

const STYLES = {
  time: { hour: "2-digit", minute: "2-digit" },
  date: { dateStyle: "medium", timeStyle: "short" },
  day: { year: "numeric", month: "2-digit", day: "2-digit" },
} as const satisfies Record<string, Intl.DateTimeFormatOptions>;

function format(lang: Lang, timeZone: string, kind: keyof typeof STYLES): Intl.DateTimeFormat {
  const key = `${lang}|${timeZone}|${kind}`;
  let f = formats.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(lang, { timeZone, ...STYLES[kind] });
    if (formats.size < MAX_FORMATS) formats.set(key, f);
  }
  return f;
}

export interface Locale {
  lang: Lang;
  timeZone: string;
  t: Catalogue;
  /** "1 message", "5 сообщений": the number in the plural form its language needs. */
  plural(entry: Plural, n: number): string;
  /** A time of today as hours and minutes; any other day with its date. */
  time(iso: string): string;
}

export function locale(lang: Lang, timeZone: string): Locale {
  let rules = pluralRules.get(lang);
  if (!rules) pluralRules.set(lang, (rules = new Intl.PluralRules(lang)));
  const day = format(lang, timeZone, "day");
  return {
    lang,
    timeZone,
    t: LANGS[lang],
    plural: (entry, n) => (entry[rules.select(n)] ?? entry.other).replace("{n}", n.toLocaleString(lang)),
    time: (iso) => {
      const date = new Date(iso);
      const today = day.format(date) === day.format(new Date());
      return format(lang, timeZone, today ? "time" : "date").format(date);
    },
  };
}

/** A catalogue string with its {placeholders} filled in (the result is plain text: escape it). */
export function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (whole, key: string) => values[key] ?? whole);
}
