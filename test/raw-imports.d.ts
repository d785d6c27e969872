// Vite's `?raw` suffix imports a file's text (used to compare checked-in generated docs with their generator).
declare module '*?raw' {
  const text: string;
  export default text;
}
