/**
 * The repository plots: stored size over time and uploads per day, from the file rows'
 * upload times and sizes. Deleted files have no rows, so "size over time" is the growth of
 * what is stored now (the files kept, by when they arrived), which is what a reader
 * planning disk space wants; the chart's description says so.
 */
import { formatBytes } from './format';
import { barChart, stepChart, type Point } from './svg-chart';

export interface Upload {
  createdAt: number;
  size: number;
}

const DAY = 86_400_000;

function day(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Cumulative stored bytes after each upload, oldest first. */
export function sizeSeries(files: Upload[]): Point[] {
  let total = 0;
  return [...files]
    .sort((a, b) => a.createdAt - b.createdAt)
    .map((f) => ({ x: f.createdAt, y: (total += f.size) }));
}

/** Uploads per UTC day for the `days` days ending with the day of `now` (oldest first). */
export function uploadsPerDay(files: Upload[], now: number, days = 30): { day: string; count: number }[] {
  const lastDay = Math.floor(now / DAY);
  const counts = new Array<number>(days).fill(0);
  for (const f of files) {
    const i = Math.floor(f.createdAt / DAY) - (lastDay - days + 1);
    if (i >= 0 && i < days) counts[i]++;
  }
  return counts.map((count, i) => ({ day: day((lastDay - days + 1 + i) * DAY), count }));
}

export function sizeChart(repoLabel: string, files: Upload[], now: number): string {
  const points = sizeSeries(files);
  const total = points.length ? points[points.length - 1].y : 0;
  const desc = points.length
    ? `Stored size of ${repoLabel} by upload time, counting the files it holds now: ${formatBytes(total)} in ${points.length} files, from ${day(points[0].x)} to ${day(points[points.length - 1].x)}.`
    : `${repoLabel} holds no files yet.`;
  const yUnit = (max: number) => 1024 ** Math.max(0, Math.min(4, Math.floor(Math.log(Math.max(max, 1)) / Math.log(1024))));
  return stepChart(points, { title: `Repository size: ${repoLabel}`, desc, yLabel: formatBytes, xLabel: day, yUnit }, now);
}

export function uploadsChart(repoLabel: string, files: Upload[], now: number, days = 30): string {
  const series = uploadsPerDay(files, now, days);
  const busiest = series.reduce((a, b) => (b.count > a.count ? b : a), series[0]);
  const total = series.reduce((n, d) => n + d.count, 0);
  const desc = `${total} uploads to ${repoLabel} in the ${days} days from ${series[0].day} to ${series[series.length - 1].day}` +
    (total ? `; the busiest day was ${busiest.day} with ${busiest.count}.` : '.');
  return barChart(series.map((d) => d.count), { title: `Uploads per day (last ${days} days): ${repoLabel}`, desc, yLabel: (v) => String(v), xLabel: (i) => series[i]?.day ?? '' });
}

/** Package file downloads per UTC day (download_days rows: day = days since 1970-01-01), the last `days` days. */
export function downloadsChart(label: string, perDay: { day: number; downloads: number }[], now: number, days = 30): string {
  const lastDay = Math.floor(now / DAY);
  const counts = new Array<number>(days).fill(0);
  for (const d of perDay) {
    const i = d.day - (lastDay - days + 1);
    if (i >= 0 && i < days) counts[i] += d.downloads;
  }
  const dayOf = (i: number) => day((lastDay - days + 1 + i) * DAY);
  const total = counts.reduce((n, c) => n + c, 0);
  const busiest = counts.indexOf(Math.max(...counts));
  const desc = `${total} downloads of ${label} in the ${days} days from ${dayOf(0)} to ${dayOf(days - 1)}` + (total ? `; the busiest day was ${dayOf(busiest)} with ${counts[busiest]}.` : '.');
  return barChart(counts, { title: `Downloads per day (last ${days} days): ${label}`, desc, yLabel: (v) => String(v), xLabel: (i) => dayOf(i) });
}
