// Injected by esbuild into the CommonJS bundles ./lab builds (--inject, with import.meta.url defined as this
// name): there, import.meta.url is the bundle's own file URL, as it would be in an ES module. The sources use
// import.meta.url to find the project root, to require koffi and to tell whether a tool is the program started.
import { pathToFileURL } from 'node:url';

export const import_meta_url = pathToFileURL(__filename).href;
