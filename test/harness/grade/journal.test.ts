import t from 'tap';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { safeStudentId } from '../../../harness/commands/grade.js';
import { openJournal, parseJournal, type JournalHeader } from '../../../harness/grade/journal.js';

const header: JournalHeader = { schema: 1, lab: '1-maps', checksVersion: 3, target: 'host' };
const entry = (folder: string) => ({ folder, sha256: `hash-${folder}`, graded: { student: folder, bootMs: -1, totalMs: 5, results: [] } });

t.test('a plain id stays; any other folder name gets a safe id that keeps its letters and cannot meet another', async (t) => {
  t.equal(safeStudentId('alice.b@uni-x_1'), 'alice.b@uni-x_1');
  t.match(safeStudentId('José García'), /^Jose-Garcia-[0-9a-f]{6}$/);
  t.match(safeStudentId('-rf'), /^rf-[0-9a-f]{6}$/, 'never looks like an option');
  t.match(safeStudentId('李雷'), /^student-[0-9a-f]{6}$/);
  t.not(safeStudentId('a b'), safeStudentId('a  b'), 'two names that fold alike still differ');
  t.equal(safeStudentId('José García'), safeStudentId('José García'), 'the same name, the same id, run after run');
});

t.test('the journal keeps what was graded, drops a line cut short by a crash, and refuses another lab on resume', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'journal-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'class.journal.jsonl');
  const said: string[] = [];
  const j = await openJournal(file, header, false, (l) => said.push(l));
  await j.append(entry('ann'));
  await j.append(entry('bob'));
  await appendFile(file, '{"folder":"cut-sh'); // the write a crash interrupted
  const resumed = await openJournal(file, header, true, (l) => said.push(l));
  t.same([...resumed.done.keys()], ['ann', 'bob']);
  t.same(parseJournal(await readFile(file, 'utf8'), file).entries.map((e) => e.folder), ['ann', 'bob'], 'rewritten whole, without the cut line');
  await t.rejects(openJournal(file, { ...header, lab: '2-counter' }, true, () => {}), /written for lab 1-maps, not 2-counter/);
  await t.rejects(openJournal(file, { ...header, checksVersion: 4 }, true, () => {}), /written for checksVersion 3, not 4/);
  await t.rejects(openJournal(path.join(dir, 'none.jsonl'), header, true, () => {}), /no journal at/);
  await openJournal(file, header, false, (l) => said.push(l));
  t.match(said.join('\n'), /starting over: .* held 2 graded submissions .*--resume keeps them/);
  await writeFile(file, `${JSON.stringify(header)}\nnot json\n${JSON.stringify(entry('c'))}\n`);
  await t.rejects(openJournal(file, header, true, () => {}), /line 2 is not JSON/, 'damage in the middle is not a crash mid-write');
});
