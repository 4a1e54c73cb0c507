// Bundles GraphiQL and the owners panel into ownergraph/static/graphiql/.
//
// `make graphiql` runs it (after `npm ci` and a type check). The output is
// committed, so running or testing ownergraph needs no Node: one minified
// JavaScript file and one stylesheet, named by content hash so that they can
// be cached for good, and manifest.json saying which is which.
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

import * as esbuild from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(here, '../../ownergraph/static/graphiql');

// GraphiQL's dialogs add a <style> element through react-style-singleton,
// which the page's CSP refuses: build with a CSSOM version of it instead.
const singleton = resolve(here, 'src/stylesheet-singleton.ts');
const cspSafeStyles = {
  name: 'csp-safe-styles',
  setup(build) {
    build.onResolve({ filter: /^\.\/singleton$/ }, (args) =>
      args.importer.includes('/node_modules/react-style-singleton/') ? { path: singleton } : undefined,
    );
  },
};

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const result = await esbuild.build({
  absWorkingDir: here,
  entryPoints: { graphiql: 'src/index.tsx' },
  outdir: out,
  entryNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  bundle: true,
  minify: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  jsx: 'automatic',
  define: { 'process.env.NODE_ENV': '"production"' },
  // Licences go to one file of their own (below), not into the bundle.
  legalComments: 'none',
  plugins: [cspSafeStyles],
  metafile: true,
  logLevel: 'warning',
});
if (!(relative(here, singleton) in result.metafile.inputs)) {
  throw new Error('react-style-singleton changed: src/stylesheet-singleton.ts was not used');
}

const outputs = Object.entries(result.metafile.outputs);
const [jsPath, js] = outputs.find(([, output]) => output.entryPoint === 'src/index.tsx');
if (!js.cssBundle) throw new Error('the build made no stylesheet');
const files = { 'graphiql.js': basename(jsPath), 'graphiql.css': basename(js.cssBundle) };
const extra = outputs.map(([path]) => basename(path)).filter((name) => !Object.values(files).includes(name));
if (extra.length) {
  // The page links exactly two files; anything else would be missing at run time.
  throw new Error(`unexpected build outputs: ${extra.join(', ')}`);
}

// Every package whose code is in the bundle (nested copies included), with its licence text.
const packages = new Set();
for (const input of outputs.flatMap(([, output]) => Object.keys(output.inputs))) {
  const at = input.lastIndexOf('node_modules/');
  if (at < 0) continue;
  const [scope, name] = input.slice(at + 'node_modules/'.length).split('/');
  packages.add(input.slice(0, at) + 'node_modules/' + (scope.startsWith('@') ? `${scope}/${name}` : scope));
}
const notices = [...packages].sort().map((path) => {
  const directory = join(here, path);
  const meta = JSON.parse(readFileSync(join(directory, 'package.json'), 'utf8'));
  const licenceFile = readdirSync(directory).find((file) => /^(licen[cs]e|copying)/i.test(file));
  const text = licenceFile ? readFileSync(join(directory, licenceFile), 'utf8').trim() : '(no licence file in the package)';
  return `${meta.name}@${meta.version} — ${meta.license ?? 'see below'}\n\n${text}\n`;
});
const rule = `\n${'-'.repeat(78)}\n\n`;
writeFileSync(
  join(out, 'THIRD_PARTY_LICENSES.txt'),
  `Third-party code bundled in ${files['graphiql.js']} and ${files['graphiql.css']}\n(built by web/graphiql/build.mjs)${rule}${notices.join(rule)}`,
);

const manifest = { ...files, licenses: 'THIRD_PARTY_LICENSES.txt' };
writeFileSync(join(out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);

const kb = (bytes) => `${(bytes / 1024).toFixed(0)} kB`;
for (const name of Object.values(files)) {
  const body = readFileSync(join(out, name));
  console.log(`${relative(process.cwd(), join(out, name))}: ${kb(body.length)}, ${kb(gzipSync(body).length)} gzipped`);
}
