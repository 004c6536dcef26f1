import { basename, dirname, extname, join } from 'node:path';

/**
 * The file name of the n-th file of a recording. `{n}` (split index, 4 digits) and `{time}`
 * (UTC start time of that file, 20261206T203600Z) are replaced; when splitting and the name has
 * no `{n}` nor `{time}`, `_{n}` is put before the extension (drive.mcap → drive_0000.mcap).
 */
export function outputPath(template: string, index: number, splitting: boolean, at: Date): string {
  const n = String(index).padStart(4, '0');
  const time = at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  let path = template.replaceAll('{n}', n).replaceAll('{time}', time);
  if (splitting && !template.includes('{n}') && !template.includes('{time}')) {
    const ext = extname(template) || '.mcap';
    const stem = basename(template, extname(template));
    path = join(dirname(template), `${stem}_${n}${ext}`);
  } else if (splitting && !template.includes('{n}')) {
    // {time} alone: two files started in the same second still get distinct names.
    const ext = extname(path);
    path = `${path.slice(0, path.length - ext.length)}_${n}${ext}`;
  }
  return path;
}
