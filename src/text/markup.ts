/** User text inside HTML or SVG/XML: & < > " ' become character references, so it cannot add markup. */
export function escapeMarkup(value: string): string {
  return value.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}
