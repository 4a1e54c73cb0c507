/**
 * GraphiQL as ownergraph serves it, with the owners panel under the response.
 *
 * The page gives its settings in a JSON data block, not an inline script, so
 * that its Content-Security-Policy can allow scripts from 'self' alone.
 */
import 'graphiql/style.css';
import './page.css';

import { GraphiQL, type GraphiQLProps } from 'graphiql';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';

import { OwnersPanel, ownersOf, ownersStore } from './owners';

type Fetcher = GraphiQLProps['fetcher'];

/** What the page says in `<script type="application/json" id="graphiql-config">`. */
interface PageConfig {
  /** The document the editor opens with when the browser has none saved. */
  query: string;
  /** Headers pre-filled in the headers editor (the demo's agent key), or null. */
  headers: Record<string, string> | null;
}

function readConfig(): PageConfig {
  const block = document.getElementById('graphiql-config');
  const config: Partial<PageConfig> = block?.textContent ? JSON.parse(block.textContent) : {};
  return { query: config.query ?? '', headers: config.headers ?? null };
}

/**
 * POSTs to the endpoint that served the page, as GraphQL over HTTP says, and
 * hands each answer's `extensions.owners` to the owners panel.
 */
function fetcherFor(endpoint: string): Fetcher {
  return async (params, options) => {
    // GraphiQL's own schema fetch is not what the user asked about.
    const report = params.operationName !== 'IntrospectionQuery';
    let body: unknown;
    try {
      const response = await fetch(endpoint, {
        method: 'POST',
        headers: {
          Accept: 'application/graphql-response+json, application/json',
          'Content-Type': 'application/json',
          ...options?.headers,
        },
        body: JSON.stringify(params),
      });
      const text = await response.text();
      try {
        body = JSON.parse(text);
      } catch {
        throw new Error(`HTTP ${response.status}: the answer is not JSON: ${text.slice(0, 200)}`);
      }
    } catch (error) {
      if (report) ownersStore.set('failed');
      throw error;
    }
    if (report) ownersStore.set(ownersOf(body));
    return body as Awaited<ReturnType<Fetcher>>;
  };
}

function main(): void {
  const config = readConfig();
  const headers = config.headers ? JSON.stringify(config.headers, null, 2) : undefined;
  const root = document.getElementById('graphiql');
  if (root === null) throw new Error('the page has no #graphiql element');
  createRoot(root).render(
    <StrictMode>
      <GraphiQL
        fetcher={fetcherFor(window.location.pathname)}
        defaultQuery={config.query}
        defaultHeaders={headers}
        headers={headers}
        defaultEditorToolsVisibility={headers ? 'headers' : undefined}
      >
        <GraphiQL.Footer>
          <OwnersPanel />
        </GraphiQL.Footer>
      </GraphiQL>
    </StrictMode>,
  );
}

main();
