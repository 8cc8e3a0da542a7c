/** Light, dark, or the system's choice (the default); the choice is kept in this browser. */
import { useEffect, useState } from 'preact/hooks';

type Theme = 'system' | 'light' | 'dark';
const KEY = 'fos-theme';
const NEXT: Record<Theme, Theme> = { system: 'dark', dark: 'light', light: 'system' };
const LABEL: Record<Theme, string> = { system: 'Theme: system', dark: 'Theme: dark', light: 'Theme: light' };

function apply(theme: Theme): void {
  if (theme === 'system') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = theme;
}

export function ThemeToggle() {
  const [theme, setTheme] = useState<Theme>(() => (localStorage.getItem(KEY) as Theme | null) ?? 'system');
  useEffect(() => {
    apply(theme);
    if (theme === 'system') localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, theme);
  }, [theme]);
  return (
    // On a phone the label gives way to a sign; its name stays the label.
    <button
      type="button"
      class="link theme"
      aria-label={LABEL[theme]}
      title="Switch between the system's theme, dark and light"
      onClick={() => setTheme(NEXT[theme])}
    >
      <span class="theme-sign" aria-hidden="true">
        ◐
      </span>
      <span class="theme-label" aria-hidden="true">
        {LABEL[theme]}
      </span>
    </button>
  );
}
