// Light/dark theme: follows prefers-color-scheme until the reader picks one.
// The choice is a display preference, not private data, so it lives in
// localStorage (it must apply before the host answers, or without a host).

const kKey = 'bellwether.theme';

export function storedTheme() {
  const value = localStorage.getItem(kKey);
  return value === 'light' || value === 'dark' ? value : null;
}

export function effectiveTheme() {
  return storedTheme() ?? (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light');
}

export function applyTheme(theme = storedTheme()) {
  if (theme) document.documentElement.dataset.theme = theme;
  else delete document.documentElement.dataset.theme;
}

export function setTheme(theme) {
  if (theme === 'light' || theme === 'dark') localStorage.setItem(kKey, theme);
  else localStorage.removeItem(kKey);
  applyTheme();
}

export function toggleTheme() {
  setTheme(effectiveTheme() === 'dark' ? 'light' : 'dark');
  return effectiveTheme();
}

applyTheme();
