// Progressive enhancement only: every page works without this file.
const detectZone = () => {
  // Show times in the browser's own zone on a first visit, once (the choice can be changed below).
  // The footer's form carries this page's return (and its form, for a page a POST drew).
  const form = document.getElementById('zone-form');
  if (document.body?.dataset.detectZone !== 'true' || !form || !window.sessionStorage) return false;
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (!zone || sessionStorage.getItem('liaison-zone-detected')) return false;
  sessionStorage.setItem('liaison-zone-detected', zone);
  const field = document.createElement('input');
  field.type = 'hidden';
  field.name = 'timeZone';
  field.value = zone;
  form.append(field);
  form.action = '/time-zone';
  form.submit();
  return true;
};

// The time zone page: a search box narrows the list to the zones whose place or name matches.
const searchZones = () => {
  const box = document.querySelector('[data-zone-search]');
  const input = document.getElementById('zone-search');
  const select = document.getElementById('zone-select');
  const count = document.querySelector('[data-zone-count]');
  if (!box || !input || !select || !count) return;
  const fold = (text) =>
    text
      .normalize('NFD')
      .replace(/[\u0300-\u036f]/g, '')
      .toLowerCase();
  const groups = Array.from(select.querySelectorAll('optgroup')).map((group) => ({
    label: group.label,
    options: Array.from(group.querySelectorAll('option')).map((option) => ({
      value: option.value,
      text: option.textContent,
      words: fold(`${option.textContent} ${option.value.replaceAll('_', ' ')}`),
    })),
  }));
  box.hidden = false;
  input.addEventListener('input', () => {
    const terms = fold(input.value).split(/\s+/).filter(Boolean);
    const chosen = select.value;
    select.replaceChildren();
    let matches = 0;
    for (const group of groups) {
      const found = group.options.filter((option) => terms.every((term) => option.words.includes(term)));
      if (found.length === 0) continue;
      const element = document.createElement('optgroup');
      element.label = group.label;
      for (const option of found) element.append(new Option(option.text, option.value, false, option.value === chosen));
      select.append(element);
      matches += found.length;
    }
    if (matches > 0 && select.selectedIndex < 0) select.selectedIndex = 0;
    const message = matches === 0 ? count.dataset.none : count.dataset.matches;
    count.textContent = (message ?? '').replace('{count}', matches.toLocaleString(document.documentElement.lang));
  });
};

// A "Copy" button beside an address to copy (the address itself is shown whole, for selecting by hand).
const copyButtons = () => {
  for (const button of document.querySelectorAll('[data-copy]')) {
    const source = document.getElementById(button.dataset.copy);
    const status = button.parentElement?.querySelector('[data-copy-status]');
    if (!source || !status || !navigator.clipboard) continue;
    button.hidden = false;
    button.addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(source.textContent.trim());
        status.textContent = status.dataset.copied ?? '';
      } catch {
        status.textContent = status.dataset.failed ?? '';
      }
    });
  }
};

if (!detectZone()) {
  searchZones();
  copyButtons();
  // Move focus to the error summary, so a screen reader hears what to fix.
  document.querySelector('[data-error-summary]')?.focus();
}
