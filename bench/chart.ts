// An SVG of latency against offered load, for a person to open: one line per series, the
// 25 ms target, and the database's single-insert ceiling from the same run.
import type { RelayStep } from "./load/relay.ts";

const W = 760;
const H = 440;
const M = { left: 64, right: 24, top: 48, bottom: 56 };
const COLORS = ["#2f6fed", "#c4320a", "#1f9d55", "#8a4baf", "#b7791f"];

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);

export function latencyChart(title: string, series: { name: string; steps: RelayStep[]; pick: (s: RelayStep) => number }[], ceiling: number | null): string {
  const all = series.flatMap((s) => s.steps);
  const maxX = Math.max(1, ...all.map((s) => s.offered), ceiling ?? 0) * 1.05;
  const maxY = Math.min(200, Math.max(30, ...series.flatMap((s) => s.steps.map(s.pick)).filter(Number.isFinite)) * 1.1);
  const x = (v: number) => M.left + (v / maxX) * (W - M.left - M.right);
  const y = (v: number) => H - M.bottom - (Math.min(v, maxY) / maxY) * (H - M.top - M.bottom);
  const parts: string[] = [];
  parts.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  parts.push(`<text x="${W / 2}" y="26" text-anchor="middle" font-size="16" font-family="sans-serif">${esc(title)}</text>`);
  for (let i = 0; i <= 5; i++) {
    const vy = (maxY / 5) * i;
    const vx = (maxX / 5) * i;
    parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${y(vy)}" y2="${y(vy)}" stroke="#eee"/>`);
    parts.push(`<text x="${M.left - 8}" y="${y(vy) + 4}" text-anchor="end" font-size="11" font-family="sans-serif">${vy.toFixed(0)}</text>`);
    parts.push(`<text x="${x(vx)}" y="${H - M.bottom + 18}" text-anchor="middle" font-size="11" font-family="sans-serif">${Math.round(vx).toLocaleString("en")}</text>`);
  }
  parts.push(`<text x="${W / 2}" y="${H - 14}" text-anchor="middle" font-size="12" font-family="sans-serif">offered load (messages/s)</text>`);
  parts.push(`<text x="16" y="${H / 2}" text-anchor="middle" font-size="12" font-family="sans-serif" transform="rotate(-90 16 ${H / 2})">latency (ms)</text>`);
  parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${y(25)}" y2="${y(25)}" stroke="#999" stroke-dasharray="6 4"/>`);
  parts.push(`<text x="${W - M.right}" y="${y(25) - 4}" text-anchor="end" font-size="11" fill="#666" font-family="sans-serif">p99 target 25 ms</text>`);
  if (ceiling) {
    parts.push(`<line x1="${x(ceiling)}" x2="${x(ceiling)}" y1="${M.top}" y2="${H - M.bottom}" stroke="#b7791f" stroke-dasharray="3 3"/>`);
    parts.push(`<text x="${x(ceiling) + 4}" y="${M.top + 12}" font-size="11" fill="#b7791f" font-family="sans-serif">DB single inserts/s</text>`);
  }
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const points = s.steps.filter((st) => Number.isFinite(s.pick(st))).map((st) => `${x(st.offered).toFixed(1)},${y(s.pick(st)).toFixed(1)}`);
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${points.join(" ")}"/>`);
    for (const p of points) parts.push(`<circle cx="${p.split(",")[0]}" cy="${p.split(",")[1]}" r="3" fill="${color}"/>`);
    parts.push(`<rect x="${M.left + 10}" y="${M.top + 6 + i * 18}" width="12" height="4" fill="${color}"/>`);
    parts.push(`<text x="${M.left + 28}" y="${M.top + 11 + i * 18}" font-size="12" font-family="sans-serif">${esc(s.name)}</text>`);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">${parts.join("")}</svg>\n`;
}
