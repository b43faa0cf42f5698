// Files that Bun embeds at build time: SQL as text, static assets and PGlite's files as paths.
declare module "*.sql" {
  const text: string;
  export default text;
}
declare module "*.wasm" {
  const path: string;
  export default path;
}
declare module "*.data" {
  const path: string;
  export default path;
}
declare module "*.css" {
  const path: string;
  export default path;
}
