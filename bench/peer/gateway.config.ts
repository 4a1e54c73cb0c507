/**
 * Hive Gateway's configuration for the benchmark's peer (`hive-gateway supergraph
 * <supergraph.graphql> -c gateway.config.ts`; bench/peer.py starts it so).
 *
 * What it sets, and why:
 * - logging at `warn`: nothing is written per request, as our gateway runs with its audit
 *   line off in the benchmark;
 * - the readiness check on `/healthz`, the path bench/procs.py waits on for every service;
 * - no GraphiQL / landing page, no introspection limits, no response cache, no retries:
 *   the defaults of a plain deployment, nothing that would make either side look better;
 * - `Customer.interactions`, the one join `@resolveTo` cannot express (see mesh.config.ts):
 *   it is the same batched in-context-SDK call `@resolveTo` with `keysArg` compiles to
 *   (@graphql-mesh/utils resolve-additional-resolvers), with the contact center's key list
 *   and `limit` put in one JSON body. All customers of a query cost one
 *   `POST /interactions/search`.
 */
import { defineConfig } from '@graphql-hive/gateway';
import { Kind, type FieldNode, type SelectionSetNode } from 'graphql';

// The supergraph's contact center type; these lines extend the composed Customer with it.
const typeDefs = /* GraphQL */ `
  extend type Customer {
    interactions(first: Int = 20): [Interaction]
  }
`;

const field = (name: string, selectionSet?: SelectionSetNode): FieldNode => ({
  kind: Kind.FIELD,
  name: { kind: Kind.NAME, value: name },
  selectionSet,
});

/** `{ data { customer_id <what the client asked> } }`: the reply's records and their key. */
function recordsWithKey(subtree: SelectionSetNode | undefined): SelectionSetNode {
  const asked = subtree?.selections ?? [];
  return {
    kind: Kind.SELECTION_SET,
    selections: [
      field('data', {
        kind: Kind.SELECTION_SET,
        selections: [field('customer_id'), ...asked],
      }),
    ],
  };
}

type Interaction = { customer_id?: string } & Record<string, unknown>;

/** The reply's records, grouped back to the keys in order ([] for a key with none). */
function byCustomer(result: unknown, keys: readonly string[]): Interaction[][] {
  const replies = Array.isArray(result) ? result : [result];
  const groups = new Map<string, Interaction[]>();
  for (const reply of replies) {
    const records = (reply as { data?: Interaction[] } | null)?.data ?? [];
    for (const record of records) {
      if (record?.customer_id == null) continue;
      const group = groups.get(record.customer_id);
      if (group) group.push(record);
      else groups.set(record.customer_id, [record]);
    }
  }
  return keys.map(key => groups.get(key) ?? []);
}

export const gatewayConfig = defineConfig({
  logging: 'warn',
  // bench/procs.py waits for `/healthz` to answer 200; Hive's readiness check answers there.
  readinessCheckEndpoint: '/healthz',
  graphiql: false,
  landingPage: false,
  additionalTypeDefs: typeDefs,
  additionalResolvers: {
    Customer: {
      interactions: {
        selectionSet: '{ id }',
        resolve(root: { id?: string | null }, args: { first?: number }, context: any, info: any) {
          return context.contactcenter.Query.searchInteractions({
            root,
            context,
            info,
            key: root.id,
            argsFromKeys: (keys: string[]) => ({
              input: { customer_ids: keys, limit: args.first },
            }),
            selectionSet: recordsWithKey,
            valuesFromResults: byCustomer,
          });
        },
      },
    },
  },
});
