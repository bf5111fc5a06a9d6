// Progressive enhancement only: every page works without this file.
const detectZone = () => {
  // Show times in the browser's own zone on a first visit, once (the choice can be changed below).
  const form = document.getElementById('zone-form');
  const select = document.getElementById('zone-select');
  if (document.body?.dataset.detectZone !== 'true' || !form || !select || !window.sessionStorage) return false;
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const known = Array.from(select.options).some((option) => option.value === zone);
  if (!zone || !known || sessionStorage.getItem('liaison-zone-detected')) return false;
  sessionStorage.setItem('liaison-zone-detected', zone);
  select.value = zone;
  form.submit();
  return true;
};

if (!detectZone()) {
  // Move focus to the error summary, so a screen reader hears what to fix.
  document.querySelector('[data-error-summary]')?.focus();
}
