import type { Translate } from '../../text/i18n.js';
import { escapeMarkup } from '../../text/markup.js';

// The parts every email shares (a header-safe line, the HTML document around a body), and the
// sign-in email, which is made of nothing else.

/** What an email says: its subject, plain text and HTML. */
export interface MailBody {
  subject: string;
  text: string;
  html: string;
}

/** User text bound for a mail header: no CR/LF or other controls, so it cannot add headers. */
export function headerText(value: string): string {
  const withoutControls = Array.from(value, (character) => {
    const code = character.charCodeAt(0);
    return code < 32 || code === 127 ? ' ' : character;
  }).join('');
  return withoutControls.replace(/\s+/g, ' ').trim();
}

/**
 * An email's HTML around its body: the language, a title, and a width that reflows on a phone
 * (nothing wider than the screen; a long address breaks rather than widening the message).
 */
export function emailHtml(t: Translate, title: string, body: string[]): string {
  return [
    `<!doctype html><html lang="${escapeMarkup(t('email.lang'))}"><head><meta charset="utf-8">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeMarkup(title)}</title></head>`,
    '<body style="font-family: sans-serif; max-width: 40em; margin: 0 auto; padding: 0 0.5em; overflow-wrap: anywhere">',
    ...body,
    '</body></html>',
  ].join('\n');
}

/** The email with a one-time sign-in link (15 minutes, single use). */
export function composeSignInMessage(t: Translate, url: string): MailBody {
  const body = t('email.signIn.body');
  const ignore = t('email.signIn.ignore');
  return {
    subject: t('email.signIn.subject'),
    text: [body, '', url, '', ignore].join('\n'),
    html: emailHtml(t, t('email.signIn.subject'), [
      `<p>${escapeMarkup(body)}</p>`,
      `<p><a href="${escapeMarkup(url)}">${escapeMarkup(t('email.signIn.link'))}</a></p>`,
      `<p>${escapeMarkup(ignore)}</p>`,
    ]),
  };
}
