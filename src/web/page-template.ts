// A page rendered once and served many times: the values that change with every request (the
// CSRF token, the forms' clientIds, a feed cursor) are rendered as slots, and each request
// fills them in. Filling is a join of kept strings; rendering the page is hundreds of elements.
//
// A slot is a random word of letters and digits, so escaping leaves it as it is, and nobody can
// write one into a page (a message preview, say) without knowing this process's secret.

const PREFIX = `s${crypto.randomUUID().replaceAll("-", "")}`;

export type SlotValues<K extends string> = Record<K, string>;

/** The placeholder to render where a slot's value goes. */
export function slot(name: string): string {
  return `${PREFIX}${name}_`;
}

export class PageTemplate<K extends string> {
  /** Text and slot names, alternating: text, name, text, name, …, text. */
  private readonly parts: string[];

  constructor(rendered: string) {
    this.parts = rendered.split(new RegExp(`${PREFIX}(\\w+?)_`));
  }

  fill(values: SlotValues<K>): string {
    const out = this.parts.slice();
    for (let i = 1; i < out.length; i += 2) out[i] = values[out[i] as K];
    return out.join("");
  }
}
