// Pure formatting helpers: no DOM, no model.

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

/**
 * A byte count for people: 1536 -> "1.5 KiB".
 *
 * @param {number | null | undefined} n
 */
export function formatBytes(n) {
  if (n === null || n === undefined || !Number.isFinite(n)) return "–";
  let value = n;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${value.toFixed(digits)} ${UNITS[unit]}`;
}

/**
 * An ISO-8601 timestamp as "2024-05-01 14:03" (UTC), or "–".
 *
 * @param {string | null | undefined} iso
 */
export function formatDate(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toISOString().slice(0, 16).replace("T", " ");
}

/**
 * How long ago, relative to `now`: "just now", "5 min ago", "3 h ago", "2 d ago", or the date.
 *
 * @param {string | null | undefined} iso
 * @param {Date} [now]
 */
export function formatAgo(iso, now = new Date()) {
  if (!iso) return "–";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const s = Math.round((now.getTime() - d.getTime()) / 1000);
  if (s < 45) return "just now";
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  if (s < 30 * 86400) return `${Math.round(s / 86400)} d ago`;
  return formatDate(iso);
}

/**
 * The Python lines that fetch a linked version, and its files when the user may download.
 *
 * @param {string} path "Registry/Collection:alias"
 * @param {boolean} [download] whether the user may download its files
 */
export function usageSnippet(path, download = true) {
  const use = `link = client.use(${pyString(path)})`;
  return download ? `${use}\nlocal_dir = link.download()` : `${use}\nlink.metadata`;
}

/**
 * A Python string literal for any text (double-quoted, escaped).
 *
 * @param {string} text
 */
export function pyString(text) {
  return JSON.stringify(String(text));
}

/**
 * Shorten text to `max` characters with an ellipsis.
 *
 * @param {string} text
 * @param {number} max
 */
export function truncate(text, max) {
  const s = String(text ?? "");
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/**
 * A metadata value as a short cell text: numbers trimmed to 4 significant digits.
 *
 * @param {unknown} value
 */
export function formatValue(value) {
  if (value === null || value === undefined) return "–";
  if (typeof value === "number") {
    if (Number.isInteger(value)) return String(value);
    return String(Number(value.toPrecision(4)));
  }
  if (typeof value === "string") return truncate(value, 40);
  if (typeof value === "boolean") return value ? "true" : "false";
  return truncate(JSON.stringify(value), 40);
}

/**
 * A count with its noun: 1 -> "1 version", 2 -> "2 versions".
 *
 * @param {number} n
 * @param {string} noun
 * @param {string} [plural] the plural when it is not the noun with an "s"
 */
export function countOf(n, noun, plural = `${noun}s`) {
  return `${n} ${n === 1 ? noun : plural}`;
}

/**
 * A short description of what a metadata node holds, for the tree view.
 *
 * @param {unknown} value
 */
export function describeNode(value) {
  if (Array.isArray(value)) return `[${countOf(value.length, "item")}]`;
  if (value && typeof value === "object") {
    return `{${countOf(Object.keys(value).length, "key")}}`;
  }
  return formatValue(value);
}

/**
 * Split a comma-separated list typed by a user: trims, drops empties, keeps order, no duplicates.
 *
 * @param {string} text
 * @returns {string[]}
 */
export function splitList(text) {
  const seen = new Set();
  /** @type {string[]} */
  const out = [];
  for (const part of String(text ?? "").split(",")) {
    const t = part.trim();
    if (t && !seen.has(t)) {
      seen.add(t);
      out.push(t);
    }
  }
  return out;
}

/**
 * A duration in seconds as people say it: "0.4 s", "42 s", "3 min 5 s", "2 h 10 min", "3 d 4 h".
 *
 * @param {number | null | undefined} seconds
 */
export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "–";
  const s = Math.max(0, seconds);
  if (s < 0.1) return "< 0.1 s";
  if (s < 10) return `${Number(s.toFixed(1))} s`;
  const whole = Math.round(s);
  if (whole < 60) return `${whole} s`;
  const [d, h, m, r] = [
    Math.floor(whole / 86400),
    Math.floor((whole % 86400) / 3600),
    Math.floor((whole % 3600) / 60),
    whole % 60,
  ];
  if (d > 0) return h ? `${d} d ${h} h` : `${d} d`;
  if (h > 0) return m ? `${h} h ${m} min` : `${h} h`;
  return r ? `${m} min ${r} s` : `${m} min`;
}
