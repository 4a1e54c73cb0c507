// Runs graphql-http's server audits against the URL given as the only
// argument and prints each result as one JSON array on stdout: the test
// beside this folder reads it and asserts on it.
import { serverAudits } from 'graphql-http';

const [url] = process.argv.slice(2);
if (!url) {
  console.error('usage: node audit.mjs URL');
  process.exit(2);
}
if (typeof fetch !== 'function') {
  console.error(`Node ${process.version} has no fetch: the audits need Node 18 or later.`);
  process.exit(2);
}

const results = [];
for (const { fn } of serverAudits({ url })) {
  // One at a time: the gateway's logs then read in the audits' order.
  const { id, name, status, reason, response } = await fn();
  results.push({ id, name, status, reason, httpStatus: response?.status });
}
process.stdout.write(JSON.stringify(results));
