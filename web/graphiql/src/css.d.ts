// esbuild bundles imported CSS into graphiql-<hash>.css; TypeScript only needs to know it exists.
declare module '*.css';
