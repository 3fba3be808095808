import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * A copy of a bundle under `parent` with its card edited, for tests that check how a loader
 * rejects a card that disagrees with its graphs. Each call makes a new folder.
 */
let copies = 0;
export async function bundleWith(source: string, parent: string, edit: (card: Record<string, any>) => void): Promise<string> {
  const dir = join(parent, `b${copies++}`);
  await cp(source, dir, { recursive: true });
  const card = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
  edit(card);
  await writeFile(join(dir, 'model.json'), JSON.stringify(card));
  return dir;
}
