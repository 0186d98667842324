// Times: UTC, the browser's local time, and relative times kept current by the 1 s ticker.
import { h } from "./dom.js";

export function iso(secs) {
  const d = new Date(secs * 1000);
  return Number.isNaN(d.getTime()) ? "not a date" : d.toISOString().replace(".000Z", "Z");
}

/** "in 4 min 12 s", "3 h 5 min ago", "now". */
export function relative(delta) {
  const a = Math.abs(delta);
  if (a < 1) return "now";
  const s = Math.floor(a);
  let txt;
  if (s < 60) txt = `${s} s`;
  else if (s < 3600) txt = `${Math.floor(s / 60)} min ${s % 60} s`;
  else if (s < 86400 * 2) txt = `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  else txt = `${Math.floor(s / 86400)} days`;
  return delta > 0 ? `in ${txt}` : `${txt} ago`;
}

export const nowSecs = () => Date.now() / 1000;

/** The same instant in the browser's own time zone, e.g. "25 Nov 2026, 20:45:00 CET". */
export function local(secs) {
  const d = new Date(secs * 1000);
  if (Number.isNaN(d.getTime())) return "";
  return d.toLocaleString(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short" });
}

/** Element whose text is kept current by the 1 s ticker. */
export function live(epoch, fmt) {
  const e = h("span", { class: "live", dataset: { epoch: String(epoch) } });
  e._fmt = fmt;
  e.textContent = fmt(epoch - nowSecs());
  return e;
}
