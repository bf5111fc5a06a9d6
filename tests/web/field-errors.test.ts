import { describe, expect, it } from 'vitest';
import { markFieldErrors } from '../../src/web/layout/field-errors.js';

// Errors at their fields as well as in the summary (GOV.UK pattern), issue 29 item 10.

describe('markFieldErrors', () => {
  it('puts the message before a text field, which it describes beside the field’s hint', () => {
    const html =
      '<div class="field"><label for="email">Email</label><p id="email-hint">Hint</p><input id="email" name="email" aria-describedby="email-hint"></div>';
    expect(markFieldErrors(html, [{ field: 'email', message: 'Enter an email address like <a@b.c>' }], 'Error:')).toBe(
      '<div class="field"><label for="email">Email</label><p id="email-hint">Hint</p>' +
        '<p class="field-error" id="email-error"><span class="visually-hidden">Error:</span> Enter an email address like &#60;a@b.c&#62;</p>' +
        '<input id="email" name="email" aria-describedby="email-hint email-error"></div>',
    );
  });

  it('puts a radio group’s message after its legend, and the group is described by it', () => {
    const html =
      '<fieldset class="field"><legend>Fee status</legend><div class="choice"><input type="radio" id="fee-home" name="fee"><label for="fee-home">Home</label></div></fieldset>';
    expect(markFieldErrors(html, [{ field: 'fee-home', message: 'Choose one' }], 'Error:')).toBe(
      '<fieldset class="field" aria-describedby="fee-home-error"><legend>Fee status</legend>' +
        '<p class="field-error" id="fee-home-error"><span class="visually-hidden">Error:</span> Choose one</p>' +
        '<div class="choice"><input type="radio" id="fee-home" name="fee"><label for="fee-home">Home</label></div></fieldset>',
    );
  });

  it('marks each field once, and leaves a page without errors, or an unknown field, as it was', () => {
    const html = '<textarea id="topic"></textarea><input id="other">';
    expect(markFieldErrors(html, undefined, 'Error:')).toBe(html);
    expect(markFieldErrors(html, [{ field: 'missing', message: 'x' }], 'Error:')).toBe(html);
    const twice = markFieldErrors(
      html,
      [
        { field: 'topic', message: 'Too long' },
        { field: 'topic', message: 'Again' },
      ],
      'Error:',
    );
    expect(twice.match(/field-error/g)).toHaveLength(1);
    expect(twice).toContain('<textarea id="topic" aria-describedby="topic-error">');
  });
});
