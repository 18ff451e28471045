/**
 * A duration for people: `42s`, `3m07s`, `1h05m` (seconds are dropped from an hour on). Rounded
 * once, at the unit shown, so a carry never prints `60` in the smaller unit (59.6 s is `1m00s`,
 * not `60s`; 3599.6 s is `1h00m`, not `59m60s`). Not finite or negative: `?`.
 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${pad2(s % 60)}s`;
  const m = Math.round(seconds / 60);
  return `${Math.floor(m / 60)}h${pad2(m % 60)}m`;
}

const pad2 = (n: number): string => String(n).padStart(2, '0');
