/**
 * The owners panel: what `extensions.owners` said about the last response —
 * which owning systems were asked, how they answered, how fast and how fresh.
 */
import { useSyncExternalStore } from 'react';

/** One system's entry in `extensions.owners`, as the gateway writes it. */
export interface OwnerReport {
  status?: string;
  calls?: number;
  keys?: number;
  ms?: number;
  fetchedAt?: string | null;
  breaker?: string;
  retried?: number;
  reused?: number;
  httpStatus?: number;
  nulled?: string[];
}

/** The last response's owners; null until a query has run, 'failed' when no answer came. */
export type Owners = Record<string, OwnerReport> | 'failed' | null;

let last: Owners = null;
const listeners = new Set<() => void>();

/**
 * Where the fetcher leaves each response's owners for the panel to read.
 *
 * Module state rather than React state: the fetcher must stay the same
 * function for GraphiQL's whole life, or GraphiQL fetches the schema again.
 */
export const ownersStore = {
  set(owners: Record<string, OwnerReport> | 'failed'): void {
    // A failed request clears the panel: the last owners are not this answer's.
    last = owners;
    for (const listener of listeners) listener();
  },
  get(): Owners {
    return last;
  },
  subscribe(listener: () => void): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
};

/** The owners of a GraphQL response body, or none when it names none. */
export function ownersOf(body: unknown): Record<string, OwnerReport> {
  if (typeof body !== 'object' || body === null) return {};
  const extensions = (body as { extensions?: unknown }).extensions;
  if (typeof extensions !== 'object' || extensions === null) return {};
  const owners = (extensions as { owners?: unknown }).owners;
  if (typeof owners !== 'object' || owners === null || Array.isArray(owners)) return {};
  return owners as Record<string, OwnerReport>;
}

function notes(report: OwnerReport): string {
  const parts: string[] = [];
  if (report.breaker) parts.push(`breaker ${report.breaker}`);
  if (report.httpStatus !== undefined) parts.push(`HTTP ${report.httpStatus}`);
  if (report.retried) parts.push(`retried ${report.retried}`);
  if (report.reused) parts.push(`reused ${report.reused}`);
  if (report.nulled?.length) parts.push(`nulled ${report.nulled.join(', ')}`);
  return parts.join('; ');
}

function time(fetchedAt: string | null | undefined): string {
  // "2026-11-22T22:00:23.313539Z" -> "22:00:23.313Z": the date is today's.
  if (!fetchedAt) return '—';
  const match = /T(\d\d:\d\d:\d\d(?:\.\d{1,3})?)/.exec(fetchedAt);
  return match ? `${match[1]}Z` : fetchedAt;
}

const number = (value: number | undefined): string => (value === undefined ? '—' : String(value));

/** The panel under the response: one row per owning system that was needed. */
export function OwnersPanel() {
  const owners = useSyncExternalStore(ownersStore.subscribe, ownersStore.get);
  const answered = owners !== null && owners !== 'failed' ? owners : {};
  const systems = Object.keys(answered);
  return (
    <section className="og-owners" aria-label="Owners">
      <h2 className="og-owners-title">
        Owners <span className="og-owners-hint">who answered the last response</span>
      </h2>
      {owners === null ? (
        <p className="og-owners-empty">Run a query to see which owning systems answered it.</p>
      ) : owners === 'failed' ? (
        <p className="og-owners-empty">The gateway sent no GraphQL answer to the last request.</p>
      ) : systems.length === 0 ? (
        <p className="og-owners-empty">No owning system was asked for this response.</p>
      ) : (
        <table className="og-owners-table">
          <thead>
            <tr>
              <th scope="col">system</th>
              <th scope="col">status</th>
              <th scope="col">calls</th>
              <th scope="col">keys</th>
              <th scope="col">ms</th>
              <th scope="col">fetched at</th>
              <th scope="col">notes</th>
            </tr>
          </thead>
          <tbody>
            {systems.map((system) => {
              const report = answered[system];
              const status = report.status ?? 'unknown';
              return (
                <tr key={system} data-system={system}>
                  <th scope="row">{system}</th>
                  <td className={`og-status og-status-${status}`}>{status}</td>
                  <td>{number(report.calls)}</td>
                  <td>{number(report.keys)}</td>
                  <td>{number(report.ms)}</td>
                  <td title={report.fetchedAt ?? undefined}>{time(report.fetchedAt)}</td>
                  <td className="og-notes">{notes(report)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
