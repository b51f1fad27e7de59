// Passing the steg number and the pairing code on (STD1-CLI-29): copy to
// the clipboard, the platform's share sheet where there is one (with the
// number as a contact card file where the platform takes files), and a
// contact card to download. Everything is built in the page; nothing of it
// reaches the server (STD1-CLI-1).

import { t } from './i18n.js';

/** Copies `text`; resolves whether the browser allowed it. */
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

/** Whether the platform has a share sheet (Web Share API). */
export function canShare() {
  return typeof navigator.share === 'function';
}

function vcardEscape(text) {
  return text.replace(/[\\;,]/g, (c) => `\\${c}`).replace(/\r?\n/g, '\\n');
}

/**
 * A vCard 3.0 holding one mobile number. The name, if any, is the given
 * name (`N:;name;;;`), and the formatted name falls back to the number
 * itself: the card is meant to be merged into the other person's existing
 * contact, so it carries no invented name of its own.
 */
export function vcard(name, normalised, display) {
  const given = vcardEscape((name || '').trim());
  const formatted = given || vcardEscape(display);
  return ['BEGIN:VCARD', 'VERSION:3.0', `N:;${given};;;`, `FN:${formatted}`, `TEL;TYPE=CELL:+${normalised}`, 'END:VCARD', ''].join(
    '\r\n',
  );
}

/** A data: URL of the card, for a download link. */
export function vcardUrl(name, normalised, display) {
  return `data:text/vcard;charset=utf-8,${encodeURIComponent(vcard(name, normalised, display))}`;
}

/**
 * Shares the number through the platform's share sheet: as a contact card
 * file where the platform accepts files, as text otherwise. Resolves
 * 'shared', 'cancelled' (the user closed the sheet) or 'unsupported'.
 */
export async function shareNumber({ normalised, display, text, title }) {
  if (!canShare()) return 'unsupported';
  const data = { title, text };
  try {
    const file = new File([vcard('', normalised, display)], 'contact.vcf', { type: 'text/vcard' });
    if (navigator.canShare && navigator.canShare({ files: [file] })) data.files = [file];
  } catch {
    // No File constructor or no file sharing: text only.
  }
  try {
    await navigator.share(data);
    return 'shared';
  } catch (error) {
    return error && error.name === 'AbortError' ? 'cancelled' : 'unsupported';
  }
}

/** Shares a short text (the pairing code) through the share sheet. */
export async function shareText(text) {
  if (!canShare()) return 'unsupported';
  try {
    await navigator.share({ text });
    return 'shared';
  } catch (error) {
    return error && error.name === 'AbortError' ? 'cancelled' : 'unsupported';
  }
}

/**
 * Passes the room's number on: the share sheet where there is one, the
 * clipboard otherwise. Resolves the text key to show: shared, copied,
 * copy refused, or null when the user closed the share sheet.
 */
export async function passNumberOn(normalised, display) {
  const outcome = await shareNumber({
    normalised,
    display,
    title: t('share.title'),
    text: t('share.number-text', { number: display }),
  });
  if (outcome === 'shared') return 'share.shared';
  if (outcome === 'cancelled') return null;
  return (await copyText(display)) ? 'share.copied-number' : 'share.copy-failed';
}
