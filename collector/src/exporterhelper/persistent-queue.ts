// The on-disk half of a persistent sending queue: one file per export request under
// <data_dir>/queues/<exporter id>/. A file is written under a temporary name, fsynced, then renamed (and
// the directory fsynced), so a crash at any point leaves either no file or a whole one, never a half one
// that would be read. Files are deleted once their request is sent or has failed for good; whatever is
// still there at start is sent again, oldest first. Delivery is therefore at least once: a request whose
// send succeeded just before a crash (but whose file was not yet deleted) is sent a second time.
import { mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { SIGNALS, type Signal } from '../pipeline/types.js';

export interface StoredRequest {
  /** File name inside the queue directory. */
  file: string;
  seq: number;
  signal: Signal;
  items: number;
}

const NAME = /^(\d{16})-(traces|logs|metrics)-(\d+)\.otlp$/;
const TMP_SUFFIX = '.tmp';

/** `otlphttp/jaeger` → `otlphttp_jaeger`: one flat directory per exporter id. */
export function queueDirName(exporterId: string): string {
  return exporterId.replace(/[/\\]/g, '_').replace(/^\.+/, '_');
}

export class RequestStore {
  private nextSeq = 0;

  constructor(readonly dir: string) {}

  /** Creates the directory, removes half-written temp files, and lists stored requests oldest first. */
  async open(): Promise<StoredRequest[]> {
    await mkdir(this.dir, { recursive: true });
    const stored: StoredRequest[] = [];
    for (const file of await readdir(this.dir)) {
      if (file.endsWith(TMP_SUFFIX)) {
        await unlink(join(this.dir, file)).catch(() => undefined);
        continue;
      }
      const m = NAME.exec(file);
      if (!m || !SIGNALS.includes(m[2] as Signal)) continue;
      stored.push({ file, seq: Number(m[1]), signal: m[2] as Signal, items: Number(m[3]) });
    }
    stored.sort((a, b) => a.seq - b.seq);
    this.nextSeq = (stored.at(-1)?.seq ?? -1) + 1;
    return stored;
  }

  /** Writes a request durably; resolves once it is in place under its final name. */
  async write(signal: Signal, items: number, body: Uint8Array): Promise<StoredRequest> {
    const seq = this.nextSeq++;
    const file = `${String(seq).padStart(16, '0')}-${signal}-${items}.otlp`;
    const tmp = join(this.dir, file + TMP_SUFFIX);
    try {
      const fh = await open(tmp, 'w');
      try {
        await fh.writeFile(body);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, join(this.dir, file));
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
    await this.syncDir();
    return { file, seq, signal, items };
  }

  read(req: StoredRequest): Promise<Buffer> {
    return readFile(join(this.dir, req.file));
  }

  async remove(req: StoredRequest): Promise<void> {
    await unlink(join(this.dir, req.file));
  }

  /** Makes the rename itself durable (a power loss could otherwise forget it). */
  private async syncDir(): Promise<void> {
    const dh = await open(this.dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  }
}
