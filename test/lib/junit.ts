// Validation of JUnit XML against the JUnit schema Jenkins reads reports with (xunit-plugin's junit-10.xsd,
// test/fixtures/junit/), by libxml2 compiled to WebAssembly (xmllint-wasm): no system package needed.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { validateXML } from 'xmllint-wasm';
import { projectRoot } from '../../harness/engine/paths.js';

export const JUNIT_XSD = path.join(projectRoot, 'test', 'fixtures', 'junit', 'junit-10.xsd');

/** libxml2's verdict on `xml` against the schema: [] when valid, else its messages. */
export async function junitSchemaErrors(xml: string): Promise<string[]> {
  const r = await validateXML({ xml: [{ fileName: 'report.xml', contents: xml }], schema: [await readFile(JUNIT_XSD, 'utf8')] });
  return r.valid ? [] : r.errors.map((e) => e.message);
}
