import { escapeMarkup } from '../../text/markup.js';

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Adds `id` to a start tag's aria-describedby (keeping the hints it names). */
function describedBy(tag: string, id: string): string {
  const existing = /\saria-describedby="([^"]*)"/.exec(tag);
  if (existing) return tag.replace(existing[0], ` aria-describedby="${existing[1]} ${id}"`);
  return tag.replace(/\s*\/?>$/, (end) => ` aria-describedby="${id}"${end}`);
}

/**
 * Each error of a page's summary, also at its field (the GOV.UK pattern): a message just before
 * the field (for a radio or checkbox, after its group's legend), which the field (or group) names
 * as its description. `html` is a page body drawn from this project's own templates, where every
 * field the summary links to carries its `id`; an error whose field is not found stays in the summary only.
 */
export function markFieldErrors(
  html: string,
  errors: readonly { field: string; message: string }[] | undefined,
  prefix: string,
): string {
  let marked = html;
  const done = new Set<string>();
  for (const error of errors ?? []) {
    if (done.has(error.field)) continue;
    done.add(error.field);
    const messageId = `${error.field}-error`;
    const message = `<p class="field-error" id="${escapeMarkup(messageId)}"><span class="visually-hidden">${escapeMarkup(prefix)}</span> ${escapeMarkup(error.message)}</p>`;
    const field = new RegExp(
      `<(input|textarea|select|fieldset|div)\\b[^>]*\\sid="${escapeRegExp(escapeMarkup(error.field))}"[^>]*>`,
    );
    const found = field.exec(marked);
    if (!found) continue;
    const [tag, name] = found as unknown as [string, string];
    const isChoice = name === 'input' && /\stype="(radio|checkbox)"/.test(tag);
    if (isChoice || name === 'fieldset') {
      // The group: the fieldset holding the choice (or the fieldset itself), its message after the legend.
      const start = name === 'fieldset' ? found.index : marked.lastIndexOf('<fieldset', found.index);
      const legendEnd = start < 0 ? -1 : marked.indexOf('</legend>', start);
      if (legendEnd < 0 || (isChoice && legendEnd > found.index)) continue;
      const groupTag = /^<fieldset\b[^>]*>/.exec(marked.slice(start))?.[0] as string;
      const afterLegend = legendEnd + '</legend>'.length;
      marked =
        marked.slice(0, start) +
        describedBy(groupTag, messageId) +
        marked.slice(start + groupTag.length, afterLegend) +
        message +
        marked.slice(afterLegend);
      continue;
    }
    marked =
      marked.slice(0, found.index) + message + describedBy(tag, messageId) + marked.slice(found.index + tag.length);
  }
  return marked;
}
