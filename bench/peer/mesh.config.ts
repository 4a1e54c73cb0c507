/**
 * The peer's supergraph: the four demo owners composed from their live `/openapi.json` by
 * Mesh Compose (`@omnigraph/openapi`), joined into one `Customer` with `@resolveTo`.
 *
 * Environment (the benchmark sets it; `bench/peer.py` start_peer):
 *   OWNERGRAPH_CRM_URL, OWNERGRAPH_ERP_URL, OWNERGRAPH_HELPDESK_URL,
 *   OWNERGRAPH_CONTACTCENTER_URL   each owner's base URL (default: the demo's 8101-8104)
 *   PEER_BUILD_DIR                 where the prepared OpenAPI documents are written
 *                                  (default: ./build); the supergraph goes where `-o` says.
 *
 * The owners' documents are used as served, with two changes made here in memory (and
 * written to PEER_BUILD_DIR so they can be read) because composition needs them:
 *
 * 1. The operational paths every owner shares (/_faults, /_stats, /healthz, /openapi.json)
 *    are dropped: their types (Health, Stats with `system` a per-owner const) are the same
 *    names with different shapes in four subgraphs, which federation refuses to compose.
 *    They are not customer data; neither gateway serves them.
 * 2. The batch-key query parameters (crm `ids`, erp `customer_codes`, helpdesk
 *    `requester_ids`) are declared `type: string` ("comma-separated ids"). They become
 *    `[String]` with `style: form, explode: false`, which is how OpenAPI spells
 *    `?ids=a,b,c`; only then does the GraphQL argument take a list, which `@resolveTo`
 *    `keysArg` needs to pass a batch of keys, and Mesh joins it with commas on the wire.
 *    If an owner already declares the array, nothing is changed.
 * Nothing else is changed. The POST reads (erp `batchAccounts`, contact center
 * `searchInteractions`) are made Query fields with `selectQueryOrMutationField`, an option
 * of the loader, not a change of the documents.
 *
 * `Customer.interactions` is not here: `@resolveTo` cannot send the contact center's
 * batch, whose keys and `limit` travel in one JSON body (`{customer_ids, limit}`):
 * `additionalArgs` replaces the object `keysArg` wrote into instead of merging with it
 * (`Object.assign(args, targetArgs)` in @graphql-mesh/utils resolve-additional-resolvers),
 * and its keys cannot be dotted paths. gateway.config.ts adds the field with the same
 * batched in-context-SDK call `@resolveTo` makes, written out.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { defineConfig } from '@graphql-mesh/compose-cli';
import { loadOpenAPISubgraph } from '@omnigraph/openapi';

type Json = Record<string, any>;

const SYSTEMS = ['crm', 'erp', 'helpdesk', 'contactcenter'] as const;
type System = (typeof SYSTEMS)[number];
const DEFAULT_PORTS: Record<System, number> = {
  crm: 8101,
  erp: 8102,
  helpdesk: 8103,
  contactcenter: 8104,
};
const OPERATIONAL_PATHS = ['/_faults', '/_stats', '/healthz', '/openapi.json'];
const OPERATIONAL_SCHEMAS = ['Fault', 'FaultSpec', 'Health', 'Stats'];
// Query parameters that carry a comma-separated batch of keys, per owner.
const KEY_LISTS: Record<System, string[]> = {
  crm: ['ids'],
  erp: ['customer_codes'],
  helpdesk: ['requester_ids'],
  contactcenter: [],
};

function ownerUrl(system: System): string {
  const fromEnv = process.env[`OWNERGRAPH_${system.toUpperCase()}_URL`];
  return (fromEnv || `http://127.0.0.1:${DEFAULT_PORTS[system]}`).replace(/\/+$/, '');
}

async function fetchDocument(system: System): Promise<Json> {
  const url = `${ownerUrl(system)}/openapi.json`;
  const reply = await fetch(url, { headers: { accept: 'application/json' } });
  if (!reply.ok) {
    throw new Error(`${url} answered ${reply.status}`);
  }
  return (await reply.json()) as Json;
}

function prepare(system: System, document: Json): Json {
  const doc: Json = structuredClone(document);
  for (const path of OPERATIONAL_PATHS) {
    delete doc.paths?.[path];
  }
  for (const name of OPERATIONAL_SCHEMAS) {
    delete doc.components?.schemas?.[name];
  }
  const wanted = new Set(KEY_LISTS[system]);
  const found = new Set<string>();
  for (const item of Object.values<Json>(doc.paths ?? {})) {
    for (const operation of Object.values<Json>(item)) {
      for (const param of (operation?.parameters ?? []) as Json[]) {
        if (param.in !== 'query' || !wanted.has(param.name)) continue;
        found.add(param.name);
        if (param.schema?.type === 'array') continue; // already declared as a list
        param.schema = { type: 'array', items: { type: 'string' } };
        param.style = 'form';
        param.explode = false;
      }
    }
  }
  const missing = [...wanted].filter(name => !found.has(name));
  if (missing.length) {
    throw new Error(`${system}'s OpenAPI document has no query parameter ${missing.join(', ')}`);
  }
  return doc;
}

const buildDir = resolve(process.env.PEER_BUILD_DIR || 'build');
mkdirSync(buildDir, { recursive: true });

/** A selection of every field of an OpenAPI object schema, nested objects included. */
function selectAll(doc: Json, schema: Json, depth = 0): string {
  const resolved = (s: Json): Json | undefined => {
    if (s?.$ref) return doc.components.schemas[String(s.$ref).split('/').pop() as string];
    const object = (s?.anyOf ?? []).find((alt: Json) => alt.$ref || alt.type === 'object');
    return object ? resolved(object) : s;
  };
  const fields = Object.entries<Json>(resolved(schema)?.properties ?? {}).map(([name, sub]) => {
    const target = resolved(sub);
    const nested = target?.type === 'object' || target?.properties ? target : undefined;
    return nested && depth < 3 ? `${name} ${selectAll(doc, nested, depth + 1)}` : name;
  });
  return `{ ${fields.join(' ')} }`;
}

const sources: Record<string, string> = {};
const documents = {} as Record<System, Json>;
for (const system of SYSTEMS) {
  documents[system] = prepare(system, await fetchDocument(system));
  const file = join(buildDir, `${system}.openapi.json`);
  writeFileSync(file, JSON.stringify(documents[system], null, 2));
  sources[system] = file;
}
// What `customer` and `customers` ask the CRM for: every field of its customer record (the
// CRM sends the whole record anyway). Asking for the client's fields only would be leaner,
// but the joins' `requiredSelectionSet` (erp_code, id) is not added to a selection that
// went through another `@resolveTo`: without every field, `credit`, `invoices`, `tickets`
// and `interactions` come back null, without an error, unless the client asked for the key.
const CRM_CUSTOMER = selectAll(documents.crm, { $ref: '#/components/schemas/Customer' });
const CRM_CUSTOMERS = `{ customers ${CRM_CUSTOMER} }`;

export const composeConfig = defineConfig({
  subgraphs: SYSTEMS.map(system => ({
    sourceHandler: loadOpenAPISubgraph(system, {
      source: sources[system],
      endpoint: ownerUrl(system),
      // Only 2xx shapes become types: an owner's 4xx/5xx becomes a GraphQL error, as
      // ours does, instead of a union every join would have to unwrap.
      ignoreErrorResponses: true,
      selectQueryOrMutationField: [
        { type: 'Query', fieldName: 'batchAccounts' },
        { type: 'Query', fieldName: 'searchInteractions' },
      ],
    }),
  })),
  additionalTypeDefs: /* GraphQL */ `
    extend type Query {
      # One customer: the CRM's batch read with one id (one request, like ours).
      customer(id: ID!): Customer
        @resolveTo(
          sourceName: "crm"
          sourceTypeName: "Query"
          sourceFieldName: "listCustomers"
          sourceArgs: { ids: "{args.id}" }
          sourceSelectionSet: "${CRM_CUSTOMERS}"
          result: "customers[0]"
        )
      # Several customers: one CRM batch read. The CRM leaves unknown ids out.
      customers(ids: [ID!]!): [Customer]
        @resolveTo(
          sourceName: "crm"
          sourceTypeName: "Query"
          sourceFieldName: "listCustomers"
          sourceArgs: { ids: "{args.ids}" }
          sourceSelectionSet: "${CRM_CUSTOMERS}"
          result: "customers"
        )
    }

    extend type Customer {
      # ERP, keyed by the CRM's erp_code: one POST /accounts/batch per query.
      credit: Account
        @resolveTo(
          sourceName: "erp"
          sourceTypeName: "Query"
          sourceFieldName: "batchAccounts"
          requiredSelectionSet: "{ erp_code }"
          keyField: "erp_code"
          keysArg: "input.codes"
          result: "accounts"
          valueKeyField: "code"
        )
      # ERP, keyed by erp_code: one GET /invoices?customer_codes=... per query.
      invoices(status: queryInput_listInvoices_status, first: Int = 20): [Invoice]
        @resolveTo(
          sourceName: "erp"
          sourceTypeName: "Query"
          sourceFieldName: "listInvoices"
          requiredSelectionSet: "{ erp_code }"
          keyField: "erp_code"
          keysArg: "customer_codes"
          additionalArgs: { status: "{args.status}", limit: "{args.first}" }
          result: "invoices"
          valueKeyField: "customer_code"
        )
      # Helpdesk, keyed by the universal id: one GET /tickets?requester_ids=... per query.
      tickets(status: queryInput_listTickets_status, first: Int = 20): [Ticket]
        @resolveTo(
          sourceName: "helpdesk"
          sourceTypeName: "Query"
          sourceFieldName: "listTickets"
          requiredSelectionSet: "{ id }"
          keyField: "id"
          keysArg: "requester_ids"
          additionalArgs: { status: "{args.status}", limit: "{args.first}" }
          result: "tickets"
          valueKeyField: "requester.external_id"
        )
    }
  `,
});
