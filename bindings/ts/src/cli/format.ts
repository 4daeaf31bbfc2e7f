/**
 * How the CLI prints jobs: `lightflus get jobs` as a table, `lightflus describe job` as a
 * labelled page. Both are plain text with no colours, so they read the same in a terminal, a
 * log and a test.
 */
import type { JobDetail, JobSummary } from "./client";

/** Lays out rows as columns separated by two spaces; the first row is the header. */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ").trimEnd())
    .join("\n");
}

/** "5s", "3m", "2h", "4d": how long ago `created` was, or "-" when unknown. */
export function age(created: number | string | undefined, now: number = Date.now()): string {
  if (created === undefined) return "-";
  const millis = typeof created === "number" ? created : Date.parse(created);
  if (!Number.isFinite(millis)) return "-";
  const seconds = Math.max(0, Math.floor((now - millis) / 1000));
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 120 * 60) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 48 * 3600) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86400)}d`;
}

function parallelismText(parallelism: number): string {
  return parallelism > 0 ? String(parallelism) : "default";
}

/** The table of `lightflus get jobs`. */
export function jobTable(jobs: readonly JobSummary[], now: number = Date.now()): string {
  if (jobs.length === 0) return "No jobs.";
  const rows = [["ID", "NAME", "STATUS", "PARALLELISM", "RECORDS-IN", "RECORDS-OUT", "AGE"]];
  for (const job of jobs) {
    rows.push([
      job.id,
      job.name,
      job.status,
      parallelismText(job.parallelism),
      String(job.recordsIn),
      String(job.recordsOut),
      age(job.createdAt, now),
    ]);
  }
  return table(rows);
}

/** The page of `lightflus describe job`. */
export function describeJob(job: JobDetail, now: number = Date.now()): string {
  const lines: string[] = [];
  const field = (label: string, value: string): void => {
    lines.push(`${`${label}:`.padEnd(14)}${value}`);
  };
  field("Name", job.name);
  field("ID", job.id);
  field("Status", job.status);
  field("Parallelism", parallelismText(job.parallelism));
  field("Records", `${job.recordsIn} in, ${job.recordsOut} out`);
  if (job.createdAt !== undefined) field("Age", age(job.createdAt, now));
  const params = Object.entries(job.params ?? {});
  field("Params", params.length === 0 ? "<none>" : params.map(([k, v]) => `${k}=${v}`).join(", "));
  field("Error", job.error ?? "<none>");
  lines.push("Operators:");
  const operators = job.operators ?? [];
  if (operators.length === 0) {
    lines.push("  <none yet>");
  } else {
    const rows = [["ID", "NAME", "KIND", "PARALLELISM", "IN", "OUT", "LATE", "BACKPRESSURE", "QUEUED"]];
    for (const op of operators) {
      rows.push([
        String(op.id),
        op.name,
        op.kind,
        String(op.parallelism),
        String(op.recordsIn),
        String(op.recordsOut),
        String(op.lateDropped),
        `${(op.backpressureMs / 1000).toFixed(1)}s`,
        `${op.queued}/${op.queueCapacity}`,
      ]);
    }
    lines.push(...table(rows).split("\n").map((line) => `  ${line}`));
  }
  if (job.plan) {
    lines.push("Plan:");
    lines.push(...job.plan.trimEnd().split("\n").map((line) => `  ${line}`));
  }
  return lines.join("\n");
}
