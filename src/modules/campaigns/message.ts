import type { CampaignArmRow } from '../../db/schema.js';
import type { Translate } from '../../text/i18n.js';
import { escapeMarkup } from '../../text/markup.js';
import { emailHtml, headerText, type MailBody } from '../notifications/mail-parts.js';

/** What fills an arm's merge fields for one person. */
export interface InvitationFields {
  firstName: string | null;
  library: string;
  bookingLink: string;
  stopLink: string;
}

/** `text` with {firstName}, {library}, {bookingLink} and {friendParagraph} filled; others left as written. */
function merge(text: string, values: Record<string, string>): string {
  return text.replace(/\{(firstName|library|bookingLink|friendParagraph)\}/g, (_, name: string) => values[name] ?? '');
}

/**
 * One invitation: the arm's subject and text with the person's fields merged in, then the
 * catalogue's line on stopping invitations with its link. The HTML is the same text, escaped, in
 * paragraphs, with the links as links; no images, so nothing tracks whether it was opened.
 */
export function composeInvitation(t: Translate, arm: CampaignArmRow, fields: InvitationFields): MailBody {
  const values = {
    firstName: fields.firstName ?? t('email.campaign.noName'),
    library: fields.library,
    bookingLink: fields.bookingLink,
    friendParagraph: arm.friendParagraph.trim(),
  };
  const subject = headerText(merge(arm.subject, values));
  const body = merge(arm.body, values)
    .replace(/\r\n/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  const stop = t('email.campaign.stop');
  const text = [body, '', '—', stop, fields.stopLink].join('\n');
  const linked = (paragraph: string) =>
    escapeMarkup(paragraph)
      .split(escapeMarkup(fields.bookingLink))
      .join(`<a href="${escapeMarkup(fields.bookingLink)}">${escapeMarkup(fields.bookingLink)}</a>`)
      .replace(/\n/g, '<br>');
  const html = emailHtml(t, subject, [
    ...body.split('\n\n').map((paragraph) => `<p>${linked(paragraph)}</p>`),
    '<hr>',
    `<p>${escapeMarkup(stop)} <a href="${escapeMarkup(fields.stopLink)}">${escapeMarkup(t('email.campaign.stopLink'))}</a></p>`,
  ]);
  return { subject, text, html };
}

/** The display name of a From address ("Library appointments <no-reply@…>"), when it has one. */
export function senderName(from: string): string | null {
  const match = /^\s*"?([^"<]+?)"?\s*<[^>]+>\s*$/.exec(from);
  return match?.[1]?.trim() || null;
}
